//! The local work queue kept in the embedded store: inbound events logged but not handled yet
//! (`pending`), and conversations whose handled events the archiver still owes (`archive_due`).
//! Both are durable, so a crash or restart resumes where it stopped.

use async_trait::async_trait;
use fjall::WriteTransaction;

use super::{corrupt, key2, text, EmbeddedStore, Parts};
use crate::domain::ids::ConversationId;
use crate::store::{log_sort_key, ArchiveDue, ArchiveQueue, InboundRecord, LogItem, StoreError, WorkQueue};

#[async_trait]
impl WorkQueue for EmbeddedStore {
    async fn pending(&self) -> Result<Vec<InboundRecord>, StoreError> {
        self.blocking(|ks, p| {
            let snapshot = ks.read_tx();
            let mut out = Vec::new();
            for entry in p.pending.all(&snapshot) {
                let (key, _) = entry?;
                if let Some(bytes) = p.log.read(&snapshot, &key)? {
                    if let LogItem::In(r) = serde_json::from_slice(&bytes).map_err(|e| corrupt(text(&key).unwrap_or("pending"), e))? {
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
        let key = key2(&conv, &log_sort_key(record.timestamp_ms, true, record.event_id.as_str()));
        let at = record.timestamp_ms;
        self.writer
            .write(move |txn, p| {
                p.pending.remove(txn, key);
                mark_due(txn, p, &conv, at)
            })
            .await
    }
}

/// What `archive_due` keeps: the time, then the marks, little-endian.
pub(super) fn due_bytes(from_ms: i64, marks: u64) -> [u8; 16] {
    let mut bytes = [0; 16];
    bytes[..8].copy_from_slice(&from_ms.to_le_bytes());
    bytes[8..].copy_from_slice(&marks.to_le_bytes());
    bytes
}

fn due_of(conv: &str, bytes: &[u8]) -> Result<(i64, u64), StoreError> {
    let bytes: [u8; 16] = bytes.try_into().map_err(|_| StoreError::corrupt_because(conv, "an archive mark is not 16 bytes"))?;
    let (from, marks) = bytes.split_at(8);
    Ok((i64::from_le_bytes(from.try_into().expect("8 bytes")), u64::from_le_bytes(marks.try_into().expect("8 bytes"))))
}

#[async_trait]
impl ArchiveQueue for EmbeddedStore {
    async fn archive_due(&self) -> Result<Vec<(ConversationId, ArchiveDue)>, StoreError> {
        let mut out = Vec::new();
        let snapshot = self.ks.read_tx();
        for entry in self.parts.archive_due.all(&snapshot) {
            let (key, value) = entry?;
            let conv = text(&key)?;
            let (from_ms, marks) = due_of(conv, &value)?;
            out.push((ConversationId::from_stored(conv), ArchiveDue { from_ms, marks }));
        }
        Ok(out)
    }

    async fn archived(&self, done: Vec<(ConversationId, ArchiveDue)>) -> Result<(), StoreError> {
        if done.is_empty() {
            return Ok(());
        }
        self.writer
            .write(move |txn, p| {
                for (id, due) in &done {
                    let current = p.archive_due.get(txn, id.as_str())?;
                    let current = current.map(|v| due_of(id.as_str(), &v)).transpose()?;
                    if current == Some((due.from_ms, due.marks)) {
                        p.archive_due.remove(txn, id.as_str());
                    }
                }
                Ok(())
            })
            .await
    }
}

/// Marks `conv` due for the archive from `at_ms` on (or earlier, if it already was).
pub(super) fn mark_due(txn: &mut WriteTransaction<'_>, p: &Parts, conv: &str, at_ms: i64) -> Result<(), StoreError> {
    let current = p.archive_due.get(txn, conv)?;
    let next = match current.map(|v| due_of(conv, &v)).transpose()? {
        Some((from_ms, marks)) => (from_ms.min(at_ms), marks.wrapping_add(1)),
        None => (at_ms, 0),
    };
    p.archive_due.insert(txn, conv, due_bytes(next.0, next.1));
    Ok(())
}
