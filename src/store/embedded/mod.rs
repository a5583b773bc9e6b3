//! Embedded store for local runs: fjall, a pure-Rust log-structured (LSM) key-value store in
//! one folder (`DATA_DIR/line-oa.fjall/`). A commit is an append to its journal and one
//! fsync, not a B-tree rewrite, and every write goes through one writer thread that folds
//! concurrent writes into one transaction (group commit, `writer.rs`): an acknowledged write
//! has reached the disk, and concurrent webhooks share one fsync. Reads take their own
//! snapshots and never wait for the writer. Every port has its own file here; the local
//! server's own duties too: the work queue (`queue.rs`) and the TTL sweep (`expiry.rs`).
//! A store of the redb versions (before 2026-12-02) is converted on first open (`redb_v1.rs`).
//!
//! Keys are `first \0 second` for two-part keys (conversation and sort key, collection and
//! id): the first part never holds a NUL (conversation ids and collection names are ours),
//! so byte order is the order of the pair, and `first \0` is the prefix of one conversation.
//! Values are the same JSON the redb store kept.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use fjall::{Config, PartitionCreateOptions, TxKeyspace, TxPartitionHandle};

use self::writer::Writer;
use super::StoreError;

/// The folder the store lives in, under the data folder.
pub const FOLDER_NAME: &str = "line-oa.fjall";
/// Held by the one process that has the store open (the local server, or one CLI command).
const LOCK_FILE_NAME: &str = "line-oa.lock";

/// Block cache. Memory under load is this plus the write buffers (`WRITE_BUFFER_BYTES`).
pub const DEFAULT_CACHE_BYTES: usize = 32 * 1024 * 1024;
/// Writes held in memory (and in the journal) before they are flushed to sorted files.
const WRITE_BUFFER_BYTES: u64 = 24 * 1024 * 1024;

mod audit;
mod conversations;
mod documents;
mod event_log;
mod expiry;
mod export_jobs;
mod hold;
mod queue;
mod redb_v1;
mod writer;

/// One partition (a sorted key space) per table.
pub(super) struct Parts {
    /// (conversation, sort key) -> LogItem JSON.
    log: TxPartitionHandle,
    /// (conversation, sort key) of inbound events not yet handled; the local stand-in for the stream.
    pending: TxPartitionHandle,
    /// conversation -> (earliest timestamp handled since its last archiving, marks so far), 16
    /// bytes: what the local archiver still owes. See `queue.rs`.
    archive_due: TxPartitionHandle,
    /// conversation -> ConversationState JSON.
    conversations: TxPartitionHandle,
    /// `activity_key(state)` -> empty; ascending order is newest activity first.
    activity: TxPartitionHandle,
    /// "unread" / "needs_attention" -> how many conversations are so, i64 little-endian.
    inbox: TxPartitionHandle,
    /// (collection, id) -> DocValue JSON.
    docs: TxPartitionHandle,
    /// conversation -> Hold JSON.
    holds: TxPartitionHandle,
    /// job id -> ExportJob JSON.
    export_jobs: TxPartitionHandle,
    /// record id -> AuditRecord JSON.
    audit: TxPartitionHandle,
    /// The store's own facts (what it was converted from).
    meta: TxPartitionHandle,
}

#[derive(Clone)]
pub struct EmbeddedStore {
    ks: TxKeyspace,
    parts: Arc<Parts>,
    // Dropped after `ks` and `parts`: the writer thread, which holds the last handles, is
    // joined, so the store has let go of its files before the last handle's drop returns.
    writer: Writer,
    _lock: Arc<File>,
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

/// `first \0 second`.
fn key2(first: &str, second: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(first.len() + 1 + second.len());
    key.extend_from_slice(first.as_bytes());
    key.push(0);
    key.extend_from_slice(second.as_bytes());
    key
}

/// The prefix of every key whose first part is `first`.
fn prefix(first: &str) -> Vec<u8> {
    key2(first, "")
}

/// Sorts after every key whose first part is `first`, before the next first part.
fn after_prefix(first: &str) -> Vec<u8> {
    let mut key = first.as_bytes().to_vec();
    key.push(1);
    key
}

fn split2(key: &[u8]) -> Result<(&str, &str), StoreError> {
    let text = std::str::from_utf8(key).map_err(|e| corrupt("a key", e))?;
    text.split_once('\0').ok_or_else(|| StoreError::corrupt_because(text, "not a two-part key"))
}

fn text(key: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(key).map_err(|e| corrupt("a key", e))
}

impl EmbeddedStore {
    /// Opens (or creates) `dir/line-oa.fjall`, converting a redb store found in `dir` first.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache_size(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens with a block cache of `cache_bytes`. A one-pass reader (an export) gains nothing
    /// from a big cache: the CLI uses a small one.
    pub fn open_with_cache_size(dir: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Unavailable { context: format!("cannot create {}: {e}", dir.display()), source: Some(Box::new(e)) })?;
        let lock = lock(dir)?;
        let ks = Config::new(dir.join(FOLDER_NAME))
            .cache_size(cache_bytes as u64)
            .max_write_buffer_size(WRITE_BUFFER_BYTES)
            .open_transactional()
            .map_err(unavailable)?;
        let open = |name: &str| ks.open_partition(name, PartitionCreateOptions::default()).map_err(unavailable);
        let parts = Arc::new(Parts {
            log: open("log")?,
            pending: open("pending")?,
            archive_due: open("archive_due")?,
            conversations: open("conversations")?,
            activity: open("activity")?,
            inbox: open("inbox")?,
            docs: open("docs")?,
            holds: open("holds")?,
            export_jobs: open("export_jobs")?,
            audit: open("audit")?,
            meta: open("meta")?,
        });
        redb_v1::convert_if_present(dir, &ks, &parts)?;
        let writer = Writer::start(ks.clone(), parts.clone());
        Ok(Self { ks, parts, writer, _lock: Arc::new(lock) })
    }

    /// A read that scans: off the async executor.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&TxKeyspace, &Parts) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (ks, parts) = (self.ks.clone(), self.parts.clone());
        tokio::task::spawn_blocking(move || f(&ks, &parts)).await.map_err(unavailable)?
    }

    /// Number of log items and conversations stored: what tests assert "nothing written" with.
    pub async fn item_count(&self) -> Result<u64, StoreError> {
        self.blocking(|ks, p| {
            let snapshot = ks.read_tx();
            let log = snapshot.len(&p.log).map_err(unavailable)?;
            let conversations = snapshot.len(&p.conversations).map_err(unavailable)?;
            Ok((log + conversations) as u64)
        })
        .await
    }
}

/// One process at a time: the local server keeps work in flight in memory (the pending events
/// it was handed), so a second one, or a CLI command writing beside it, is refused. The OS
/// drops the lock when the process ends, however it ends.
fn lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE_NAME);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Unavailable { context: format!("cannot open {}: {e}", path.display()), source: Some(Box::new(e)) })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(StoreError::unavailable_because(format!("the store in {} is already open in another process", dir.display())))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(StoreError::Unavailable { context: format!("cannot lock {}: {e}", path.display()), source: Some(Box::new(e)) })
        }
    }
}
