//! Embedded store for local runs: redb, a pure-Rust, crash-safe (ACID, copy-on-write B-tree)
//! key-value database in one file. Also keeps the local work queue: events logged but not yet handled.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle};

use self::writer::Writer;
use super::{
    log_sort_key, Claim, Doc, Hold, InboundRecord, InboxCounts, Inserted, LogItem, OutboundRecord, Page, PageRequest, Store, StoreError,
};
use crate::domain::conversation::ConversationState;
use crate::domain::export_job::{ExportJob, ExportJobId};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItemRef;

/// (conversation, sort key) -> LogItem JSON.
const LOG: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("log");
/// conversation -> ConversationState JSON.
const CONVERSATIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("conversations");
/// (conversation, sort key) of inbound events not yet handled; the local stand-in for the stream.
const PENDING: TableDefinition<'_, (&str, &str), ()> = TableDefinition::new("pending");
/// `activity_key(state)` -> (); ascending order is newest activity first.
const ACTIVITY: TableDefinition<'_, &str, ()> = TableDefinition::new("activity");
/// (collection, id) -> DocValue JSON.
const DOCS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("docs");
/// conversation -> (earliest timestamp handled since its last archiving, marks so far): what
/// the local archiver still owes. See `queue.rs`.
const ARCHIVE_DUE: TableDefinition<'_, &str, (i64, u64)> = TableDefinition::new("archive_due");

/// "unread" / "needs_attention" -> how many conversations are so (spam not counted); kept in
/// the same transaction as every conversation write.
const INBOX: TableDefinition<'_, &str, i64> = TableDefinition::new("inbox");

#[derive(serde::Serialize, serde::Deserialize)]
struct DocValue {
    body: String,
    version: u64,
}

const INBOX_UNREAD: &str = "unread";
const INBOX_ATTENTION: &str = "needs_attention";

/// Inverted time first, so iterating in key order lists the newest activity first.
const MAX_MS: i64 = 9_999_999_999_999;

fn activity_key(state: &ConversationState) -> String {
    format!("{:013}#{}", MAX_MS - state.activity_ms().clamp(0, MAX_MS), state.id)
}

fn activity_ms_of_key(key: &str) -> Option<i64> {
    key.split_once('#').and_then(|(inverted, _)| inverted.parse::<i64>().ok()).map(|i| MAX_MS - i)
}

mod audit;
mod expiry;
mod hold;
/// redb's own default page cache.
pub const DEFAULT_CACHE_BYTES: usize = 1024 * 1024 * 1024;

mod export_jobs;
mod queue;
mod writer;

pub use self::expiry::Expired;
pub use self::queue::ArchiveDue;

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
            txn.open_table(ARCHIVE_DUE).map_err(unavailable)?;
            txn.open_table(export_jobs::EXPORT_JOBS).map_err(unavailable)?;
            txn.open_table(DOCS).map_err(unavailable)?;
            // A store from before the conversation list existed: index what it has, once.
            let mut activity = txn.open_table(ACTIVITY).map_err(unavailable)?;
            if activity.is_empty().map_err(unavailable)? {
                let conversations = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
                for entry in conversations.iter().map_err(unavailable)? {
                    let (key, value) = entry.map_err(unavailable)?;
                    let state: ConversationState = serde_json::from_slice(value.value()).map_err(|e| corrupt(key.value(), e))?;
                    activity.insert(activity_key(&state).as_str(), ()).map_err(unavailable)?;
                }
            }
            txn.open_table(hold::HOLDS).map_err(unavailable)?;
            txn.open_table(audit::AUDIT).map_err(unavailable)?;
            // A store from before the inbox counts: count what it has, once.
            let inbox_is_new = txn.list_tables().map_err(unavailable)?.all(|t| t.name() != INBOX.name());
            let mut inbox = txn.open_table(INBOX).map_err(unavailable)?;
            if inbox_is_new {
                let conversations = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
                let (mut unread, mut attention) = (0, 0);
                for entry in conversations.iter().map_err(unavailable)? {
                    let (key, value) = entry.map_err(unavailable)?;
                    let state: ConversationState = serde_json::from_slice(value.value()).map_err(|e| corrupt(key.value(), e))?;
                    let flags = state.inbox_flags();
                    unread += i64::from(flags.unread);
                    attention += i64::from(flags.needs_attention);
                }
                inbox.insert(INBOX_UNREAD, unread).map_err(unavailable)?;
                inbox.insert(INBOX_ATTENTION, attention).map_err(unavailable)?;
            }
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

    /// Export jobs queued or running, oldest first: what a restart of the local server resumes.
    pub async fn unfinished_export_jobs(&self) -> Result<Vec<ExportJob>, StoreError> {
        self.blocking(export_jobs::unfinished_export_jobs).await
    }

    /// Number of log items and conversations stored: what tests assert "nothing written" with.
    pub async fn item_count(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let log = txn.open_table(LOG).map_err(unavailable)?.len().map_err(unavailable)?;
        let convs = txn.open_table(CONVERSATIONS).map_err(unavailable)?.len().map_err(unavailable)?;
        Ok(log + convs)
    }

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
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn put_inbound(&self, record: &InboundRecord) -> Result<Inserted, StoreError> {
        let sk = log_sort_key(record.timestamp_ms, true, record.event_id.as_str());
        let existing = self.put_log_if_absent(record.conversation.to_string(), sk, LogItemRef::In(record), true).await?;
        Ok(if existing.is_some() { Inserted::Duplicate } else { Inserted::New })
    }

    async fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, StoreError> {
        // Read in place: a point read is a few microseconds (MVCC, never waits for the writer),
        // far less than a hop to a blocking thread.
        let key = id.as_str();
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
        let value = table.get(key).map_err(unavailable)?;
        value.map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(key, e))).transpose()
    }

    async fn save_conversation(&self, state: &ConversationState) -> Result<(), StoreError> {
        let key = state.id.to_string();
        let expected = state.version;
        let mut next = state.clone();
        next.version += 1;
        let bytes = serde_json::to_vec(&next).map_err(|e| corrupt(&key, e))?;
        let next_for_index = next;
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
                let stored: Option<ConversationState> = table
                    .get(key.as_str())
                    .map_err(unavailable)?
                    .map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(&key, e)))
                    .transpose()?;
                // A lost race is an answer, not a failure of the batch.
                if stored.as_ref().map_or(0, |s| s.version) != expected {
                    return Ok(Err(StoreError::Conflict(key)));
                }
                table.insert(key.as_str(), bytes.as_slice()).map_err(unavailable)?;
                let mut activity = txn.open_table(ACTIVITY).map_err(unavailable)?;
                if let Some(old) = &stored {
                    activity.remove(activity_key(old).as_str()).map_err(unavailable)?;
                }
                activity.insert(activity_key(&next_for_index).as_str(), ()).map_err(unavailable)?;
                let (before, after) =
                    (stored.as_ref().map(ConversationState::inbox_flags).unwrap_or_default(), next_for_index.inbox_flags());
                if before != after {
                    let mut inbox = txn.open_table(INBOX).map_err(unavailable)?;
                    for (key, was, is) in
                        [(INBOX_UNREAD, before.unread, after.unread), (INBOX_ATTENTION, before.needs_attention, after.needs_attention)]
                    {
                        if was != is {
                            let count = inbox.get(key).map_err(unavailable)?.map_or(0, |v| v.value());
                            inbox.insert(key, count + if is { 1 } else { -1 }).map_err(unavailable)?;
                        }
                    }
                }
                Ok(Ok(()))
            })
            .await?
    }

    async fn claim_outbound(&self, record: &OutboundRecord) -> Result<Claim, StoreError> {
        let sk = log_sort_key(record.timestamp_ms, false, &record.id);
        match self.put_log_if_absent(record.conversation.to_string(), sk.clone(), LogItemRef::Out(record), false).await? {
            None => Ok(Claim::Claimed),
            Some(LogItem::Out(existing)) => Ok(Claim::Exists(existing)),
            Some(LogItem::In(_)) => Err(corrupt(&sk, "an inbound item under an outbound key")),
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
        // In place, like `conversation`: a page is one range scan of one conversation.
        let conv = id.as_str();
        let limit = page.limit.max(1);
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(LOG).map_err(unavailable)?;
        let start = match &page.after {
            Some(sk) => Bound::Excluded((conv, sk.as_str())),
            None => Bound::Included((conv, "")),
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
    }

    async fn log_newest(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError> {
        let conv = id.as_str();
        let limit = page.limit.max(1);
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(LOG).map_err(unavailable)?;
        let end = match &page.after {
            Some(sk) => Bound::Excluded((conv, sk.as_str())),
            // Every sort key starts with "MSG#": "MSG$" sorts after all of them.
            None => Bound::Excluded((conv, "MSG$")),
        };
        let range = table.range::<(&str, &str)>((Bound::Included((conv, "")), end)).map_err(unavailable)?;
        let mut items = Vec::new();
        let mut last_key = None;
        for entry in range.rev() {
            let (key, value) = entry.map_err(unavailable)?;
            let (_, sk) = key.value();
            if items.len() == limit {
                return Ok(Page { items, next: last_key });
            }
            items.push(serde_json::from_slice(value.value()).map_err(|e| corrupt(sk, e))?);
            last_key = Some(sk.to_owned());
        }
        Ok(Page { items, next: None })
    }

    async fn inbox(&self) -> Result<InboxCounts, StoreError> {
        let txn = self.db.begin_read().map_err(unavailable)?;
        let inbox = txn.open_table(INBOX).map_err(unavailable)?;
        let count = |key| inbox.get(key).map(|v| v.map_or(0, |v| v.value().max(0) as u64)).map_err(unavailable);
        let latest = txn.open_table(ACTIVITY).map_err(unavailable)?.first().map_err(unavailable)?.map(|(key, _)| key.value().to_owned());
        Ok(InboxCounts {
            unread: count(INBOX_UNREAD)?,
            needs_attention: count(INBOX_ATTENTION)?,
            latest_activity_ms: latest.as_deref().and_then(activity_ms_of_key),
        })
    }

    fn activity_cursor(&self, state: &ConversationState) -> String {
        activity_key(state)
    }

    async fn conversations_by_activity(&self, page: &PageRequest) -> Result<Page<ConversationState>, StoreError> {
        let limit = page.limit.max(1);
        let after = page.after.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let activity = txn.open_table(ACTIVITY).map_err(unavailable)?;
            let conversations = txn.open_table(CONVERSATIONS).map_err(unavailable)?;
            let start = match &after {
                Some(key) => Bound::Excluded(key.as_str()),
                None => Bound::Unbounded,
            };
            let mut items = Vec::new();
            let mut last = None;
            for entry in activity.range::<&str>((start, Bound::Unbounded)).map_err(unavailable)? {
                let (key, _) = entry.map_err(unavailable)?;
                if items.len() == limit {
                    return Ok(Page { items, next: last });
                }
                let key = key.value();
                let conv = key.split_once('#').map_or("", |(_, c)| c);
                if let Some(value) = conversations.get(conv).map_err(unavailable)? {
                    items.push(serde_json::from_slice(value.value()).map_err(|e| corrupt(conv, e))?);
                }
                last = Some(key.to_owned());
            }
            Ok(Page { items, next: None })
        })
        .await
    }

    async fn doc(&self, collection: &str, id: &str) -> Result<Option<Doc>, StoreError> {
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(DOCS).map_err(unavailable)?;
            let value = table.get((collection.as_str(), id.as_str())).map_err(unavailable)?;
            value
                .map(|v| {
                    let d: DocValue = serde_json::from_slice(v.value()).map_err(|e| corrupt(&id, e))?;
                    Ok(Doc { id: id.clone(), body: d.body, version: d.version })
                })
                .transpose()
        })
        .await
    }

    async fn put_doc(&self, collection: &str, doc: &Doc) -> Result<(), StoreError> {
        let (collection, id, expected) = (collection.to_owned(), doc.id.clone(), doc.version);
        let bytes = serde_json::to_vec(&DocValue { body: doc.body.clone(), version: expected + 1 }).map_err(|e| corrupt(&id, e))?;
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(DOCS).map_err(unavailable)?;
                let key = (collection.as_str(), id.as_str());
                let stored = match table.get(key).map_err(unavailable)? {
                    Some(v) => serde_json::from_slice::<DocValue>(v.value()).map_err(|e| corrupt(&id, e))?.version,
                    None => 0,
                };
                if stored != expected {
                    return Ok(Err(StoreError::Conflict(id.clone())));
                }
                table.insert(key, bytes.as_slice()).map_err(unavailable)?;
                Ok(Ok(()))
            })
            .await?
    }

    async fn delete_doc(&self, collection: &str, id: &str, version: u64) -> Result<(), StoreError> {
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(DOCS).map_err(unavailable)?;
                let key = (collection.as_str(), id.as_str());
                let stored = match table.get(key).map_err(unavailable)? {
                    Some(v) => Some(serde_json::from_slice::<DocValue>(v.value()).map_err(|e| corrupt(&id, e))?.version),
                    None => None,
                };
                if stored != Some(version) {
                    return Ok(Err(StoreError::Conflict(id.clone())));
                }
                table.remove(key).map_err(unavailable)?;
                Ok(Ok(()))
            })
            .await?
    }

    async fn docs(&self, collection: &str, page: &PageRequest) -> Result<Page<Doc>, StoreError> {
        let collection = collection.to_owned();
        let limit = page.limit.max(1);
        let after = page.after.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(DOCS).map_err(unavailable)?;
            let start = match &after {
                Some(id) => Bound::Excluded((collection.as_str(), id.as_str())),
                None => Bound::Included((collection.as_str(), "")),
            };
            let mut items = Vec::new();
            let mut last = None;
            for entry in table.range::<(&str, &str)>((start, Bound::Unbounded)).map_err(unavailable)? {
                let (key, value) = entry.map_err(unavailable)?;
                let (c, id) = key.value();
                if c != collection {
                    break;
                }
                if items.len() == limit {
                    return Ok(Page { items, next: last });
                }
                let d: DocValue = serde_json::from_slice(value.value()).map_err(|e| corrupt(id, e))?;
                items.push(Doc { id: id.to_owned(), body: d.body, version: d.version });
                last = Some(id.to_owned());
            }
            Ok(Page { items, next: None })
        })
        .await
    }

    async fn set_hold(&self, hold: &Hold) -> Result<usize, StoreError> {
        self.put_hold(hold.clone()).await
    }

    async fn release_hold(&self, conversation: &ConversationId, retention_days: u32) -> Result<usize, StoreError> {
        self.delete_hold(conversation.clone(), retention_days).await
    }

    async fn hold(&self, conversation: &ConversationId) -> Result<Option<Hold>, StoreError> {
        self.read_hold(conversation.clone()).await
    }

    async fn holds(&self) -> Result<Vec<Hold>, StoreError> {
        self.list_holds().await
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
