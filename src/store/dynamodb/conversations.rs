//! Conversation state on DynamoDB: `CONV#<conversation>` / `STATE`, versioned by a condition;
//! the `by_activity` index lists it for the console, and one counter item keeps the inbox
//! counts, changed in the same transaction as a state whose share changes.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{classify, conversation_index, from_item, partition_key, to_item, DynamoStore, STATE_SK};
use crate::domain::conversation::ConversationState;
use crate::domain::ids::ConversationId;
use crate::store::{Conversations, InboxCounts, Page, PageRequest, StoreError};

/// The sparse index listing conversations by activity: every STATE item, one partition.
pub const ACTIVITY_INDEX: &str = "by_activity";
const ACTIVITY_PARTITION: &str = "CONV";
/// The inbox counts (`unread`, `needs_attention`): one item, changed only when a conversation's
/// share changes.
const INBOX_PK: &str = "INBOX";
const INBOX_SK: &str = "COUNTS";

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

/// Removes null attributes, also inside maps (reading treats a missing `Option` as None).
fn drop_nulls(item: &mut HashMap<String, AttributeValue>) {
    item.retain(|_, value| !matches!(value, AttributeValue::Null(_)));
    for value in item.values_mut() {
        if let AttributeValue::M(map) = value {
            drop_nulls(map);
        }
    }
}

fn activity_sort_key(state: &ConversationState) -> String {
    format!("{:013}#{}", state.activity_ms().max(0), state.id)
}

#[async_trait]
impl Conversations for DynamoStore {
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
        // What is unset is left out: a state's write units go by its size, and it is written
        // with every message, twice more in the activity index.
        drop_nulls(&mut item);
        // Puts the conversation in the sparse index that export jobs list conversations from.
        item.insert(conversation_index::SHARD_ATTRIBUTE.into(), conversation_index::shard_of(&state.id));
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
            .map_err(StoreError::unavailable)?;
        let count = Update::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(INBOX_PK.into()))
            .key("sk", AttributeValue::S(INBOX_SK.into()))
            .update_expression("ADD unread :u, needs_attention :n")
            .expression_attribute_values(":u", delta(before.unread, after.unread))
            .expression_attribute_values(":n", delta(before.needs_attention, after.needs_attention))
            .build()
            .map_err(StoreError::unavailable)?;
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
}
