//! The store of the redb versions (`DATA_DIR/line-oa.redb`, before 2026-12-02), converted on
//! the first open by this version: every table is copied with its keys and values as they
//! were (the values are the same JSON), the activity index and the inbox counts are worked
//! out again from the conversations, and the old file is kept beside as
//! `line-oa.redb.converted` (delete it once you are satisfied). A conversion cut short (a
//! crash, a full disk) leaves the old file in place and simply runs again at the next open.

use std::path::Path;

use fjall::{PersistMode, TxKeyspace, WriteTransaction};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableError};

use super::conversations::{activity_key, set_inbox};
use super::{key2, queue, unavailable, Parts, Table};
use crate::domain::conversation::{ConversationState, InboxFlags};
use crate::store::StoreError;

const FILE_NAME: &str = "line-oa.redb";
const KEPT_AS: &str = "line-oa.redb.converted";
/// In `meta` once everything is copied: a crash before the rename does not copy again.
const MARKER: &str = "converted_from_redb";

const LOG: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("log");
const PENDING: TableDefinition<'_, (&str, &str), ()> = TableDefinition::new("pending");
const ARCHIVE_DUE: TableDefinition<'_, &str, (i64, u64)> = TableDefinition::new("archive_due");
const CONVERSATIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("conversations");
const DOCS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("docs");
const HOLDS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("holds");
const EXPORT_JOBS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("export_jobs");
const AUDIT: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("audit");

/// Writes per transaction while copying: bounds the memory a big store's conversion takes.
const CHUNK: usize = 5_000;

pub(super) fn convert_if_present(dir: &Path, ks: &TxKeyspace, p: &Parts) -> Result<(), StoreError> {
    let old = dir.join(FILE_NAME);
    if !old.exists() {
        return Ok(());
    }
    if p.meta.latest(MARKER)?.is_none() {
        tracing::warn!(from = %old.display(), "converting the store of an earlier version (redb); this runs once");
        let copied = copy(&old, ks, p)?;
        ks.persist(PersistMode::SyncAll).map_err(unavailable)?;
        let mut txn = ks.write_tx().durability(Some(PersistMode::SyncAll));
        p.meta.insert(&mut txn, MARKER, copied.to_string());
        txn.commit().map_err(unavailable)?;
        tracing::warn!(items = copied, kept_as = KEPT_AS, "converted the redb store");
    }
    let kept = dir.join(KEPT_AS);
    std::fs::rename(&old, &kept).map_err(|e| StoreError::Unavailable {
        context: format!("converted {}, but cannot rename it to {}: {e}", old.display(), kept.display()),
        source: Some(Box::new(e)),
    })
}

/// Copies every table; returns how many entries were written.
fn copy(path: &Path, ks: &TxKeyspace, p: &Parts) -> Result<u64, StoreError> {
    let db = Database::open(path).map_err(unavailable)?;
    let old = db.begin_read().map_err(unavailable)?;
    let mut out = Chunked { ks, txn: None, in_txn: 0, total: 0 };

    if let Some(table) = open(&old, LOG)? {
        for entry in table.iter().map_err(unavailable)? {
            let (key, value) = entry.map_err(unavailable)?;
            let (conv, sk) = key.value();
            out.insert(&p.log, key2(conv, sk), value.value())?;
        }
    }
    if let Some(table) = open(&old, PENDING)? {
        for entry in table.iter().map_err(unavailable)? {
            let (key, _) = entry.map_err(unavailable)?;
            let (conv, sk) = key.value();
            out.insert(&p.pending, key2(conv, sk), &[])?;
        }
    }
    if let Some(table) = open(&old, ARCHIVE_DUE)? {
        for entry in table.iter().map_err(unavailable)? {
            let (key, value) = entry.map_err(unavailable)?;
            let (from_ms, marks) = value.value();
            out.insert(&p.archive_due, key.value().as_bytes().to_vec(), &queue::due_bytes(from_ms, marks))?;
        }
    }
    if let Some(table) = open(&old, DOCS)? {
        for entry in table.iter().map_err(unavailable)? {
            let (key, value) = entry.map_err(unavailable)?;
            let (collection, id) = key.value();
            out.insert(&p.docs, key2(collection, id), value.value())?;
        }
    }
    for (definition, partition) in [(HOLDS, &p.holds), (EXPORT_JOBS, &p.export_jobs), (AUDIT, &p.audit)] {
        if let Some(table) = open(&old, definition)? {
            for entry in table.iter().map_err(unavailable)? {
                let (key, value) = entry.map_err(unavailable)?;
                out.insert(partition, key.value().as_bytes().to_vec(), value.value())?;
            }
        }
    }
    // The conversations, and their views worked out again (a store from before the views
    // existed has none to copy).
    let mut counts = InboxFlagsCount::default();
    if let Some(table) = open(&old, CONVERSATIONS)? {
        for entry in table.iter().map_err(unavailable)? {
            let (key, value) = entry.map_err(unavailable)?;
            let state: ConversationState = serde_json::from_slice(value.value()).map_err(|e| StoreError::corrupt(key.value(), e))?;
            out.insert(&p.conversations, key.value().as_bytes().to_vec(), value.value())?;
            out.insert(&p.activity, activity_key(&state).into_bytes(), &[])?;
            counts.add(state.inbox_flags());
        }
    }
    out.flush()?;
    let mut txn = ks.write_tx();
    set_inbox(&mut txn, p, counts.unread, counts.needs_attention);
    txn.commit().map_err(unavailable)?;
    Ok(out.total)
}

#[derive(Default)]
struct InboxFlagsCount {
    unread: u64,
    needs_attention: u64,
}

impl InboxFlagsCount {
    fn add(&mut self, flags: InboxFlags) {
        self.unread += u64::from(flags.unread);
        self.needs_attention += u64::from(flags.needs_attention);
    }
}

/// A table of the old file, or none if that version never made it.
fn open<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    definition: TableDefinition<'_, K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match txn.open_table(definition) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(unavailable(e)),
    }
}

/// Inserts committed every `CHUNK` writes; durable only at the end (`convert_if_present`).
struct Chunked<'a> {
    ks: &'a TxKeyspace,
    txn: Option<WriteTransaction<'a>>,
    in_txn: usize,
    total: u64,
}

impl Chunked<'_> {
    fn insert(&mut self, table: &Table, key: Vec<u8>, value: &[u8]) -> Result<(), StoreError> {
        let txn = self.txn.get_or_insert_with(|| self.ks.write_tx());
        table.insert(txn, key, value);
        self.in_txn += 1;
        self.total += 1;
        if self.in_txn >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if let Some(txn) = self.txn.take() {
            txn.commit().map_err(unavailable)?;
        }
        self.in_txn = 0;
        Ok(())
    }
}
