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

use super::{
    log_sort_key, Claim, Doc, Hold, InboundRecord, InboxCounts, Inserted, LogItem, OutboundRecord, Page, PageRequest, Store, StoreError,
};
use crate::domain::conversation::ConversationState;
use crate::domain::export_job::{ExportJob, ExportJobId};
use crate::domain::ids::ConversationId;

mod export_jobs;
pub use export_jobs::{queued_export_job_from_stream_image, CONVERSATIONS_INDEX, JOB_KIND, SHARD_ATTRIBUTE};

const STATE_SK: &str = "STATE";
/// The sparse index listing conversations by activity: every STATE item, one partition.
pub const ACTIVITY_INDEX: &str = "by_activity";
const ACTIVITY_PARTITION: &str = "CONV";
/// The inbox counts (`unread`, `needs_attention`): one item, changed only when a conversation's
/// share changes.
const INBOX_PK: &str = "INBOX";
const INBOX_SK: &str = "COUNTS";

mod audit;
mod hold;

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
    /// Key attributes of `ACTIVITY_INDEX` (absent on items written before it existed).
    #[serde(default)]
    list: Option<String>,
    #[serde(default)]
    activity: Option<String>,
    #[serde(flatten)]
    state: ConversationState,
}

fn activity_sort_key(state: &ConversationState) -> String {
    format!("{:013}#{}", state.activity_ms().max(0), state.id)
}

#[derive(Serialize, Deserialize)]
struct DocRow {
    pk: String,
    sk: String,
    body: String,
    version: u64,
}

fn doc_partition(collection: &str) -> String {
    format!("DOC#{collection}")
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
        // Say what was refused, not the request (which may carry message text).
        Some("ValidationException") => {
            StoreError::Invalid(err.as_service_error().and_then(|e| e.message()).unwrap_or("validation failed").to_owned())
        }
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
    let keys: Keys =
        serde_dynamo::from_item(image.clone()).map_err(|e| StoreError::Corrupt { key: "stream image".into(), problem: e.to_string() })?;
    if !keys.sk.starts_with("MSG#") {
        return Ok(None);
    }
    let row: LogRow = serde_dynamo::from_item(image).map_err(|e| StoreError::Corrupt { key: keys.sk, problem: e.to_string() })?;
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

    /// A page of one partition (`:pk` bound), resuming after the sort key `page.after`; the
    /// caller adds its key condition.
    /// One page of a conversation's log, oldest first (`forward`) or newest first.
    async fn log_page(&self, id: &ConversationId, page: &PageRequest, forward: bool) -> Result<Page<LogItem>, StoreError> {
        let pk = partition_key(id);
        let out = self
            .page_of_partition(&pk, page)
            .key_condition_expression("pk = :pk AND begins_with(sk, :msg)")
            .expression_attribute_values(":msg", AttributeValue::S("MSG#".into()))
            .scan_index_forward(forward)
            .send()
            .await
            .map_err(|e| classify(e, &pk))?;
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

#[async_trait]
impl Store for DynamoStore {
    async fn put_inbound(&self, record: &InboundRecord) -> Result<Inserted, StoreError> {
        let row = LogRow {
            pk: partition_key(&record.conversation),
            sk: log_sort_key(record.timestamp_ms, true, record.event_id.as_str()),
            item: LogItem::In(record.clone()),
        };
        let inserted = self.put_if_absent(&row, &row.sk).await?;
        // A duplicate too: a redelivery is what repeats a TTL drop that failed after the write.
        self.drop_ttl_if_held(&row.pk, &row.sk).await?;
        Ok(if inserted { Inserted::New } else { Inserted::Duplicate })
    }

    async fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, StoreError> {
        let key = partition_key(id);
        match self.get(key.clone(), STATE_SK.into()).await? {
            None => Ok(None),
            Some(item) => Ok(Some(from_item::<StateRow>(item, &key)?.state)),
        }
    }

    async fn save_conversation(&self, state: &ConversationState) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
        let pk = partition_key(&state.id);
        let mut next = state.clone();
        next.version += 1;
        // The version condition makes `state.counted` what the stored item counts for; the
        // inbox counter changes by the difference, in the same transaction.
        let (before, after) = (state.counted, next.inbox_flags());
        next.counted = after;
        let row = StateRow {
            pk: pk.clone(),
            sk: STATE_SK.into(),
            list: Some(ACTIVITY_PARTITION.into()),
            activity: Some(activity_sort_key(&next)),
            state: next,
        };
        let mut item = to_item(&row, &pk)?;
        // Puts the conversation in the sparse index that export jobs list conversations from.
        item.insert(SHARD_ATTRIBUTE.into(), export_jobs::shard_of(&state.id));
        let (condition, version) = if state.version == 0 {
            ("attribute_not_exists(pk)", None)
        } else {
            ("version = :v", Some(AttributeValue::N(state.version.to_string())))
        };
        if before == after {
            let request = self.client.put_item().table_name(&self.table).set_item(Some(item)).condition_expression(condition);
            let request = match version {
                Some(v) => request.expression_attribute_values(":v", v),
                None => request,
            };
            return request.send().await.map(|_| ()).map_err(|e| classify(e, &pk));
        }
        let delta = |was: bool, is: bool| AttributeValue::N((i64::from(is) - i64::from(was)).to_string());
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(version.map(|v| HashMap::from([(":v".to_owned(), v)])))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let count = Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(INBOX_PK.into()))
            .key("sk", AttributeValue::S(INBOX_SK.into()))
            .update_expression("ADD unread :u, needs_attention :n")
            .expression_attribute_values(":u", delta(before.unread, after.unread))
            .expression_attribute_values(":n", delta(before.needs_attention, after.needs_attention))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match e.as_service_error().and_then(|e| e.code()) {
                // The conversation's condition failed (someone saved first): the usual conflict.
                Some("TransactionCanceledException") if format!("{e:?}").contains("ConditionalCheckFailed") => {
                    StoreError::Conflict(pk.clone())
                }
                Some("TransactionCanceledException" | "TransactionConflictException") => StoreError::Conflict(pk.clone()),
                _ => classify(e, &pk),
            })
    }

    async fn claim_outbound(&self, record: &OutboundRecord) -> Result<Claim, StoreError> {
        let row = LogRow {
            pk: partition_key(&record.conversation),
            sk: log_sort_key(record.timestamp_ms, false, &record.id),
            item: LogItem::Out(record.clone()),
        };
        let claimed = self.put_if_absent(&row, &row.sk).await?;
        // Also when the claim exists: a retried handling repeats a TTL drop that failed.
        self.drop_ttl_if_held(&row.pk, &row.sk).await?;
        if claimed {
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
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(|e| classify(e, &row.sk))?;
        self.drop_ttl_if_held(&row.pk, &row.sk).await
    }

    async fn log(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        self.log_page(id, page, true).await
    }

    async fn log_newest(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        self.log_page(id, page, false).await
    }

    async fn inbox(&self) -> Result<InboxCounts, StoreError> {
        // Two small eventually consistent reads: the counter item and the newest conversation.
        let counts = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(INBOX_PK.into()))
            .key("sk", AttributeValue::S(INBOX_SK.into()))
            .send()
            .await
            .map_err(|e| classify(e, INBOX_PK))?
            .item
            .unwrap_or_default();
        let number =
            |name: &str| counts.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok()).unwrap_or(0).max(0) as u64;
        let newest = self.conversations_by_activity(&PageRequest { limit: 1, after: None }).await?;
        Ok(InboxCounts {
            unread: number("unread"),
            needs_attention: number("needs_attention"),
            latest_activity_ms: newest.items.first().map(ConversationState::activity_ms),
        })
    }

    fn activity_cursor(&self, state: &ConversationState) -> String {
        activity_sort_key(state)
    }

    async fn conversations_by_activity(&self, page: &PageRequest) -> Result<Page<ConversationState>, StoreError> {
        let limit = page.limit.max(1);
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(ACTIVITY_INDEX)
            .key_condition_expression("#list = :list")
            .expression_attribute_names("#list", "list")
            .expression_attribute_values(":list", AttributeValue::S(ACTIVITY_PARTITION.into()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        if let Some(after) = &page.after {
            // The cursor is the index sort key; the table key follows from it.
            let conv = after.split_once('#').map_or("", |(_, c)| c);
            request = request
                .exclusive_start_key("list", AttributeValue::S(ACTIVITY_PARTITION.into()))
                .exclusive_start_key("activity", AttributeValue::S(after.clone()))
                .exclusive_start_key("pk", AttributeValue::S(format!("CONV#{conv}")))
                .exclusive_start_key("sk", AttributeValue::S(STATE_SK.into()));
        }
        let out = request.send().await.map_err(|e| classify(e, ACTIVITY_INDEX))?;
        let mut items = Vec::new();
        let mut last = None;
        for item in out.items.unwrap_or_default() {
            let row: StateRow = from_item(item, ACTIVITY_INDEX)?;
            last = row.activity.clone();
            items.push(row.state);
        }
        let next = out.last_evaluated_key.and(last);
        Ok(Page { items, next })
    }

    async fn doc(&self, collection: &str, id: &str) -> Result<Option<Doc>, StoreError> {
        match self.get(doc_partition(collection), id.to_owned()).await? {
            None => Ok(None),
            Some(item) => {
                let row: DocRow = from_item(item, id)?;
                Ok(Some(Doc { id: row.sk, body: row.body, version: row.version }))
            }
        }
    }

    async fn put_doc(&self, collection: &str, doc: &Doc) -> Result<(), StoreError> {
        let row = DocRow { pk: doc_partition(collection), sk: doc.id.clone(), body: doc.body.clone(), version: doc.version + 1 };
        let request = self.client.put_item().table_name(&self.table).set_item(Some(to_item(&row, &doc.id)?));
        let request = if doc.version == 0 {
            request.condition_expression("attribute_not_exists(pk)")
        } else {
            request.condition_expression("version = :v").expression_attribute_values(":v", AttributeValue::N(doc.version.to_string()))
        };
        request.send().await.map(|_| ()).map_err(|e| classify(e, &doc.id))
    }

    async fn delete_doc(&self, collection: &str, id: &str, version: u64) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(doc_partition(collection)))
            .key("sk", AttributeValue::S(id.to_owned()))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e, id))
    }

    async fn docs(&self, collection: &str, page: &PageRequest) -> Result<Page<Doc>, StoreError> {
        let pk = doc_partition(collection);
        let out = self
            .page_of_partition(&pk, page)
            .key_condition_expression("pk = :pk")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify(e, &pk))?;
        let mut items = Vec::new();
        for item in out.items.unwrap_or_default() {
            let row: DocRow = from_item(item, &pk)?;
            items.push(Doc { id: row.sk, body: row.body, version: row.version });
        }
        let next = out.last_evaluated_key.and(items.last().map(|d| d.id.clone()));
        Ok(Page { items, next })
    }

    async fn set_hold(&self, hold: &Hold) -> Result<usize, StoreError> {
        self.put_hold(hold).await
    }

    async fn release_hold(&self, conversation: &ConversationId, retention_days: u32) -> Result<usize, StoreError> {
        self.delete_hold(conversation, retention_days).await
    }

    async fn hold(&self, conversation: &ConversationId) -> Result<Option<Hold>, StoreError> {
        self.read_hold(&partition_key(conversation)).await
    }

    async fn holds(&self) -> Result<Vec<Hold>, StoreError> {
        self.list_holds().await
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
