//! The storage port: the conversation log and conversation state. Adapters: `embedded` (redb,
//! local runs) and `dynamodb` (Lambda). One contract test suite runs against both.

use async_trait::async_trait;

use crate::domain::audit::AuditRecord;
use crate::domain::conversation::ConversationState;
use crate::domain::export_job::{ExportJob, ExportJobId};
pub use crate::domain::hold::Hold;
use crate::domain::ids::ConversationId;
pub use crate::domain::log::{log_cursor_from, log_sort_key, InboundRecord, LogItem, OutboundRecord, OutboundStatus};

pub mod dynamodb;
pub mod embedded;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or failed; the caller may retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The request was throttled; retry later.
    #[error("store throttled: {0}")]
    Throttled(String),
    /// An optimistic-concurrency check failed: someone else wrote first.
    #[error("conflicting write to {0}")]
    Conflict(String),
    /// The backend refused the request as malformed (DynamoDB's ValidationException, e.g. a key
    /// over its size limit): caused by the input, so retrying will not help.
    #[error("refused by the store: {0}")]
    Invalid(String),
    /// Stored data we cannot read back: a bug or a manual edit.
    #[error("corrupt item {key}: {problem}")]
    Corrupt { key: String, problem: String },
}

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
    /// The archive backfill sweep's state: its cursor and lease (`archive::backfill`).
    pub const ARCHIVE_BACKFILL: &str = "archive-backfill";
    /// Notes of one conversation: `notes:<conversation>`.
    pub fn notes(conversation: &crate::domain::ids::ConversationId) -> String {
        format!("notes:{conversation}")
    }
}

/// The audit trail of staff actions: append-only, read newest first by admins.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends a record; ids are unique, so an append never replaces one.
    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError>;

    /// Records newest first; `page.after` is the last id of the previous page.
    async fn audit(&self, page: &PageRequest) -> Result<Page<AuditRecord>, StoreError>;
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Logs an inbound event once; the conditional write that decides idempotency.
    async fn put_inbound(&self, record: &InboundRecord) -> Result<Inserted, StoreError>;

    async fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, StoreError>;

    /// Saves `state` if the stored version is still `state.version`; stores version + 1.
    async fn save_conversation(&self, state: &ConversationState) -> Result<(), StoreError>;

    /// Claims the right to send this outbound (status `Sending`), once.
    async fn claim_outbound(&self, record: &OutboundRecord) -> Result<Claim, StoreError>;

    /// Records the outcome of a claimed outbound.
    async fn finish_outbound(&self, record: &OutboundRecord) -> Result<(), StoreError>;

    /// One conversation's log, oldest first, paged.
    async fn log(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError>;

    /// The same log newest first: `page.after` is the sort key to go on *before* (older), so a
    /// long conversation opens at its end and scrolls back.
    async fn log_newest(&self, id: &ConversationId, page: &PageRequest) -> Result<Page<LogItem>, StoreError>;

    /// Unread and needs-attention counts, kept with every conversation write, and the newest
    /// activity: a few small reads however many conversations there are.
    async fn inbox(&self) -> Result<InboxCounts, StoreError>;

    // --- Operator side ---

    /// The cursor that resumes `conversations_by_activity` right after `state`.
    fn activity_cursor(&self, state: &ConversationState) -> String;

    /// Conversations, newest activity first, paged.
    async fn conversations_by_activity(&self, page: &PageRequest) -> Result<Page<ConversationState>, StoreError>;

    async fn doc(&self, collection: &str, id: &str) -> Result<Option<Doc>, StoreError>;

    /// Writes `doc` if the stored version is still `doc.version` (0 = must not exist); stores version + 1.
    async fn put_doc(&self, collection: &str, doc: &Doc) -> Result<(), StoreError>;

    /// Deletes a document if the stored version is still `version`; `Conflict` otherwise (or if absent).
    async fn delete_doc(&self, collection: &str, id: &str, version: u64) -> Result<(), StoreError>;

    /// A collection's documents in id order, paged.
    async fn docs(&self, collection: &str, page: &PageRequest) -> Result<Page<Doc>, StoreError>;
    // ---- Legal hold (issue #5): kept together at the end of the trait. ----
    // While a conversation is held, none of its log items has a TTL, including items logged or
    // updated during the hold. Both operations are idempotent: re-running one after a partial
    // failure finishes the job.

    /// Puts a conversation on hold (or replaces the reason) and removes the TTL from every one
    /// of its log items. Returns how many items lost their TTL.
    async fn set_hold(&self, hold: &Hold) -> Result<usize, StoreError>;

    /// Ends a hold and gives every item without a TTL its TTL back: the item's own time plus
    /// `retention_days`. Returns how many items got a TTL.
    async fn release_hold(&self, conversation: &ConversationId, retention_days: u32) -> Result<usize, StoreError>;

    async fn hold(&self, conversation: &ConversationId) -> Result<Option<Hold>, StoreError>;

    /// Every conversation on hold.
    async fn holds(&self) -> Result<Vec<Hold>, StoreError>;

    // ---- export jobs (issue #5) ----

    /// Every conversation with a log, paged, each once, in no promised order. DynamoDB lists
    /// the conversations that have a state item (written when their first event is handled).
    async fn conversation_ids(&self, page: &PageRequest) -> Result<Page<ConversationId>, StoreError>;

    /// Creates or replaces an export job: the runner's progress and outcome.
    async fn save_export_job(&self, job: &ExportJob) -> Result<(), StoreError>;

    async fn export_job(&self, id: &ExportJobId) -> Result<Option<ExportJob>, StoreError>;
}
