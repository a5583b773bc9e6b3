//! Conversation state in the embedded store, with the two views kept in the same transaction
//! as every conversation write: the activity index (the console's list) and the inbox counts.

use std::ops::Bound;

use async_trait::async_trait;
use fjall::WriteTransaction;

use super::{corrupt, text, EmbeddedStore, Parts};
use crate::domain::conversation::{ConversationState, InboxFlags};
use crate::domain::ids::ConversationId;
use crate::store::{Conversations, InboxCounts, Page, PageRequest, StoreError};

const INBOX_UNREAD: &str = "unread";
const INBOX_ATTENTION: &str = "needs_attention";

/// Inverted time first, so iterating in key order lists the newest activity first.
const MAX_MS: i64 = 9_999_999_999_999;

pub(super) fn activity_key(state: &ConversationState) -> String {
    format!("{:013}#{}", MAX_MS - state.activity_ms().clamp(0, MAX_MS), state.id)
}

fn activity_ms_of_key(key: &str) -> Option<i64> {
    key.split_once('#').and_then(|(inverted, _)| inverted.parse::<i64>().ok()).map(|i| MAX_MS - i)
}

fn count_of(value: Option<fjall::UserValue>) -> i64 {
    value.and_then(|v| <[u8; 8]>::try_from(&v[..]).ok()).map_or(0, i64::from_le_bytes)
}

/// Adds the change from `before` to `after` to the inbox counts.
pub(super) fn count_inbox(txn: &mut WriteTransaction<'_>, p: &Parts, before: InboxFlags, after: InboxFlags) -> Result<(), StoreError> {
    for (key, was, is) in [(INBOX_UNREAD, before.unread, after.unread), (INBOX_ATTENTION, before.needs_attention, after.needs_attention)] {
        if was != is {
            let count = count_of(p.inbox.get(txn, key)?);
            p.inbox.insert(txn, key, (count + if is { 1 } else { -1 }).to_le_bytes());
        }
    }
    Ok(())
}

/// Sets the inbox counts outright (the conversion of a redb store counts them afresh).
pub(super) fn set_inbox(txn: &mut WriteTransaction<'_>, p: &Parts, unread: u64, needs_attention: u64) {
    p.inbox.insert(txn, INBOX_UNREAD, (unread as i64).to_le_bytes());
    p.inbox.insert(txn, INBOX_ATTENTION, (needs_attention as i64).to_le_bytes());
}

#[async_trait]
impl Conversations for EmbeddedStore {
    async fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, StoreError> {
        // Read in place: a point read is a few microseconds and never waits for the writer,
        // far less than a hop to a blocking thread.
        let key = id.as_str();
        let value = self.parts.conversations.latest(key)?;
        value.map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(key, e))).transpose()
    }

    async fn save_conversation(&self, state: &ConversationState) -> Result<(), StoreError> {
        let key = state.id.to_string();
        let expected = state.version;
        let mut next = state.clone();
        next.version += 1;
        let bytes = serde_json::to_vec(&next).map_err(|e| corrupt(&key, e))?;
        self.writer
            .write(move |txn, p| {
                let stored: Option<ConversationState> = p
                    .conversations
                    .get(txn, key.as_str())?
                    .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&key, e)))
                    .transpose()?;
                // A lost race is an answer, not a failure of the batch.
                if stored.as_ref().map_or(0, |s| s.version) != expected {
                    return Ok(Err(StoreError::Conflict(key)));
                }
                p.conversations.insert(txn, key.as_str(), bytes);
                if let Some(old) = &stored {
                    p.activity.remove(txn, activity_key(old));
                }
                p.activity.insert(txn, activity_key(&next), []);
                let before = stored.as_ref().map(ConversationState::inbox_flags).unwrap_or_default();
                count_inbox(txn, p, before, next.inbox_flags())?;
                Ok(Ok(()))
            })
            .await?
    }

    async fn inbox(&self) -> Result<InboxCounts, StoreError> {
        let snapshot = self.ks.read_tx();
        let count = |key| self.parts.inbox.read(&snapshot, key).map(|v| count_of(v).max(0) as u64);
        let latest = self.parts.activity.all(&snapshot).next().transpose()?;
        let latest_activity_ms = match &latest {
            Some((key, _)) => activity_ms_of_key(text(key)?),
            None => None,
        };
        Ok(InboxCounts { unread: count(INBOX_UNREAD)?, needs_attention: count(INBOX_ATTENTION)?, latest_activity_ms })
    }

    fn activity_cursor(&self, state: &ConversationState) -> String {
        activity_key(state)
    }

    async fn conversations_by_activity(&self, page: &PageRequest) -> Result<Page<ConversationState>, StoreError> {
        let limit = page.limit.max(1);
        let after = page.after.clone();
        self.blocking(move |ks, p| {
            let snapshot = ks.read_tx();
            let start = match &after {
                Some(key) => Bound::Excluded(key.as_bytes().to_vec()),
                None => Bound::Unbounded,
            };
            let mut items = Vec::new();
            let mut last = None;
            for entry in p.activity.range(&snapshot, (start, Bound::Unbounded)) {
                let (key, _) = entry?;
                if items.len() == limit {
                    return Ok(Page { items, next: last });
                }
                let key = text(&key)?;
                let conv = key.split_once('#').map_or("", |(_, c)| c);
                if let Some(value) = p.conversations.read(&snapshot, conv)? {
                    items.push(serde_json::from_slice(&value).map_err(|e| corrupt(conv, e))?);
                }
                last = Some(key.to_owned());
            }
            Ok(Page { items, next: None })
        })
        .await
    }
}
