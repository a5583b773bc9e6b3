//! The adapter used without an access token: nothing is sent; what would be sent is logged.

use async_trait::async_trait;

use super::{Content, LineApi, LineApiError, Profile};
use crate::domain::ids::{ConversationId, LineId, ReplyToken};
use crate::domain::outbound::OutboundMessage;

#[derive(Debug, Default, Clone)]
pub struct LoggingLineApi;

fn summary(messages: &[OutboundMessage]) -> String {
    messages.iter().map(OutboundMessage::type_name).collect::<Vec<_>>().join(",")
}

#[async_trait]
impl LineApi for LoggingLineApi {
    fn sends(&self) -> bool {
        false
    }

    async fn reply(&self, _reply_token: &ReplyToken, messages: &[OutboundMessage]) -> Result<(), LineApiError> {
        // Types only at info: message text stays out of logs.
        tracing::info!(messages = %summary(messages), "would reply (no LINE_CHANNEL_ACCESS_TOKEN)");
        tracing::debug!(?messages, "reply body");
        Ok(())
    }

    async fn push(&self, to: &LineId, messages: &[OutboundMessage], retry_key: uuid::Uuid) -> Result<(), LineApiError> {
        tracing::info!(%to, %retry_key, messages = %summary(messages), "would push (no LINE_CHANNEL_ACCESS_TOKEN)");
        Ok(())
    }

    async fn profile(&self, _user_id: &LineId) -> Result<Profile, LineApiError> {
        Err(LineApiError::Rejected { status: 0, message: "no access token: profile unavailable".into() })
    }

    async fn group_summary(&self, _group_id: &LineId) -> Result<Profile, LineApiError> {
        Err(LineApiError::Rejected { status: 0, message: "no access token: group summary unavailable".into() })
    }

    async fn leave(&self, conversation: &ConversationId) -> Result<(), LineApiError> {
        tracing::info!(%conversation, "would leave (no LINE_CHANNEL_ACCESS_TOKEN)");
        Ok(())
    }

    async fn content(&self, _message_id: &str) -> Result<Content, LineApiError> {
        Err(LineApiError::Rejected { status: 0, message: "no access token: media content unavailable".into() })
    }
}
