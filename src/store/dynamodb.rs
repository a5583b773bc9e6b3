//! DynamoDB adapter: one on-demand table, `pk`/`sk` keys, TTL on `expires_at`.
//!
//! Items: `CONV#<conversation>` / `MSG#<ts>#I|O#<id>` for the log (inbound events and our
//! messages, in time order), `CONV#<conversation>` / `STATE` for the conversation state.
//! The same serde shapes are read back from DynamoDB Stream images by the worker.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde::{Deserialize, Serialize};

use super::{log_sort_key, Claim, Inserted, InboundRecord, LogItem, OutboundRecord, Page, PageRequest, Store, StoreError};
use crate::domain::conversation::ConversationState;
use crate::domain::export_job::{ExportJob, ExportJobId};
use crate::domain::ids::ConversationId;

mod export_jobs;
pub use export_jobs::{queued_export_job_from_stream_image, CONVERSATIONS_INDEX, JOB_KIND, SHARD_ATTRIBUTE};

const STATE_SK: &str = "STATE";

#[derive(Serialize, Deserialize)]
struct LogRow {
    pk: String,
    sk: String,
    #[serde(flatten)]
    item: LogItem,
}

#[derive(Serialize, Deserialize)]
struct StateRow {
    pk: String,
    sk: String,
    #[serde(flatten)]
    state: ConversationState,
}

fn partition_key(id: &ConversationId) -> String {
    format!("CONV#{id}")
}

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// Sorts SDK errors by meaning: a failed condition, throttling, or the service being unavailable.
fn classify<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(err: SdkError<E, R>, key: &str) -> StoreError {
    match err.as_service_error().and_then(|e| e.code()) {
        Some("ConditionalCheckFailedException") => StoreError::Conflict(key.to_owned()),
        Some("ProvisionedThroughputExceededException" | "RequestLimitExceeded" | "ThrottlingException") => {
            StoreError::Throttled(format!("{err:?}"))
        }
        _ => StoreError::Unavailable(format!("{err:?}")),
    }
}

fn to_item<T: Serialize>(value: &T, key: &str) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt { key: key.to_owned(), problem: e.to_string() })
}

fn from_item<T: for<'de> Deserialize<'de>>(item: HashMap<String, AttributeValue>, key: &str) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt { key: key.to_owned(), problem: e.to_string() })
}

/// Reads a log item (inbound or outbound) from a DynamoDB Stream image; None for other items
/// (conversation state). The archiver's input.
pub fn log_item_from_stream_image(image: serde_dynamo::Item) -> Result<Option<LogItem>, StoreError> {
    #[derive(Deserialize)]
    struct Keys {
        sk: String,
    }
    let keys: Keys = serde_dynamo::from_item(image.clone())
        .map_err(|e| StoreError::Corrupt { key: "stream image".into(), problem: e.to_string() })?;
    if !keys.sk.starts_with("MSG#") {
        return Ok(None);
    }
    let row: LogRow = serde_dynamo::from_item(image)
        .map_err(|e| StoreError::Corrupt { key: keys.sk, problem: e.to_string() })?;
    Ok(Some(row.item))
}

/// Reads an inbound record from a DynamoDB Stream image (the worker's input).
pub fn inbound_from_stream_image(image: serde_dynamo::Item) -> Result<Option<InboundRecord>, StoreError> {
    Ok(match log_item_from_stream_image(image)? {
        Some(LogItem::In(record)) => Some(record),
        _ => None,
    })
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

#[async_trait]
impl Store for DynamoStore {
    async fn put_inbound(&self, record: &InboundRecord) -> Result<Inserted, StoreError> {
        let row = LogRow {
            pk: partition_key(&record.conversation),
            sk: log_sort_key(record.timestamp_ms, true, record.event_id.as_str()),
            item: LogItem::In(record.clone()),
        };
        Ok(if self.put_if_absent(&row, &row.sk).await? { Inserted::New } else { Inserted::Duplicate })
    }

    async fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, StoreError> {
        let key = partition_key(id);
        match self.get(key.clone(), STATE_SK.into()).await? {
            None => Ok(None),
            Some(item) => Ok(Some(from_item::<StateRow>(item, &key)?.state)),
        }
    }

    async fn save_conversation(&self, state: &ConversationState) -> Result<(), StoreError> {
        let pk = partition_key(&state.id);
        let mut next = state.clone();
        next.version += 1;
        let row = StateRow { pk: pk.clone(), sk: STATE_SK.into(), state: next };
        let mut item = to_item(&row, &pk)?;
        // Puts the conversation in the sparse index that export jobs list conversations from.
        item.insert(SHARD_ATTRIBUTE.into(), export_jobs::shard_of(&state.id));
        let request = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let request = if state.version == 0 {
            request.condition_expression("attribute_not_exists(pk)")
        } else {
            request
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(state.version.to_string()))
        };
        request.send().await.map(|_| ()).map_err(|e| classify(e, &pk))
    }

    async fn claim_outbound(&self, record: &OutboundRecord) -> Result<Claim, StoreError> {
        let row = LogRow {
            pk: partition_key(&record.conversation),
            sk: log_sort_key(record.timestamp_ms, false, &record.id),
            item: LogItem::Out(record.clone()),
        };
        if self.put_if_absent(&row, &row.sk).await? {
            return Ok(Claim::Claimed);
        }
        let item = self.get(row.pk, row.sk.clone()).await?.ok_or_else(|| StoreError::Conflict(row.sk.clone()))?;
        match from_item::<LogRow>(item, &row.sk)?.item {
            LogItem::Out(existing) => Ok(Claim::Exists(existing)),
            LogItem::In(_) => Err(StoreError::Corrupt { key: row.sk, problem: "an inbound item under an outbound key".into() }),
        }
    }

    async fn finish_outbound(&self, record: &OutboundRecord) -> Result<(), StoreError> {
        let row = LogRow {
            pk: partition_key(&record.conversation),
            sk: log_sort_key(record.timestamp_ms, false, &record.id),
            item: LogItem::Out(record.clone()),
        };
        let item = to_item(&row, &row.sk)?;
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map(|_| ()).map_err(|e| classify(e, &row.sk))
    }

    async fn log(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        let pk = partition_key(id);
        let limit = page.limit.max(1);
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :msg)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(":msg", AttributeValue::S("MSG#".into()))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        if let Some(after) = &page.after {
            request = request
                .exclusive_start_key("pk", AttributeValue::S(pk.clone()))
                .exclusive_start_key("sk", AttributeValue::S(after.clone()));
        }
        let out = request.send().await.map_err(|e| classify(e, &pk))?;
        let mut items = Vec::new();
        let mut last_sk = None;
        for item in out.items.unwrap_or_default() {
            let row: LogRow = from_item(item, &pk)?;
            last_sk = Some(row.sk);
            items.push(row.item);
        }
        // DynamoDB returns a LastEvaluatedKey when the page is full even if nothing follows;
        // a next page that turns out empty is harmless.
        let next = out.last_evaluated_key.and(last_sk);
        Ok(Page { items, next })
    }

    async fn conversation_ids(&self, page: &PageRequest) -> Result<Page<ConversationId>, StoreError> {
        self.list_conversation_ids(page).await
    }

    async fn save_export_job(&self, job: &ExportJob) -> Result<(), StoreError> {
        self.put_export_job(job).await
    }

    async fn export_job(&self, id: &ExportJobId) -> Result<Option<ExportJob>, StoreError> {
        self.get_export_job(id).await
    }
}
