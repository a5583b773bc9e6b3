//! The storage port: the conversation log and conversation state. Adapters: `embedded` (redb,
//! local runs) and `dynamodb` (Lambda). One contract test suite runs against both.

use async_trait::async_trait;

use crate::domain::conversation::ConversationState;
use crate::domain::export_job::{ExportJob, ExportJobId};
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

    // ---- export jobs (issue #5) ----

    /// Every conversation with a log, paged, each once, in no promised order. DynamoDB lists
    /// the conversations that have a state item (written when their first event is handled).
    async fn conversation_ids(&self, page: &PageRequest) -> Result<Page<ConversationId>, StoreError>;

    /// Creates or replaces an export job: the runner's progress and outcome.
    async fn save_export_job(&self, job: &ExportJob) -> Result<(), StoreError>;

    async fn export_job(&self, id: &ExportJobId) -> Result<Option<ExportJob>, StoreError>;
}
