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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::EventId;
    use crate::store::{EventLog, OutboundRecord, OutboundStatus};

    fn inbound(event: &str, at: i64) -> InboundRecord {
        InboundRecord {
            conversation: ConversationId::user("Uq"),
            event_id: EventId::new(event.into()),
            timestamp_ms: at,
            received_ms: at,
            event_type: "message".into(),
            message_type: Some("text".into()),
            user_id: Some("Uq".into()),
            mode: "active".into(),
            is_redelivery: false,
            raw: "{}".into(),
            expires_at: Some(9),
        }
    }

    #[tokio::test]
    async fn done_marks_due_with_it_and_a_mark_made_while_archiving_survives_the_clear() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let (a, b) = (inbound("e1", 2_000), inbound("e2", 1_000));
        store.put_inbound(&a).await.unwrap();
        store.put_inbound(&b).await.unwrap();
        assert_eq!(store.pending().await.unwrap(), vec![b.clone(), a.clone()]);

        store.done(&a).await.unwrap();
        assert_eq!(store.pending().await.unwrap(), vec![b.clone()], "done leaves pending in the same commit");
        let first = store.archive_due().await.unwrap();
        assert_eq!(first, vec![(ConversationId::user("Uq"), ArchiveDue { from_ms: 2_000, marks: 0 })]);

        store.done(&b).await.unwrap();
        store.archived(first).await.unwrap();
        let second = store.archive_due().await.unwrap();
        assert_eq!(second, vec![(ConversationId::user("Uq"), ArchiveDue { from_ms: 1_000, marks: 1 })], "a newer mark stays");
        store.archived(second).await.unwrap();
        assert!(store.archive_due().await.unwrap().is_empty());

        let out = OutboundRecord {
            conversation: ConversationId::user("Uq"),
            id: "o1".into(),
            timestamp_ms: 3_000,
            created_ms: 3_000,
            method: "push".into(),
            messages: "[]".into(),
            status: OutboundStatus::Sent,
            reason: "staff".into(),
            expires_at: Some(9),
        };
        store.finish_outbound(&out).await.unwrap();
        assert_eq!(
            store.archive_due().await.unwrap(),
            vec![(ConversationId::user("Uq"), ArchiveDue { from_ms: 3_000, marks: 0 })],
            "a finished reply is owed too"
        );
    }
}
