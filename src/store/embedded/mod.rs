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
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use fjall::{Config, PartitionCreateOptions, ReadTransaction, TxKeyspace, TxPartitionHandle, UserValue, WriteTransaction};

use self::writer::Writer;
use super::StoreError;

/// The folder the store lives in, under the data folder.
pub const FOLDER_NAME: &str = "line-oa.fjall";
/// Held by the one process that has the store open (the local server, or one CLI command).
const LOCK_FILE_NAME: &str = "line-oa.lock";

/// Block cache. Memory under load is this plus the write buffers (`DEFAULT_WRITE_BUFFER_BYTES`).
/// 8 MiB holds a shop's hot data (conversation states, the inbox, the newest log items); under
/// the bench's load, 32 + 24 MiB took the server's peak from 65 to 87–102 MiB with no gain in
/// throughput (README, Benchmarks). `STORE_CACHE_MIB` sets it.
pub const DEFAULT_CACHE_BYTES: u64 = 8 * 1024 * 1024;
/// Writes held in memory (and in the journal) before they are flushed to sorted files.
/// `STORE_WRITE_BUFFER_MIB` sets it.
pub const DEFAULT_WRITE_BUFFER_BYTES: u64 = 8 * 1024 * 1024;

/// What the store may hold in memory: its block cache and its write buffers (memtables). Both
/// fill under load, so they are most of the server's memory beyond the runtime's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreMemory {
    pub cache_bytes: u64,
    pub write_buffer_bytes: u64,
}

impl Default for StoreMemory {
    fn default() -> Self {
        Self { cache_bytes: DEFAULT_CACHE_BYTES, write_buffer_bytes: DEFAULT_WRITE_BUFFER_BYTES }
    }
}

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

/// The tables. Two fjall partitions hold them all (the log, and everything else), each table
/// one key range under a tag byte: every partition costs files and fsyncs when a store is
/// created, and the log is the only big table.
pub(super) struct Parts {
    /// (conversation, sort key) -> LogItem JSON.
    log: Table,
    /// (conversation, sort key) of inbound events not yet handled; the local stand-in for the stream.
    pending: Table,
    /// conversation -> (earliest timestamp handled since its last archiving, marks so far), 16
    /// bytes: what the local archiver still owes. See `queue.rs`.
    archive_due: Table,
    /// conversation -> ConversationState JSON.
    conversations: Table,
    /// `activity_key(state)` -> empty; ascending order is newest activity first.
    activity: Table,
    /// "unread" / "needs_attention" -> how many conversations are so, i64 little-endian.
    inbox: Table,
    /// (collection, id) -> DocValue JSON.
    docs: Table,
    /// conversation -> Hold JSON.
    holds: Table,
    /// job id -> ExportJob JSON.
    export_jobs: Table,
    /// record id -> AuditRecord JSON.
    audit: Table,
    /// The store's own facts (what it was converted from).
    meta: Table,
}

/// One table: the keys under one tag byte of a partition. Keys given and returned are the
/// table's own, without the tag.
pub(super) struct Table {
    partition: TxPartitionHandle,
    tag: u8,
}

type Entry = (Vec<u8>, UserValue);

impl Table {
    fn key(&self, key: impl AsRef<[u8]>) -> Vec<u8> {
        let key = key.as_ref();
        let mut tagged = Vec::with_capacity(1 + key.len());
        tagged.push(self.tag);
        tagged.extend_from_slice(key);
        tagged
    }

    fn bounds(&self, range: (Bound<Vec<u8>>, Bound<Vec<u8>>)) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let tag = |b: Bound<Vec<u8>>, unbounded: Bound<Vec<u8>>| match b {
            Bound::Included(k) => Bound::Included(self.key(k)),
            Bound::Excluded(k) => Bound::Excluded(self.key(k)),
            Bound::Unbounded => unbounded,
        };
        (tag(range.0, Bound::Included(vec![self.tag])), tag(range.1, Bound::Excluded(vec![self.tag + 1])))
    }

    fn untag(entry: fjall::Result<(UserValue, UserValue)>) -> Result<Entry, StoreError> {
        let (key, value) = entry.map_err(unavailable)?;
        Ok((key[1..].to_vec(), value))
    }

    /// The newest committed value, outside any transaction.
    fn latest(&self, key: impl AsRef<[u8]>) -> Result<Option<UserValue>, StoreError> {
        self.partition.get(self.key(key)).map_err(unavailable)
    }

    fn read(&self, snapshot: &ReadTransaction, key: impl AsRef<[u8]>) -> Result<Option<UserValue>, StoreError> {
        snapshot.get(&self.partition, self.key(key)).map_err(unavailable)
    }

    fn range<'a>(
        &'a self,
        snapshot: &'a ReadTransaction,
        range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
    ) -> impl DoubleEndedIterator<Item = Result<Entry, StoreError>> + 'a {
        snapshot.range(&self.partition, self.bounds(range)).map(Self::untag)
    }

    fn all<'a>(&'a self, snapshot: &'a ReadTransaction) -> impl DoubleEndedIterator<Item = Result<Entry, StoreError>> + 'a {
        self.range(snapshot, (Bound::Unbounded, Bound::Unbounded))
    }

    fn get(&self, txn: &WriteTransaction<'_>, key: impl AsRef<[u8]>) -> Result<Option<UserValue>, StoreError> {
        txn.get(&self.partition, self.key(key)).map_err(unavailable)
    }

    fn contains(&self, txn: &WriteTransaction<'_>, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        txn.contains_key(&self.partition, self.key(key)).map_err(unavailable)
    }

    fn insert(&self, txn: &mut WriteTransaction<'_>, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        txn.insert(&self.partition, self.key(key), value.as_ref());
    }

    fn remove(&self, txn: &mut WriteTransaction<'_>, key: impl AsRef<[u8]>) {
        txn.remove(&self.partition, self.key(key));
    }

    /// Every entry whose key starts with `prefix`, as the transaction sees them.
    fn prefixed(&self, txn: &WriteTransaction<'_>, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        txn.prefix(&self.partition, self.key(prefix)).map(Self::untag).collect()
    }
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
    let text = text(key)?;
    text.split_once('\0').ok_or_else(|| StoreError::corrupt_because(text, "not a two-part key"))
}

fn text(key: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(key).map_err(|e| corrupt("a key", e))
}

impl EmbeddedStore {
    /// Opens (or creates) `dir/line-oa.fjall`, converting a redb store found in `dir` first.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, StoreMemory::default())
    }

    /// Opens with the memory `memory` allows.
    pub fn open_with(dir: &Path, memory: StoreMemory) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Unavailable { context: format!("cannot create {}: {e}", dir.display()), source: Some(Box::new(e)) })?;
        let lock = lock(dir)?;
        let ks = Config::new(dir.join(FOLDER_NAME))
            .cache_size(memory.cache_bytes)
            .max_write_buffer_size(memory.write_buffer_bytes)
            .open_transactional()
            .map_err(unavailable)?;
        let open = |name: &str| ks.open_partition(name, PartitionCreateOptions::default()).map_err(unavailable);
        let (log, state) = (open("log")?, open("state")?);
        let table = |partition: &TxPartitionHandle, tag: u8| Table { partition: partition.clone(), tag };
        let parts = Arc::new(Parts {
            log: table(&log, b'l'),
            pending: table(&state, b'p'),
            archive_due: table(&state, b'a'),
            conversations: table(&state, b'c'),
            activity: table(&state, b't'),
            inbox: table(&state, b'i'),
            docs: table(&state, b'd'),
            holds: table(&state, b'h'),
            export_jobs: table(&state, b'e'),
            audit: table(&state, b'u'),
            meta: table(&state, b'm'),
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
            let mut count = 0;
            for table in [&p.log, &p.conversations] {
                for entry in table.all(&snapshot) {
                    entry?;
                    count += 1;
                }
            }
            Ok(count)
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
