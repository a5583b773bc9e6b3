//! The conversation log in the embedded store: one partition keyed by (conversation, sort key),
//! written through the group commit; a new inbound event is queued for the worker
//! (`pending`) and a finished reply owed to the archive (`archive_due`) in the same commit.

use std::ops::Bound;

use async_trait::async_trait;
use fjall::{TxKeyspace, UserValue};

use super::{after_prefix, corrupt, hold, key2, prefix, queue, split2, EmbeddedStore, Parts};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItemRef;
use crate::store::{log_sort_key, Claim, EventLog, InboundRecord, Inserted, LogItem, OutboundRecord, Page, PageRequest, StoreError};

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
            .write(move |txn, p| {
                let key = key2(&conv, &sk);
                let existing = p.log.get(txn, &key)?;
                if existing.is_none() {
                    let bytes = hold::stored_bytes(txn, p, &conv, &sk, bytes)?;
                    if pending {
                        p.pending.insert(txn, &key, []);
                    }
                    p.log.insert(txn, key, bytes);
                }
                Ok(existing)
            })
            .await?;
        existing.map(|b| serde_json::from_slice(&b).map_err(|e| corrupt("log item", e))).transpose()
    }

    /// One page of a conversation's log, oldest first (`forward`) or newest first; `page.after`
    /// is the sort key to go on after (forward) or before. In place, on one snapshot: a page is
    /// one range scan of one conversation.
    fn log_page(&self, id: &ConversationId, page: &PageRequest, forward: bool) -> Result<Page<LogItem>, StoreError> {
        let conv = id.as_str();
        let limit = page.limit.max(1);
        let snapshot = self.ks.read_tx();
        let after = page.after.as_deref().map(|sk| Bound::Excluded(key2(conv, sk)));
        if forward {
            let start = after.unwrap_or(Bound::Included(prefix(conv)));
            log_items(self.parts.log.range(&snapshot, (start, Bound::Excluded(after_prefix(conv)))), limit)
        } else {
            // Every sort key starts with "MSG#": "MSG$" sorts after all of them.
            let end = after.unwrap_or(Bound::Excluded(key2(conv, "MSG$")));
            log_items(self.parts.log.range(&snapshot, (Bound::Included(prefix(conv)), end)).rev(), limit)
        }
    }
}

/// Up to `limit` items from a range of one conversation's log, in the range's order; `next` is
/// the last one's sort key if more follow.
fn log_items(range: impl Iterator<Item = Result<(Vec<u8>, UserValue), StoreError>>, limit: usize) -> Result<Page<LogItem>, StoreError> {
    let mut items = Vec::new();
    let mut last_key = None;
    for entry in range {
        let (key, value) = entry?;
        let (_, sk) = split2(&key)?;
        if items.len() == limit {
            return Ok(Page { items, next: last_key });
        }
        items.push(serde_json::from_slice(&value).map_err(|e| corrupt(sk, e))?);
        last_key = Some(sk.to_owned());
    }
    Ok(Page { items, next: None })
}

/// Distinct conversations of the log, in order: one short range read per conversation, so the
/// cost follows the number of conversations, not of messages.
fn conversation_ids(ks: &TxKeyspace, p: &Parts, page: &PageRequest) -> Result<Page<ConversationId>, StoreError> {
    let snapshot = ks.read_tx();
    let limit = page.limit.max(1);
    let mut after = page.after.clone();
    let mut ids = Vec::new();
    loop {
        let start = match &after {
            Some(conv) => Bound::Included(after_prefix(conv)),
            None => Bound::Unbounded,
        };
        let Some(entry) = p.log.range(&snapshot, (start, Bound::Unbounded)).next() else {
            return Ok(Page { items: ids, next: None });
        };
        let (key, _) = entry?;
        let conv = split2(&key)?.0.to_owned();
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
            .write(move |txn, p| {
                let bytes = hold::stored_bytes(txn, p, &conv, &sk, bytes)?;
                p.log.insert(txn, key2(&conv, &sk), bytes);
                // Every finished reply is owed to the local archive, whoever sent it (the
                // worker's, staff's through the operator API), as the stream does it on AWS.
                queue::mark_due(txn, p, &conv, at_ms)
            })
            .await
    }

    async fn outbound(&self, conversation: &ConversationId, timestamp_ms: i64, id: &str) -> Result<Option<OutboundRecord>, StoreError> {
        let sk = log_sort_key(timestamp_ms, false, id);
        let Some(bytes) = self.parts.log.latest(key2(conversation.as_str(), &sk))? else { return Ok(None) };
        match serde_json::from_slice(&bytes).map_err(|e| corrupt(&sk, e))? {
            LogItem::Out(record) => Ok(Some(record)),
            LogItem::In(_) => Err(StoreError::corrupt_because(&sk, "an inbound item under an outbound key")),
        }
    }

    async fn log(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        self.log_page(id, page, true)
    }

    async fn log_newest(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        self.log_page(id, page, false)
    }

    async fn conversation_ids(&self, page: &PageRequest) -> Result<Page<ConversationId>, StoreError> {
        let page = page.clone();
        self.blocking(move |ks, p| conversation_ids(ks, p, &page)).await
    }
}
