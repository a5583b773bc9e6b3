//! The conversation log on DynamoDB: `CONV#<conversation>` / `MSG#<ts>#I|O#<id>`, written
//! once with a condition; every write also drops the item's TTL if the conversation is held
//! (`hold.rs`). The worker and the archiver read the same rows back from stream images.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{classify, from_item, partition_key, to_item, DynamoStore};
use crate::domain::ids::ConversationId;
use crate::store::{log_sort_key, Claim, EventLog, InboundRecord, Inserted, LogItem, OutboundRecord, Page, PageRequest, StoreError};

#[derive(Serialize, Deserialize)]
pub(super) struct LogRow {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) item: LogItem,
}

/// Reads a log item (inbound or outbound) from a DynamoDB Stream image; None for other items
/// (conversation state). The archiver's input.
pub fn log_item_from_stream_image(image: serde_dynamo::Item) -> Result<Option<LogItem>, StoreError> {
    #[derive(Deserialize)]
    struct Keys {
        sk: String,
    }
    let keys: Keys = serde_dynamo::from_item(image.clone()).map_err(|e| StoreError::corrupt("stream image", e))?;
    if !keys.sk.starts_with("MSG#") {
        return Ok(None);
    }
    let row: LogRow = serde_dynamo::from_item(image).map_err(|e| StoreError::corrupt(keys.sk, e))?;
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
}

#[async_trait]
impl EventLog for DynamoStore {
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
            LogItem::In(_) => Err(StoreError::corrupt_because(row.sk, "an inbound item under an outbound key")),
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

    async fn outbound(&self, conversation: &ConversationId, timestamp_ms: i64, id: &str) -> Result<Option<OutboundRecord>, StoreError> {
        let sk = log_sort_key(timestamp_ms, false, id);
        let Some(item) = self.get(partition_key(conversation), sk.clone()).await? else { return Ok(None) };
        match from_item::<LogRow>(item, &sk)?.item {
            LogItem::Out(record) => Ok(Some(record)),
            LogItem::In(_) => Err(StoreError::corrupt_because(sk, "an inbound item under an outbound key")),
        }
    }

    async fn log(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        self.log_page(id, page, true).await
    }

    async fn log_newest(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        self.log_page(id, page, false).await
    }

    async fn conversation_ids(&self, page: &PageRequest) -> Result<Page<ConversationId>, StoreError> {
        self.list_conversation_ids(page).await
    }
}
