//! Listing every conversation on DynamoDB (`EventLog::conversation_ids`, what exports and the
//! archive backfill walk).
//!
//! Conversations are listed through `conversations`, a sparse, keys-only global secondary index
//! on the state items (`conv_shard` exists only there): a Query per shard instead of a Scan of
//! every message. The index key is written once, with the conversation's first state, and
//! spread over `SHARDS` partitions so no index partition is hot.

use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};

use super::{classify, DynamoStore, STATE_SK};
use crate::domain::ids::ConversationId;
use crate::store::{Page, PageRequest, StoreError};

pub const CONVERSATIONS_INDEX: &str = "conversations";
pub const SHARD_ATTRIBUTE: &str = "conv_shard";
const SHARDS: u8 = 16;

/// The index partition of a conversation: stable, spread evenly.
pub(super) fn shard_of(id: &ConversationId) -> AttributeValue {
    AttributeValue::S(format!("{:02}", Sha256::digest(id.as_str().as_bytes())[0] % SHARDS))
}

/// Cursor `<shard>/<last pk>`: where the previous page stopped.
fn parse_cursor(cursor: Option<&str>) -> Result<(u8, Option<String>), StoreError> {
    let Some(cursor) = cursor else { return Ok((0, None)) };
    let bad = || StoreError::corrupt_because("conversation cursor", format!("{cursor:?}"));
    let (shard, pk) = cursor.split_once('/').ok_or_else(bad)?;
    Ok((shard.parse().map_err(|_| bad())?, (!pk.is_empty()).then(|| pk.to_owned())))
}

impl DynamoStore {
    pub(super) async fn list_conversation_ids(&self, page: &PageRequest) -> Result<Page<ConversationId>, StoreError> {
        let limit = page.limit.max(1);
        let (mut shard, mut start_pk) = parse_cursor(page.after.as_deref())?;
        let mut ids = Vec::new();
        while shard < SHARDS {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(CONVERSATIONS_INDEX)
                .key_condition_expression("#shard = :shard")
                .expression_attribute_names("#shard", SHARD_ATTRIBUTE)
                .expression_attribute_values(":shard", AttributeValue::S(format!("{shard:02}")))
                .limit(i32::try_from(limit - ids.len()).unwrap_or(i32::MAX));
            if let Some(pk) = &start_pk {
                request = request
                    .exclusive_start_key(SHARD_ATTRIBUTE, AttributeValue::S(format!("{shard:02}")))
                    .exclusive_start_key("pk", AttributeValue::S(pk.clone()))
                    .exclusive_start_key("sk", AttributeValue::S(STATE_SK.into()));
            }
            let out = request.send().await.map_err(|e| classify(e, CONVERSATIONS_INDEX))?;
            let mut last_pk = None;
            for item in out.items.unwrap_or_default() {
                let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let id = pk
                    .strip_prefix("CONV#")
                    .and_then(ConversationId::parse)
                    .ok_or_else(|| StoreError::corrupt_because(&pk, "not a conversation key"))?;
                ids.push(id);
                last_pk = Some(pk);
            }
            if out.last_evaluated_key.is_some() && last_pk.is_some() {
                start_pk = last_pk;
            } else {
                shard += 1;
                start_pk = None;
            }
            if ids.len() == limit {
                let next = (shard < SHARDS).then(|| format!("{shard}/{}", start_pk.unwrap_or_default()));
                return Ok(Page { items: ids, next });
            }
        }
        Ok(Page { items: ids, next: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_in_range() {
        let a = shard_of(&ConversationId::user("U1"));
        assert_eq!(a, shard_of(&ConversationId::user("U1")));
        let n: u8 = a.as_s().unwrap().parse().unwrap();
        assert!(n < SHARDS);
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(parse_cursor(None).unwrap(), (0, None));
        assert_eq!(parse_cursor(Some("3/CONV#user:U1")).unwrap(), (3, Some("CONV#user:U1".into())));
        assert_eq!(parse_cursor(Some("4/")).unwrap(), (4, None));
        assert!(parse_cursor(Some("x")).is_err());
    }
}
