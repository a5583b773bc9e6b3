//! DynamoDB adapter: one on-demand table, `pk`/`sk` keys, TTL on `expires_at`. Every port has
//! its own file here.
//!
//! Items: `CONV#<conversation>` / `MSG#<ts>#I|O#<id>` for the log (inbound events and our
//! messages, in time order), `CONV#<conversation>` / `STATE` for the conversation state.
//! The same serde shapes are read back from DynamoDB Stream images by the worker.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};

use super::{PageRequest, StoreError};
use crate::domain::ids::ConversationId;

mod audit;
mod conversation_index;
mod conversations;
mod documents;
mod event_log;
mod export_jobs;
mod hold;

pub use self::conversation_index::{CONVERSATIONS_INDEX, SHARD_ATTRIBUTE};
pub use self::conversations::ACTIVITY_INDEX;
pub use self::event_log::{inbound_from_stream_image, log_item_from_stream_image};
pub use self::export_jobs::{queued_export_job_from_stream_image, JOB_KIND};

const STATE_SK: &str = "STATE";

fn partition_key(id: &ConversationId) -> String {
    format!("CONV#{id}")
}

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// Sorts SDK errors by meaning: a failed condition, throttling, or the service being unavailable.
/// The SDK's error stays the source; its `Debug` is the context, the one form that says what
/// went wrong (its `Display` is only "service error").
fn classify<E, R>(err: SdkError<E, R>, key: &str) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error().and_then(|e| e.code()) {
        Some("ConditionalCheckFailedException") => StoreError::Conflict(key.to_owned()),
        // Say what was refused, not the request (which may carry message text).
        Some("ValidationException") => StoreError::Invalid {
            context: err.as_service_error().and_then(|e| e.message()).unwrap_or("validation failed").to_owned(),
            source: Box::new(err),
        },
        Some("ProvisionedThroughputExceededException" | "RequestLimitExceeded" | "ThrottlingException") => {
            StoreError::Throttled { context: format!("{err:?}"), source: Box::new(err) }
        }
        _ => StoreError::Unavailable { context: format!("{err:?}"), source: Some(Box::new(err)) },
    }
}

fn to_item<T: Serialize>(value: &T, key: &str) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::corrupt(key, e))
}

fn from_item<T: for<'de> Deserialize<'de>>(item: HashMap<String, AttributeValue>, key: &str) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::corrupt(key, e))
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Opens the connection during init so the first webhook does not pay for TLS setup.
    pub async fn warm(&self) -> Result<(), StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S("WARMUP".into()))
            .key("sk", AttributeValue::S(STATE_SK.into()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e, "WARMUP"))
    }

    async fn put_if_absent<T: Serialize>(&self, row: &T, key: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(row, key)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result.map_err(|e| classify(e, key)) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A page of one partition (`:pk` bound), resuming after the sort key `page.after`; the
    /// caller adds its key condition.
    fn page_of_partition(&self, pk: &str, page: &PageRequest) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .limit(i32::try_from(page.limit.max(1)).unwrap_or(i32::MAX));
        match &page.after {
            Some(after) => request
                .exclusive_start_key("pk", AttributeValue::S(pk.to_owned()))
                .exclusive_start_key("sk", AttributeValue::S(after.clone())),
            None => request,
        }
    }

    async fn get(&self, pk: String, sk: String) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(e, &sk))?;
        Ok(out.item)
    }
}
