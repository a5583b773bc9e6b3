//! The storage port: the conversation log and conversation state. Adapters: `embedded` (redb,
//! local runs) and `dynamodb` (Lambda). One contract test suite runs against both.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::conversation::ConversationState;
use crate::domain::ids::{ConversationId, EventId};

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

/// An inbound event as logged: the fields we query on, and the raw JSON verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundRecord {
    pub conversation: ConversationId,
    pub event_id: EventId,
    /// When the user acted (the event's `timestamp`), or when we received it if absent.
    pub timestamp_ms: i64,
    pub received_ms: i64,
    pub event_type: String,
    pub message_type: Option<String>,
    pub user_id: Option<String>,
    pub mode: String,
    pub is_redelivery: bool,
    pub raw: String,
    /// Unix seconds after which the item may be removed (DynamoDB TTL).
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundStatus {
    /// Claimed, being sent. Seen later, it means the outcome of that attempt is unknown.
    Sending,
    Sent,
    Failed,
    /// No access token: logged what would have been sent.
    Logged,
}

impl OutboundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Logged => "logged",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Sending, Self::Sent, Self::Failed, Self::Logged].into_iter().find(|v| v.as_str() == s)
    }
}

/// A message we send (or tried to). A reply to an event is keyed by that event, so it can be claimed once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundRecord {
    pub conversation: ConversationId,
    /// The event this answers, or a fresh id for a message staff send.
    pub id: String,
    /// Sorts the outbound right after what it answers.
    pub timestamp_ms: i64,
    pub created_ms: i64,
    /// `reply`, `push`, or `log`.
    pub method: String,
    /// The LINE message objects, as JSON.
    pub messages: String,
    pub status: OutboundStatus,
    /// Why the rules sent it (or why it failed).
    pub reason: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dir", rename_all = "snake_case")]
pub enum LogItem {
    In(InboundRecord),
    Out(OutboundRecord),
}

impl LogItem {
    pub fn timestamp_ms(&self) -> i64 {
        match self {
            LogItem::In(r) => r.timestamp_ms,
            LogItem::Out(r) => r.timestamp_ms,
        }
    }
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

/// Sort key of a log item within its conversation: time order, inbound before its reply.
pub fn log_sort_key(timestamp_ms: i64, inbound: bool, id: &str) -> String {
    format!("MSG#{:013}#{}#{id}", timestamp_ms.max(0), if inbound { 'I' } else { 'O' })
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
}
