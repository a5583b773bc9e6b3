//! The conversation log in the embedded store: one table keyed by (conversation, sort key),
//! written through the group commit; a new inbound event is queued for the worker
//! (`PENDING`) and a finished reply owed to the archive (`ARCHIVE_DUE`) in the same commit.

use std::ops::Bound;

use async_trait::async_trait;
use redb::{AccessGuard, Database, ReadableDatabase, ReadableTable};

use super::{corrupt, hold, queue, unavailable, EmbeddedStore, ARCHIVE_DUE, LOG, PENDING};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItemRef;
use crate::store::{log_sort_key, Claim, EventLog, InboundRecord, Inserted, LogItem, OutboundRecord, Page, PageRequest, StoreError};

/// Sorts after every log sort key (they are ASCII), so a range from it skips a whole conversation.
const AFTER_EVERY_SORT_KEY: &str = "\u{10FFFF}";

type LogEntry<'a> = (AccessGuard<'a, (&'static str, &'static str)>, AccessGuard<'a, &'static [u8]>);

impl EmbeddedStore {
    async fn put_log_if_absent(
        &self,
        conv: String,
        sk: String,
        item: LogItemRef<'_>,
        pending: bool,
    ) -> Result<Option<LogItem>, StoreError> {
        // Serialised by reference, before the write: no clone of the record.
        let bytes = serde_json::to_vec(&item).map_err(|e| corrupt(&sk, e))?;
        let existing = self
            .writer
            .write(move |txn| {
                let mut log = txn.open_table(LOG).map_err(unavailable)?;
                let existing = log.get((conv.as_str(), sk.as_str())).map_err(unavailable)?.map(|v| v.value().to_vec());
                if existing.is_none() {
                    let bytes = hold::stored_bytes(txn, &conv, &sk, bytes)?;
                    log.insert((conv.as_str(), sk.as_str()), bytes.as_slice()).map_err(unavailable)?;
                    if pending {
                        txn.open_table(PENDING).map_err(unavailable)?.insert((conv.as_str(), sk.as_str()), ()).map_err(unavailable)?;
                    }
                }
                Ok(existing)
            })
            .await?;
        existing.map(|b| serde_json::from_slice(&b).map_err(|e| corrupt("log item", e))).transpose()
    }

    /// One page of a conversation's log, oldest first (`forward`) or newest first; `page.after`
    /// is the sort key to go on after (forward) or before. In place, like `conversation`: a
    /// page is one range scan of one conversation.
    fn log_page(&self, id: &ConversationId, page: &PageRequest, forward: bool) -> Result<Page<LogItem>, StoreError> {
        let conv = id.as_str();
        let limit = page.limit.max(1);
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(LOG).map_err(unavailable)?;
        let after = page.after.as_deref().map(|sk| Bound::Excluded((conv, sk)));
        if forward {
            let start = after.unwrap_or(Bound::Included((conv, "")));
            let range = table.range::<(&str, &str)>((start, Bound::Unbounded)).map_err(unavailable)?;
            log_items(range, conv, limit)
        } else {
            // Every sort key starts with "MSG#": "MSG$" sorts after all of them.
            let end = after.unwrap_or(Bound::Excluded((conv, "MSG$")));
            let range = table.range::<(&str, &str)>((Bound::Included((conv, "")), end)).map_err(unavailable)?;
            log_items(range.rev(), conv, limit)
        }
    }
}

/// Up to `limit` items of `conv` from a range of the log, in the range's order; `next` is the
/// last one's sort key if more of the conversation follow.
fn log_items<'a>(
    range: impl Iterator<Item = Result<LogEntry<'a>, redb::StorageError>>,
    conv: &str,
    limit: usize,
) -> Result<Page<LogItem>, StoreError> {
    let mut items = Vec::new();
    let mut last_key = None;
    for entry in range {
        let (key, value) = entry.map_err(unavailable)?;
        let (c, sk) = key.value();
        if c != conv {
            break;
        }
        if items.len() == limit {
            return Ok(Page { items, next: last_key });
        }
        items.push(serde_json::from_slice(value.value()).map_err(|e| corrupt(sk, e))?);
        last_key = Some(sk.to_owned());
    }
    Ok(Page { items, next: None })
}

/// Distinct conversations of the log, in order: one short range read per conversation, so the
/// cost follows the number of conversations, not of messages.
fn conversation_ids(db: &Database, page: &PageRequest) -> Result<Page<ConversationId>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let log = txn.open_table(LOG).map_err(unavailable)?;
    let limit = page.limit.max(1);
    let mut after = page.after.clone();
    let mut ids = Vec::new();
    loop {
        let start = match &after {
            Some(conv) => Bound::Excluded((conv.as_str(), AFTER_EVERY_SORT_KEY)),
            None => Bound::Unbounded,
        };
        let mut range = log.range::<(&str, &str)>((start, Bound::Unbounded)).map_err(unavailable)?;
        let Some(entry) = range.next() else { return Ok(Page { items: ids, next: None }) };
        let (key, _) = entry.map_err(unavailable)?;
        let conv = key.value().0.to_owned();
        if ids.len() == limit {
            return Ok(Page { items: ids, next: after });
        }
        ids.push(ConversationId::parse(&conv).ok_or_else(|| StoreError::corrupt_because(&conv, "not a conversation id"))?);
        after = Some(conv);
    }
}

#[async_trait]
impl EventLog for EmbeddedStore {
    async fn put_inbound(&self, record: &InboundRecord) -> Result<Inserted, StoreError> {
        let sk = log_sort_key(record.timestamp_ms, true, record.event_id.as_str());
        let existing = self.put_log_if_absent(record.conversation.to_string(), sk, LogItemRef::In(record), true).await?;
        Ok(if existing.is_some() { Inserted::Duplicate } else { Inserted::New })
    }

    async fn claim_outbound(&self, record: &OutboundRecord) -> Result<Claim, StoreError> {
        let sk = log_sort_key(record.timestamp_ms, false, &record.id);
        match self.put_log_if_absent(record.conversation.to_string(), sk.clone(), LogItemRef::Out(record), false).await? {
            None => Ok(Claim::Claimed),
            Some(LogItem::Out(existing)) => Ok(Claim::Exists(existing)),
            Some(LogItem::In(_)) => Err(StoreError::corrupt_because(&sk, "an inbound item under an outbound key")),
        }
    }

    async fn finish_outbound(&self, record: &OutboundRecord) -> Result<(), StoreError> {
        let conv = record.conversation.to_string();
        let sk = log_sort_key(record.timestamp_ms, false, &record.id);
        let bytes = serde_json::to_vec(&LogItemRef::Out(record)).map_err(|e| corrupt(&sk, e))?;
        let at_ms = record.timestamp_ms;
        self.writer
            .write(move |txn| {
                let bytes = hold::stored_bytes(txn, &conv, &sk, bytes)?;
                txn.open_table(LOG).map_err(unavailable)?.insert((conv.as_str(), sk.as_str()), bytes.as_slice()).map_err(unavailable)?;
                // Every finished reply is owed to the local archive, whoever sent it (the
                // worker's, staff's through the operator API), as the stream does it on AWS.
                queue::mark_due(&mut txn.open_table(ARCHIVE_DUE).map_err(unavailable)?, &conv, at_ms)
            })
            .await
    }

    async fn log(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        self.log_page(id, page, true)
    }

    async fn log_newest(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        self.log_page(id, page, false)
    }

    async fn conversation_ids(&self, page: &PageRequest) -> Result<Page<ConversationId>, StoreError> {
        let page = page.clone();
        self.blocking(move |db| conversation_ids(db, &page)).await
    }
}
