//! Embedded store for local runs: redb, a pure-Rust, crash-safe (ACID, copy-on-write B-tree)
//! key-value database in one file. Also keeps the local work queue: events logged but not yet handled.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use self::writer::Writer;
use super::{log_sort_key, Claim, Inserted, InboundRecord, LogItem, OutboundRecord, Page, PageRequest, Store, StoreError};
use crate::domain::conversation::ConversationState;
use crate::domain::export_job::{ExportJob, ExportJobId};
use crate::domain::ids::ConversationId;

/// (conversation, sort key) -> LogItem JSON.
const LOG: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("log");
/// conversation -> ConversationState JSON.
const CONVERSATIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("conversations");
/// (conversation, sort key) of inbound events not yet handled; the local stand-in for the stream.
const PENDING: TableDefinition<'_, (&str, &str), ()> = TableDefinition::new("pending");

/// redb's own default page cache.
pub const DEFAULT_CACHE_BYTES: usize = 1024 * 1024 * 1024;

mod export_jobs;
mod writer;

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: Writer,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmbeddedStore")
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { key: key.to_owned(), problem: e.to_string() }
}

impl EmbeddedStore {
    /// Opens (or creates) `dir/line-oa.redb`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache_size(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens with a page cache of `cache_bytes`. A one-pass reader (an export) gains nothing
    /// from a big cache, and redb fills it up to the limit: the CLI export uses a small one.
    pub fn open_with_cache_size(dir: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| unavailable(format!("cannot create {}: {e}", dir.display())))?;
        let db = Database::builder().set_cache_size(cache_bytes).create(dir.join("line-oa.redb")).map_err(unavailable)?;
        let txn = db.begin_write().map_err(unavailable)?;
        {
            txn.open_table(LOG).map_err(unavailable)?;
            txn.open_table(CONVERSATIONS).map_err(unavailable)?;
            txn.open_table(PENDING).map_err(unavailable)?;
            txn.open_table(export_jobs::EXPORT_JOBS).map_err(unavailable)?;
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

    /// Inbound events logged but not yet handled (after a crash or restart), oldest first.
    pub async fn pending(&self) -> Result<Vec<InboundRecord>, StoreError> {
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

    /// Marks an inbound event handled.
    pub async fn done(&self, record: &InboundRecord) -> Result<(), StoreError> {
        let conv = record.conversation.as_str().to_owned();
        let sk = log_sort_key(record.timestamp_ms, true, record.event_id.as_str());
        self.writer
            .write(move |txn| {
                txn.open_table(PENDING).map_err(unavailable)?.remove((conv.as_str(), sk.as_str())).map_err(unavailable)?;
                Ok(())
            })
            .await
    }

    /// Number of log items and conversations stored: what tests assert "nothing written" with.
    pub async fn item_count(&self) -> Result<u64, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let log = txn.open_table(LOG).map_err(unavailable)?.len().map_err(unavailable)?;
            let convs = txn.open_table(CONVERSATIONS).map_err(unavailable)?.len().map_err(unavailable)?;
            Ok(log + convs)
        })
        .await
    }

    async fn put_log_if_absent(&self, conv: String, sk: String, item: LogItem, pending: bool) -> Result<Option<LogItem>, StoreError> {
        let bytes = serde_json::to_vec(&item).map_err(|e| corrupt(&sk, e))?;
        let existing = self
            .writer
            .write(move |txn| {
                let mut log = txn.open_table(LOG).map_err(unavailable)?;
                let existing = log.get((conv.as_str(), sk.as_str())).map_err(unavailable)?.map(|v| v.value().to_vec());
                if existing.is_none() {
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
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn put_inbound(&self, record: &InboundRecord) -> Result<Inserted, StoreError> {
        let sk = log_sort_key(record.timestamp_ms, true, record.event_id.as_str());
        let existing = self.put_log_if_absent(record.conversation.to_string(), sk, LogItem::In(record.clone()), true).await?;
        Ok(if existing.is_some() { Inserted::Duplicate } else { Inserted::New })
    }

    async fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, StoreError> {
        let key = id.to_string();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
            let value = table.get(key.as_str()).map_err(unavailable)?;
            value.map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(&key, e))).transpose()
        })
        .await
    }

    async fn save_conversation(&self, state: &ConversationState) -> Result<(), StoreError> {
        let key = state.id.to_string();
        let expected = state.version;
        let mut next = state.clone();
        next.version += 1;
        let bytes = serde_json::to_vec(&next).map_err(|e| corrupt(&key, e))?;
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
                let stored: Option<ConversationState> = table
                    .get(key.as_str())
                    .map_err(unavailable)?
                    .map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(&key, e)))
                    .transpose()?;
                // A lost race is an answer, not a failure of the batch.
                if stored.map_or(0, |s| s.version) != expected {
                    return Ok(Err(StoreError::Conflict(key)));
                }
                table.insert(key.as_str(), bytes.as_slice()).map_err(unavailable)?;
                Ok(Ok(()))
            })
            .await?
    }

    async fn claim_outbound(&self, record: &OutboundRecord) -> Result<Claim, StoreError> {
        let sk = log_sort_key(record.timestamp_ms, false, &record.id);
        match self.put_log_if_absent(record.conversation.to_string(), sk.clone(), LogItem::Out(record.clone()), false).await? {
            None => Ok(Claim::Claimed),
            Some(LogItem::Out(existing)) => Ok(Claim::Exists(existing)),
            Some(LogItem::In(_)) => Err(corrupt(&sk, "an inbound item under an outbound key")),
        }
    }

    async fn finish_outbound(&self, record: &OutboundRecord) -> Result<(), StoreError> {
        let conv = record.conversation.to_string();
        let sk = log_sort_key(record.timestamp_ms, false, &record.id);
        let bytes = serde_json::to_vec(&LogItem::Out(record.clone())).map_err(|e| corrupt(&sk, e))?;
        self.writer
            .write(move |txn| {
                txn.open_table(LOG).map_err(unavailable)?.insert((conv.as_str(), sk.as_str()), bytes.as_slice()).map_err(unavailable)?;
                Ok(())
            })
            .await
    }

    async fn log(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        let conv = id.to_string();
        let limit = page.limit.max(1);
        let after = page.after.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(LOG).map_err(unavailable)?;
            let start = match &after {
                Some(sk) => Bound::Excluded((conv.as_str(), sk.as_str())),
                None => Bound::Included((conv.as_str(), "")),
            };
            let range = table.range::<(&str, &str)>((start, Bound::Unbounded)).map_err(unavailable)?;
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
        })
        .await
    }

    async fn conversation_ids(&self, page: &PageRequest) -> Result<Page<ConversationId>, StoreError> {
        let page = page.clone();
        self.blocking(move |db| export_jobs::conversation_ids(db, &page)).await
    }

    async fn save_export_job(&self, job: &ExportJob) -> Result<(), StoreError> {
        let id = job.id.to_string();
        let bytes = serde_json::to_vec(job).map_err(|e| corrupt(&id, e))?;
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(export_jobs::EXPORT_JOBS).map_err(unavailable)?;
                table.insert(id.as_str(), bytes.as_slice()).map_err(unavailable)?;
                Ok(())
            })
            .await
    }

    async fn export_job(&self, id: &ExportJobId) -> Result<Option<ExportJob>, StoreError> {
        let id = id.clone();
        self.blocking(move |db| export_jobs::export_job(db, &id)).await
    }
}
