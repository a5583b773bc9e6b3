//! The local work queue kept in the embedded store: inbound events logged but not handled yet
//! (`PENDING`), and conversations whose handled events the archiver still owes (`ARCHIVE_DUE`).
//! Both are durable, so a crash or restart resumes where it stopped.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, Table};

use super::{corrupt, unavailable, EmbeddedStore, ARCHIVE_DUE, LOG, PENDING};
use crate::domain::ids::ConversationId;
use crate::store::{log_sort_key, ArchiveDue, ArchiveQueue, InboundRecord, LogItem, StoreError, WorkQueue};

#[async_trait]
impl WorkQueue for EmbeddedStore {
    async fn pending(&self) -> Result<Vec<InboundRecord>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let pending = txn.open_table(PENDING).map_err(unavailable)?;
            let log = txn.open_table(LOG).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in pending.iter().map_err(unavailable)? {
                let (key, _) = entry.map_err(unavailable)?;
                let (conv, sk) = key.value();
                if let Some(bytes) = log.get((conv, sk)).map_err(unavailable)? {
                    if let LogItem::In(r) = serde_json::from_slice(bytes.value()).map_err(|e| corrupt(sk, e))? {
                        out.push(r);
                    }
                }
            }
            out.sort_by_key(|r| r.timestamp_ms);
            Ok(out)
        })
        .await
    }

    async fn done(&self, record: &InboundRecord) -> Result<(), StoreError> {
        let conv = record.conversation.as_str().to_owned();
        let sk = log_sort_key(record.timestamp_ms, true, record.event_id.as_str());
        let at = record.timestamp_ms;
        self.writer
            .write(move |txn| {
                txn.open_table(PENDING).map_err(unavailable)?.remove((conv.as_str(), sk.as_str())).map_err(unavailable)?;
                mark_due(&mut txn.open_table(ARCHIVE_DUE).map_err(unavailable)?, &conv, at)
            })
            .await
    }
}

#[async_trait]
impl ArchiveQueue for EmbeddedStore {
    async fn archive_due(&self) -> Result<Vec<(ConversationId, ArchiveDue)>, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(ARCHIVE_DUE).map_err(unavailable)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(unavailable)? {
            let (key, value) = entry.map_err(unavailable)?;
            let id = ConversationId::from_stored(key.value());
            let (from_ms, marks) = value.value();
            out.push((id, ArchiveDue { from_ms, marks }));
        }
        Ok(out)
    }

    async fn archived(&self, done: Vec<(ConversationId, ArchiveDue)>) -> Result<(), StoreError> {
        if done.is_empty() {
            return Ok(());
        }
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(ARCHIVE_DUE).map_err(unavailable)?;
                for (id, due) in &done {
                    let current = table.get(id.as_str()).map_err(unavailable)?.map(|v| v.value());
                    if current == Some((due.from_ms, due.marks)) {
                        table.remove(id.as_str()).map_err(unavailable)?;
                    }
                }
                Ok(())
            })
            .await
    }
}

/// Marks `conv` due for the archive from `at_ms` on (or earlier, if it already was).
pub(super) fn mark_due(table: &mut Table<'_, &'static str, (i64, u64)>, conv: &str, at_ms: i64) -> Result<(), StoreError> {
    let next = match table.get(conv).map_err(unavailable)?.map(|v| v.value()) {
        Some((from_ms, marks)) => (from_ms.min(at_ms), marks.wrapping_add(1)),
        None => (at_ms, 0),
    };
    table.insert(conv, next).map_err(unavailable)?;
    Ok(())
}
