//! Conversation state in the embedded store, with the two views kept in the same transaction
//! as every conversation write: the activity index (the console's list) and the inbox counts.

use std::ops::Bound;

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle, WriteTransaction};

use super::{corrupt, unavailable, EmbeddedStore};
use crate::domain::conversation::ConversationState;
use crate::domain::ids::ConversationId;
use crate::store::{Conversations, InboxCounts, Page, PageRequest, StoreError};

/// conversation -> ConversationState JSON.
pub(super) const CONVERSATIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("conversations");
/// `activity_key(state)` -> (); ascending order is newest activity first.
const ACTIVITY: TableDefinition<'_, &str, ()> = TableDefinition::new("activity");

/// "unread" / "needs_attention" -> how many conversations are so (spam not counted); kept in
/// the same transaction as every conversation write.
const INBOX: TableDefinition<'_, &str, i64> = TableDefinition::new("inbox");

const INBOX_UNREAD: &str = "unread";
const INBOX_ATTENTION: &str = "needs_attention";

/// Inverted time first, so iterating in key order lists the newest activity first.
const MAX_MS: i64 = 9_999_999_999_999;

fn activity_key(state: &ConversationState) -> String {
    format!("{:013}#{}", MAX_MS - state.activity_ms().clamp(0, MAX_MS), state.id)
}

fn activity_ms_of_key(key: &str) -> Option<i64> {
    key.split_once('#').and_then(|(inverted, _)| inverted.parse::<i64>().ok()).map(|i| MAX_MS - i)
}

/// Opens the activity index and the inbox counts, building either from the conversations
/// once if the store is from before it existed.
pub(super) fn open_indexes(txn: &WriteTransaction) -> Result<(), StoreError> {
    // A store from before the conversation list existed: index what it has, once.
    let mut activity = txn.open_table(ACTIVITY).map_err(unavailable)?;
    if activity.is_empty().map_err(unavailable)? {
        let conversations = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
        for entry in conversations.iter().map_err(unavailable)? {
            let (key, value) = entry.map_err(unavailable)?;
            let state: ConversationState = serde_json::from_slice(value.value()).map_err(|e| corrupt(key.value(), e))?;
            activity.insert(activity_key(&state).as_str(), ()).map_err(unavailable)?;
        }
    }
    // A store from before the inbox counts: count what it has, once.
    let inbox_is_new = txn.list_tables().map_err(unavailable)?.all(|t| t.name() != INBOX.name());
    let mut inbox = txn.open_table(INBOX).map_err(unavailable)?;
    if inbox_is_new {
        let conversations = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
        let (mut unread, mut attention) = (0, 0);
        for entry in conversations.iter().map_err(unavailable)? {
            let (key, value) = entry.map_err(unavailable)?;
            let state: ConversationState = serde_json::from_slice(value.value()).map_err(|e| corrupt(key.value(), e))?;
            let flags = state.inbox_flags();
            unread += i64::from(flags.unread);
            attention += i64::from(flags.needs_attention);
        }
        inbox.insert(INBOX_UNREAD, unread).map_err(unavailable)?;
        inbox.insert(INBOX_ATTENTION, attention).map_err(unavailable)?;
    }
    Ok(())
}

#[async_trait]
impl Conversations for EmbeddedStore {
    async fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, StoreError> {
        // Read in place: a point read is a few microseconds (MVCC, never waits for the writer),
        // far less than a hop to a blocking thread.
        let key = id.as_str();
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
        let value = table.get(key).map_err(unavailable)?;
        value.map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(key, e))).transpose()
    }

    async fn save_conversation(&self, state: &ConversationState) -> Result<(), StoreError> {
        let key = state.id.to_string();
        let expected = state.version;
        let mut next = state.clone();
        next.version += 1;
        let bytes = serde_json::to_vec(&next).map_err(|e| corrupt(&key, e))?;
        let next_for_index = next;
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
                let stored: Option<ConversationState> = table
                    .get(key.as_str())
                    .map_err(unavailable)?
                    .map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(&key, e)))
                    .transpose()?;
                // A lost race is an answer, not a failure of the batch.
                if stored.as_ref().map_or(0, |s| s.version) != expected {
                    return Ok(Err(StoreError::Conflict(key)));
                }
                table.insert(key.as_str(), bytes.as_slice()).map_err(unavailable)?;
                let mut activity = txn.open_table(ACTIVITY).map_err(unavailable)?;
                if let Some(old) = &stored {
                    activity.remove(activity_key(old).as_str()).map_err(unavailable)?;
                }
                activity.insert(activity_key(&next_for_index).as_str(), ()).map_err(unavailable)?;
                let (before, after) =
                    (stored.as_ref().map(ConversationState::inbox_flags).unwrap_or_default(), next_for_index.inbox_flags());
                if before != after {
                    let mut inbox = txn.open_table(INBOX).map_err(unavailable)?;
                    for (key, was, is) in
                        [(INBOX_UNREAD, before.unread, after.unread), (INBOX_ATTENTION, before.needs_attention, after.needs_attention)]
                    {
                        if was != is {
                            let count = inbox.get(key).map_err(unavailable)?.map_or(0, |v| v.value());
                            inbox.insert(key, count + if is { 1 } else { -1 }).map_err(unavailable)?;
                        }
                    }
                }
                Ok(Ok(()))
            })
            .await?
    }

    async fn inbox(&self) -> Result<InboxCounts, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let inbox = txn.open_table(INBOX).map_err(unavailable)?;
        let count = |key| inbox.get(key).map(|v| v.map_or(0, |v| v.value().max(0) as u64)).map_err(unavailable);
        let latest = txn.open_table(ACTIVITY).map_err(unavailable)?.first().map_err(unavailable)?.map(|(key, _)| key.value().to_owned());
        Ok(InboxCounts {
            unread: count(INBOX_UNREAD)?,
            needs_attention: count(INBOX_ATTENTION)?,
            latest_activity_ms: latest.as_deref().and_then(activity_ms_of_key),
        })
    }

    fn activity_cursor(&self, state: &ConversationState) -> String {
        activity_key(state)
    }

    async fn conversations_by_activity(&self, page: &PageRequest) -> Result<Page<ConversationState>, StoreError> {
        let limit = page.limit.max(1);
        let after = page.after.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let activity = txn.open_table(ACTIVITY).map_err(unavailable)?;
            let conversations = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
            let start = match &after {
                Some(key) => Bound::Excluded(key.as_str()),
                None => Bound::Unbounded,
            };
            let mut items = Vec::new();
            let mut last = None;
            for entry in activity.range::<&str>((start, Bound::Unbounded)).map_err(unavailable)? {
                let (key, _) = entry.map_err(unavailable)?;
                if items.len() == limit {
                    return Ok(Page { items, next: last });
                }
                let key = key.value();
                let conv = key.split_once('#').map_or("", |(_, c)| c);
                if let Some(value) = conversations.get(conv).map_err(unavailable)? {
                    items.push(serde_json::from_slice(value.value()).map_err(|e| corrupt(conv, e))?);
                }
                last = Some(key.to_owned());
            }
            Ok(Page { items, next: None })
        })
        .await
    }
}
