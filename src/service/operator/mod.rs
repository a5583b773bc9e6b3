//! The operator API's use cases: what staff do on LINE's chat screen. Every change goes
//! through a versioned write, so two operators never overwrite each other.

use std::sync::Arc;

use crate::domain::canned::CannedError;
use crate::domain::tags::TagError;
use crate::line_api::{LineApi, LineApiError};
use crate::settings::Settings;
use crate::store::{Conversations, Documents, EventLog, Holds, StoreError};

use super::live_settings::{LiveSettings, SaveSettingsError};
use super::Retention;

mod catalog;
mod conversations;
mod faq;
mod media;
mod reply;
mod search;

pub use conversations::{ConversationView, ModeView, NoteView, PinRequest};
pub use faq::{FaqDraft, FaqList};
pub use media::{MediaCopies, MediaCopy, MediaLink, MEDIA_LINK_TTL};
pub use reply::ManualReply;
pub use search::{SearchHit, SearchQuery, SearchResults};

/// What staff do, with the ports that takes: the log (read, manual replies), conversations,
/// documents (tags, canned replies, notes, settings), holds and LINE. Built by `ServiceParts::build`.
#[derive(Clone)]
pub struct Operator {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) conversations: Arc<dyn Conversations>,
    pub(crate) documents: Arc<dyn Documents>,
    pub(crate) holds: Arc<dyn Holds>,
    pub(crate) line: Arc<dyn LineApi>,
    pub(crate) settings: LiveSettings,
    pub(crate) retention: Retention,
}

impl Operator {
    /// Now, by this operator's clock (what the edge stamps views with).
    pub fn now_ms(&self) -> i64 {
        self.retention.now_ms()
    }

    /// The settings in force now (the file's, or the last saved through the operator API).
    pub async fn settings(&self) -> Arc<Settings> {
        self.settings.current().await
    }

    /// The settings in force now, read fresh from the store, and their stored version (0 = the
    /// file's): what staff edit.
    pub async fn settings_for_editing(&self) -> (Arc<Settings>, u64) {
        self.settings.read().await
    }

    /// Replaces the settings if their stored version is still `expected_version`; in force at once.
    pub async fn save_settings(&self, toml: &str, expected_version: u64, by: &str) -> Result<u64, SaveSettingsError> {
        self.settings.save(toml, expected_version, by, self.now_ms()).await
    }
}

/// Most items one list page returns.
pub const MAX_PAGE: usize = 200;
/// How many conversations one list request may examine to fill a filtered page; past this it
/// returns what it found and a cursor, so a rare filter cannot make one request unbounded.
pub const MAX_EXAMINED: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("`{field}`: {problem}")]
    Invalid { field: String, problem: String },
    /// LINE's limits (tags) reached.
    #[error("{0}")]
    Limit(String),
    /// Not allowed by LINE's rules or the conversation's state (e.g. the user never wrote).
    #[error("{0}")]
    NotAllowed(String),
    /// Someone else changed it first (after retries), or a stale version was given.
    #[error("{0}")]
    Conflict(String),
    #[error("LINE refused the message: {0}")]
    Line(#[source] LineApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] crate::service::archive::ArchiveError),
}

impl OperatorError {
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), problem: problem.into() }
    }
}

impl From<TagError> for OperatorError {
    fn from(e: TagError) -> Self {
        match e {
            TagError::NotFound(id) => Self::NotFound(format!("tag {id:?}")),
            TagError::TooManyTags | TagError::TooManyForUser => Self::Limit(e.to_string()),
            TagError::Duplicate(_) => Self::Conflict(e.to_string()),
            TagError::InvalidName(problem) => Self::invalid("name", problem),
        }
    }
}

impl From<CannedError> for OperatorError {
    fn from(e: CannedError) -> Self {
        match e {
            CannedError::Invalid { field, problem } => Self::invalid(field, problem),
        }
    }
}

impl From<SaveSettingsError> for OperatorError {
    fn from(e: SaveSettingsError) -> Self {
        match e {
            SaveSettingsError::Invalid(e) => Self::invalid("toml", e.to_string()),
            SaveSettingsError::Stale(_) => Self::Conflict(e.to_string()),
            SaveSettingsError::Store(e) => Self::Store(e),
        }
    }
}

/// A fresh id for something staff create: time-ordered, unique.
fn new_id(now_ms: i64) -> String {
    format!("{now_ms:013}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn page_limit(limit: Option<usize>, default: usize) -> Result<usize, OperatorError> {
    match limit {
        None => Ok(default),
        Some(0) => Err(OperatorError::invalid("limit", "must be at least 1")),
        Some(n) if n > MAX_PAGE => Err(OperatorError::invalid("limit", format!("at most {MAX_PAGE}"))),
        Some(n) => Ok(n),
    }
}
