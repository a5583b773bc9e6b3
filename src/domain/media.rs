//! Media messages, pure: which inbound events carry content LINE hosts (and drops after a
//! week or two), and where the archive keeps a copy: beside the conversation's transcript.

use serde::{Deserialize, Serialize};

use super::archive::conversation_prefix;
use super::ids::ConversationId;
use super::log::LogItem;

/// Message types whose content is fetched from LINE's content API.
const MEDIA_TYPES: [&str; 4] = ["image", "video", "audio", "file"];

/// A media message to fetch: its LINE message id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaMessage {
    pub conversation: ConversationId,
    pub message_id: String,
    pub message_type: String,
}

/// A stored copy of a message's content, as the transcript line references it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    pub key: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
}

/// The media message in a logged inbound event, if its content is on LINE's servers.
/// `contentProvider.type = external` means the sender's own URLs: nothing to fetch from LINE.
/// File messages carry no content provider: LINE always hosts them.
pub fn media_message(item: &LogItem) -> Option<MediaMessage> {
    let LogItem::In(record) = item else { return None };
    if record.event_type != "message" || !MEDIA_TYPES.contains(&record.message_type.as_deref()?) {
        return None;
    }
    let raw: serde_json::Value = serde_json::from_str(&record.raw).ok()?;
    let message = raw.get("message")?;
    let provider = message.pointer("/contentProvider/type").and_then(|t| t.as_str()).unwrap_or("line");
    if provider != "line" {
        return None;
    }
    let message_id = message.get("id")?.as_str()?;
    // Ours to put in a key: LINE's ids are digits; anything else is not fetched.
    if message_id.is_empty() || !message_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(MediaMessage {
        conversation: record.conversation.clone(),
        message_id: message_id.to_owned(),
        message_type: record.message_type.clone().unwrap_or_default(),
    })
}

/// Where a message's content is stored: beside the transcript, one key per message (so a
/// retry finds it instead of fetching again).
pub fn media_key(message: &MediaMessage) -> String {
    format!("{}media/{}", conversation_prefix(&message.conversation), message.message_id)
}

/// The `MediaRef` of a stored copy, kept beside it (a folder has no content type of its own).
pub fn media_meta_key(message: &MediaMessage) -> String {
    format!("{}.json", media_key(message))
}

/// How long a failed download is tried again: LINE keeps content for about one to two weeks,
/// so after this long it is surely gone.
pub const RETRY_FOR_MS: i64 = 14 * 24 * 60 * 60 * 1000;

/// A media download that failed after the API client's retries, kept to be tried again later
/// (the transcript line already says it failed; a later copy lands at the same key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRetry {
    pub conversation: ConversationId,
    pub message_id: String,
    pub message_type: String,
    pub first_failed_ms: i64,
    pub attempts: u32,
    pub last_error: String,
}

impl MediaRetry {
    pub fn new(message: &MediaMessage, error: &str, now_ms: i64) -> Self {
        Self {
            conversation: message.conversation.clone(),
            message_id: message.message_id.clone(),
            message_type: message.message_type.clone(),
            first_failed_ms: now_ms,
            attempts: 1,
            last_error: error.to_owned(),
        }
    }

    /// Its document id: one per message, so a failure recorded twice is one retry.
    pub fn id(&self) -> String {
        format!("{}/{}", self.conversation, self.message_id)
    }

    pub fn message(&self) -> MediaMessage {
        MediaMessage {
            conversation: self.conversation.clone(),
            message_id: self.message_id.clone(),
            message_type: self.message_type.clone(),
        }
    }

    /// Another failed attempt at `now_ms`: `false` once LINE has surely dropped the content.
    pub fn failed_again(&mut self, error: &str, now_ms: i64) -> bool {
        self.attempts += 1;
        self.last_error = error.to_owned();
        now_ms - self.first_failed_ms < RETRY_FOR_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::Mode;
    use crate::domain::ids::EventId;
    use crate::domain::log::InboundRecord;

    fn item(message_type: &str, message: serde_json::Value) -> LogItem {
        LogItem::In(InboundRecord {
            conversation: ConversationId::user("U1"),
            event_id: EventId::new("e".into()),
            timestamp_ms: 1,
            received_ms: 1,
            event_type: "message".into(),
            message_type: Some(message_type.into()),
            user_id: None,
            mode: Mode::Active,
            is_redelivery: false,
            raw: serde_json::json!({ "type": "message", "message": message }).to_string(),
            expires_at: Some(1),
        })
    }

    #[test]
    fn a_failed_download_is_retried_for_two_weeks_then_given_up() {
        let message = media_message(&item("image", serde_json::json!({ "type": "image", "id": "42" }))).unwrap();
        let mut retry = MediaRetry::new(&message, "500", 1_000);
        assert_eq!((retry.id(), retry.attempts), ("user:U1/42".to_owned(), 1));
        assert_eq!(retry.message(), message);
        assert!(retry.failed_again("503", 1_000 + RETRY_FOR_MS - 1));
        assert_eq!((retry.attempts, retry.last_error.as_str()), (2, "503"));
        assert!(!retry.failed_again("404", 1_000 + RETRY_FOR_MS), "LINE has dropped it by now");
        let json = serde_json::to_string(&retry).unwrap();
        assert_eq!(serde_json::from_str::<MediaRetry>(&json).unwrap(), retry);
    }

    #[test]
    fn line_hosted_media_is_fetched_and_external_or_text_is_not() {
        let image = item("image", serde_json::json!({ "type": "image", "id": "325708", "contentProvider": { "type": "line" } }));
        let m = media_message(&image).unwrap();
        assert_eq!((m.message_id.as_str(), m.message_type.as_str()), ("325708", "image"));
        assert_eq!(media_key(&m), "transcripts/user:U1/media/325708");
        assert_eq!(media_meta_key(&m), "transcripts/user:U1/media/325708.json");
        let file = item("file", serde_json::json!({ "type": "file", "id": "77", "fileName": "a.pdf" }));
        assert!(media_message(&file).is_some(), "files have no content provider and are always on LINE");
        let external = item(
            "video",
            serde_json::json!({ "type": "video", "id": "9", "contentProvider": { "type": "external", "originalContentUrl": "https://x" } }),
        );
        assert_eq!(media_message(&external), None);
        assert_eq!(media_message(&item("text", serde_json::json!({ "type": "text", "id": "1", "text": "hi" }))), None);
        let odd_id = item("image", serde_json::json!({ "type": "image", "id": "../x", "contentProvider": { "type": "line" } }));
        assert_eq!(media_message(&odd_id), None, "an id that is not LINE's shape never becomes a key");
    }
}
