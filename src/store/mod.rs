//! The storage ports, one per concern, and what they share: the event log, conversations,
//! documents, legal holds, export jobs and the audit trail, which both adapters implement
//! (`embedded`: fjall, local runs; `dynamodb`: Lambda), and the local server's own duties that
//! only the embedded store has (work queue, archive queue, TTL sweep). `Store` is all the
//! shared ones at once, for the service that uses them all. One contract suite per port runs
//! for every adapter (`tests/it/contract/`).

use async_trait::async_trait;

use crate::domain::audit::AuditRecord;
use crate::domain::conversation::ConversationState;
use crate::domain::export_job::{ExportJob, ExportJobId};
pub use crate::domain::hold::Hold;
use crate::domain::ids::ConversationId;
pub use crate::domain::log::{log_cursor_from, log_sort_key, InboundRecord, LogItem, OutboundRecord, OutboundStatus, SendMethod};

pub mod dynamodb;
pub mod embedded;
mod error;

pub use self::error::{BoxError, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New,
    /// Already logged: a redelivery or a duplicate. Acknowledge, never act again.
    Duplicate,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    Claimed,
    /// Someone claimed this reply before; here is what they recorded.
    Exists(OutboundRecord),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    /// Opaque cursor from the previous page's `next`.
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The inbox at a glance: what the console's idle poll reads instead of the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct InboxCounts {
    /// Conversations with an inbound message newer than staff's last read (spam not counted).
    pub unread: u64,
    pub needs_attention: u64,
    /// The newest activity of any conversation: a poll that sees it unchanged need not re-read the list.
    pub latest_activity_ms: Option<i64>,
}

/// A small versioned JSON document of the operator side: the tag registry, a canned reply, a
/// note, the settings. Collections are few and small; the log never goes here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub id: String,
    /// JSON text.
    pub body: String,
    /// Optimistic-concurrency version; 0 = not stored yet.
    pub version: u64,
}

/// Collection names, in one place so both adapters and the service agree.
pub mod collections {
    pub const META: &str = "meta";
    pub const CANNED: &str = "canned";
    /// Media downloads that failed, to be tried again (`domain::media::MediaRetry`).
    pub const MEDIA_RETRY: &str = "media-retry";
    /// The archive backfill sweep's state: its cursor and lease (`service::archive::backfill`).
    pub const ARCHIVE_BACKFILL: &str = "archive-backfill";
    /// Notes of one conversation: `notes:<conversation>`.
    pub fn notes(conversation: &crate::domain::ids::ConversationId) -> String {
        format!("notes:{conversation}")
    }
}

/// The conversation log: inbound events and our messages, each written once, read in time order.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Logs an inbound event once; the conditional write that decides idempotency.
    async fn put_inbound(&self, record: &InboundRecord) -> Result<Inserted, StoreError>;

    /// Claims the right to send this outbound (status `Sending`), once.
    async fn claim_outbound(&self, record: &OutboundRecord) -> Result<Claim, StoreError>;

    /// Records the outcome of an outbound: one claimed here, or an automatic reply claimed in
    /// its conversation's state (`ConversationState::replies`).
    async fn finish_outbound(&self, record: &OutboundRecord) -> Result<(), StoreError>;

    /// Our message `id` logged at `timestamp_ms` (`…#O#<id>`), as last written: what a handler
    /// that finds a reply claimed reads to know whether its outcome is recorded.
    async fn outbound(&self, conversation: &ConversationId, timestamp_ms: i64, id: &str) -> Result<Option<OutboundRecord>, StoreError>;

    /// One conversation's log, oldest first, paged.
    async fn log(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError>;

    /// The same log newest first: `page.after` is the sort key to go on *before* (older), so a
    /// long conversation opens at its end and scrolls back.
    async fn log_newest(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError>;

    /// Every conversation with a log, paged, each once, in no promised order. DynamoDB lists
    /// the conversations that have a state item (written when their first event is handled).
    async fn conversation_ids(&self, page: &PageRequest) -> Result<Page<ConversationId>, StoreError>;
}

/// Conversation state, versioned, and the views of it the console lists.
#[async_trait]
pub trait Conversations: Send + Sync {
    async fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, StoreError>;

    /// Saves `state` if the stored version is still `state.version`; stores version + 1.
    async fn save_conversation(&self, state: &ConversationState) -> Result<(), StoreError>;

    /// Unread and needs-attention counts, kept with every conversation write, and the newest
    /// activity: a few small reads however many conversations there are.
    async fn inbox(&self) -> Result<InboxCounts, StoreError>;

    /// The cursor that resumes `conversations_by_activity` right after `state`.
    fn activity_cursor(&self, state: &ConversationState) -> String;

    /// Conversations, newest activity first, paged.
    async fn conversations_by_activity(&self, page: &PageRequest) -> Result<Page<ConversationState>, StoreError>;
}

/// The operator side's small documents (`Doc`), by collection, with optimistic versions.
#[async_trait]
pub trait Documents: Send + Sync {
    async fn doc(&self, collection: &str, id: &str) -> Result<Option<Doc>, StoreError>;

    /// Writes `doc` if the stored version is still `doc.version` (0 = must not exist); stores version + 1.
    async fn put_doc(&self, collection: &str, doc: &Doc) -> Result<(), StoreError>;

    /// Deletes a document if the stored version is still `version`; `Conflict` otherwise (or if absent).
    async fn delete_doc(&self, collection: &str, id: &str, version: u64) -> Result<(), StoreError>;

    /// A collection's documents in id order, paged.
    async fn docs(&self, collection: &str, page: &PageRequest) -> Result<Page<Doc>, StoreError>;
}

/// Legal hold (issue #5). While a conversation is held, none of its log items has a TTL,
/// including items logged or updated during the hold. Both writes are idempotent: re-running
/// one after a partial failure finishes the job.
#[async_trait]
pub trait Holds: Send + Sync {
    /// Puts a conversation on hold (or replaces the reason) and removes the TTL from every one
    /// of its log items. Returns how many items lost their TTL.
    async fn set_hold(&self, hold: &Hold) -> Result<usize, StoreError>;

    /// Ends a hold and gives every item without a TTL its TTL back: the item's own time plus
    /// `retention_days`. `now_ms` dates the release (the DynamoDB adapter keeps a marker of it).
    /// Returns how many items got a TTL.
    async fn release_hold(&self, conversation: &ConversationId, retention_days: u32, now_ms: i64) -> Result<usize, StoreError>;

    async fn hold(&self, conversation: &ConversationId) -> Result<Option<Hold>, StoreError>;

    /// Every conversation on hold.
    async fn holds(&self) -> Result<Vec<Hold>, StoreError>;
}

/// Export job records (issue #5): the runner's progress and outcome.
#[async_trait]
pub trait ExportJobStore: Send + Sync {
    /// Creates or replaces an export job.
    async fn save_export_job(&self, job: &ExportJob) -> Result<(), StoreError>;

    async fn export_job(&self, id: &ExportJobId) -> Result<Option<ExportJob>, StoreError>;
}

/// The audit trail of staff actions: append-only, read newest first by admins.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends a record; ids are unique, so an append never replaces one.
    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError>;

    /// Records newest first; `page.after` is the last id of the previous page.
    async fn audit(&self, page: &PageRequest) -> Result<Page<AuditRecord>, StoreError>;
}

/// Every port both adapters implement, for the service that uses them all. An `Arc<dyn Store>`
/// coerces to any one of them (`Arc<dyn EventLog>`, ...): hand a component only the one it uses.
pub trait Store: EventLog + Conversations + Documents + Holds + ExportJobStore + AuditLog {}

impl<T: EventLog + Conversations + Documents + Holds + ExportJobStore + AuditLog + ?Sized> Store for T {}

// ---- The local server's duties, which only the embedded store has: on AWS the DynamoDB
// stream, the archiver's batches and DynamoDB's TTL do these. ----

/// The local work queue: inbound events logged but not handled yet, the local stand-in for
/// the stream. `put_inbound` of a new event queues it in the same commit.
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Inbound events logged but not yet handled (after a crash or restart), oldest first.
    /// A full scan: the worker runs it at start and on its slow sweep, not per event.
    async fn pending(&self) -> Result<Vec<InboundRecord>, StoreError>;

    /// Marks an inbound event handled and, in the same commit, its conversation due for the
    /// archive: once handled, an event is archived even if we crash right after.
    async fn done(&self, record: &InboundRecord) -> Result<(), StoreError>;
}

/// A conversation the archiver owes: its log from `from_ms` on. `marks` changes with every
/// event handled, so clearing it after archiving never drops a mark made meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveDue {
    pub from_ms: i64,
    pub marks: u64,
}

/// What the local archiver owes: conversations with events handled (`WorkQueue::done`) or
/// replies finished since they were last archived.
#[async_trait]
pub trait ArchiveQueue: Send + Sync {
    /// Every conversation the archiver owes, as of now.
    async fn archive_due(&self) -> Result<Vec<(ConversationId, ArchiveDue)>, StoreError>;

    /// Clears what was archived, in one commit; a mark that changed since it was read stays.
    async fn archived(&self, done: Vec<(ConversationId, ArchiveDue)>) -> Result<(), StoreError>;
}

/// A log item due for removal, with its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Expired {
    pub conversation: String,
    pub sort_key: String,
    pub item: LogItem,
}

/// The local counterpart of DynamoDB's TTL: items past their `expires_at` are found, and
/// removed only once the caller has made sure they are archived. Held items have no TTL, so
/// they are never found.
#[async_trait]
pub trait LocalTtl: Send + Sync {
    /// Items due for removal at `now_s`, at most `limit`; events not handled yet are not due.
    /// A full scan: run it rarely (the local worker does so every few minutes), never per request.
    async fn expired(&self, now_s: i64, limit: usize) -> Result<Vec<Expired>, StoreError>;

    /// Removes the given items if they are still expired at `now_s`: an item put on hold,
    /// rewritten or waiting to be handled since it was found is kept. Returns how many were removed.
    async fn remove_expired(&self, items: Vec<Expired>, now_s: i64) -> Result<usize, StoreError>;
}
