//! The LINE Messaging API port: what we ask of LINE. Adapters: `http` (the real API, with
//! retries) and `logging` (no access token: log what would be sent).

use async_trait::async_trait;

use crate::domain::ids::{ConversationId, LineId, ReplyToken};
use crate::domain::outbound::OutboundMessage;

pub mod http;
pub mod logging;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LineApiError {
    /// The reply token was used already or has expired.
    #[error("the reply token is invalid or expired")]
    InvalidReplyToken,
    /// A push with this retry key was accepted before: the message went out once already.
    #[error("already accepted (request {request_id})")]
    AlreadyAccepted { request_id: String },
    /// An attempt was interrupted (timeout, dropped connection, 5xx) and the retry found the
    /// reply token spent: most likely by that very attempt. Whether the user got the message is
    /// unknown, and pushing it could send it twice.
    #[error("outcome unknown: an interrupted attempt ({interrupted}) may have delivered it; the retry found the reply token used")]
    OutcomeUnknown { interrupted: String },
    /// LINE refused the request (4xx); retrying would not help.
    #[error("LINE refused the request with {status}: {message}")]
    Rejected { status: u16, message: String },
    /// 5xx, timeouts or connection failures, after every retry.
    #[error("LINE API unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub display_name: String,
    pub picture_url: Option<String>,
}

/// A media message's content as LINE serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

#[async_trait]
pub trait LineApi: Send + Sync {
    /// Whether messages really go out (false for the logging adapter).
    fn sends(&self) -> bool;
    async fn reply(&self, reply_token: &ReplyToken, messages: &[OutboundMessage]) -> Result<(), LineApiError>;
    async fn push(&self, to: &LineId, messages: &[OutboundMessage], retry_key: uuid::Uuid) -> Result<(), LineApiError>;
    async fn profile(&self, user_id: &LineId) -> Result<Profile, LineApiError>;
    /// A group's name and icon (LINE's group summary), as a profile.
    async fn group_summary(&self, group_id: &LineId) -> Result<Profile, LineApiError>;
    /// Leaves a group or room.
    async fn leave(&self, conversation: &ConversationId) -> Result<(), LineApiError>;
    /// The content of an image, video, audio or file message a user sent (LINE's data API).
    async fn content(&self, message_id: &str) -> Result<Content, LineApiError>;
}

/// The adapter a configuration calls for: the real API with the access token, or, without one
/// (a local run), the logging one.
pub fn from_config(config: &crate::config::Config, retry: http::RetryPolicy) -> std::sync::Arc<dyn LineApi> {
    match &config.access_token {
        Some(token) => std::sync::Arc::new(
            http::HttpLineApi::new(&config.line_api_base_url, token.clone(), retry).with_data_base_url(&config.line_data_api_base_url),
        ),
        None => std::sync::Arc::new(logging::LoggingLineApi),
    }
}
