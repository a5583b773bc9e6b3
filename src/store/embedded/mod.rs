//! Embedded store for local runs: redb, a pure-Rust, crash-safe (ACID, copy-on-write B-tree)
//! key-value database in one file. Every port has its own file here; the local server's own
//! duties too: the work queue (`queue.rs`: events logged but not yet handled, and what the
//! archiver owes) and the TTL sweep (`expiry.rs`).

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition};

use self::writer::Writer;
use super::StoreError;

/// (conversation, sort key) -> LogItem JSON.
const LOG: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("log");
/// (conversation, sort key) of inbound events not yet handled; the local stand-in for the stream.
const PENDING: TableDefinition<'_, (&str, &str), ()> = TableDefinition::new("pending");
/// conversation -> (earliest timestamp handled since its last archiving, marks so far): what
/// the local archiver still owes. See `queue.rs`.
const ARCHIVE_DUE: TableDefinition<'_, &str, (i64, u64)> = TableDefinition::new("archive_due");

/// redb's own default page cache.
pub const DEFAULT_CACHE_BYTES: usize = 1024 * 1024 * 1024;

mod audit;
mod conversations;
mod documents;
mod event_log;
mod expiry;
mod export_jobs;
mod hold;
mod queue;
mod writer;

#[derive(Clone)]
pub struct EmbeddedStore {
    // Dropped before `writer`, whose thread holds the last handle and lets go of the file
    // before the last store handle's drop returns.
    db: Arc<Database>,
    writer: Writer,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmbeddedStore")
    }
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::unavailable(e)
}

fn corrupt(key: &str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::corrupt(key, e)
}

impl EmbeddedStore {
    /// Opens (or creates) `dir/line-oa.redb`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache_size(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens with a page cache of `cache_bytes`. A one-pass reader (an export) gains nothing
    /// from a big cache, and redb fills it up to the limit: the CLI export uses a small one.
    pub fn open_with_cache_size(dir: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Unavailable { context: format!("cannot create {}: {e}", dir.display()), source: Some(Box::new(e)) })?;
        let db = Database::builder().set_cache_size(cache_bytes).create(dir.join("line-oa.redb")).map_err(unavailable)?;
        let txn = db.begin_write().map_err(unavailable)?;
        {
            txn.open_table(LOG).map_err(unavailable)?;
            txn.open_table(conversations::CONVERSATIONS).map_err(unavailable)?;
            txn.open_table(PENDING).map_err(unavailable)?;
            txn.open_table(ARCHIVE_DUE).map_err(unavailable)?;
            txn.open_table(export_jobs::EXPORT_JOBS).map_err(unavailable)?;
            txn.open_table(documents::DOCS).map_err(unavailable)?;
            txn.open_table(hold::HOLDS).map_err(unavailable)?;
            txn.open_table(audit::AUDIT).map_err(unavailable)?;
            conversations::open_indexes(&txn)?;
        }
        txn.commit().map_err(unavailable)?;
        let db = Arc::new(db);
        Ok(Self { writer: Writer::start(db.clone()), db })
    }

    /// redb is synchronous: run each transaction off the async executor.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db)).await.map_err(unavailable)?
    }

    /// Number of log items and conversations stored: what tests assert "nothing written" with.
    pub async fn item_count(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let log = txn.open_table(LOG).map_err(unavailable)?.len().map_err(unavailable)?;
        let convs = txn.open_table(conversations::CONVERSATIONS).map_err(unavailable)?.len().map_err(unavailable)?;
        Ok(log + convs)
    }
}
