//! Messages we send: the kinds the settings can hold, LINE's limits, and their wire JSON.

use serde::{Deserialize, Serialize};
use serde_json::json;

/// LINE's limit on one text message, counted in UTF-16 code units.
pub const MAX_TEXT_UTF16: usize = 5000;
/// LINE's limit on messages in one reply or push.
pub const MAX_MESSAGES_PER_REQUEST: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutboundMessage {
    Text {
        text: String,
    },
    Sticker {
        package_id: String,
        sticker_id: String,
    },
    Image {
        original_content_url: String,
        #[serde(default)]
        preview_image_url: Option<String>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OutboundError {
    #[error("no messages to send")]
    Empty,
    #[error("{0} messages after splitting long text; LINE takes at most 5 per request")]
    TooMany(usize),
    #[error("a text message is empty")]
    EmptyText,
    #[error("image URLs must be https:// (got {0})")]
    NotHttps(String),
}

impl OutboundMessage {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Sticker { .. } => "sticker",
            Self::Image { .. } => "image",
        }
    }

    /// The JSON object LINE's Messaging API expects for this message.
    pub fn to_line_json(&self) -> serde_json::Value {
        match self {
            Self::Text { text } => json!({ "type": "text", "text": text }),
            Self::Sticker { package_id, sticker_id } => {
                json!({ "type": "sticker", "packageId": package_id, "stickerId": sticker_id })
            }
            Self::Image { original_content_url, preview_image_url } => json!({
                "type": "image",
                "originalContentUrl": original_content_url,
                "previewImageUrl": preview_image_url.as_deref().unwrap_or(original_content_url),
            }),
        }
    }

    /// Checks what LINE would refuse, so a configuration mistake is found at start, not at send.
    pub fn validate(&self) -> Result<(), OutboundError> {
        match self {
            Self::Text { text } if text.trim().is_empty() => Err(OutboundError::EmptyText),
            Self::Image { original_content_url, preview_image_url } => {
                for url in std::iter::once(original_content_url).chain(preview_image_url) {
                    if !url.starts_with("https://") {
                        return Err(OutboundError::NotHttps(url.clone()));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Splits texts over LINE's limit into several messages (on a line or word break where one is
/// near, never inside a surrogate pair) and refuses a batch that would exceed 5 messages.
pub fn prepare(messages: &[OutboundMessage]) -> Result<Vec<OutboundMessage>, OutboundError> {
    if messages.is_empty() {
        return Err(OutboundError::Empty);
    }
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        message.validate()?;
        match message {
            OutboundMessage::Text { text } => out.extend(split_text(text).into_iter().map(OutboundMessage::text)),
            other => out.push(other.clone()),
        }
    }
    if out.len() > MAX_MESSAGES_PER_REQUEST {
        return Err(OutboundError::TooMany(out.len()));
    }
    Ok(out)
}

/// Splits a text into chunks of at most `MAX_TEXT_UTF16` UTF-16 units.
pub fn split_text(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut rest = text;
    while utf16_len(rest) > MAX_TEXT_UTF16 {
        let hard = byte_index_at_utf16(rest, MAX_TEXT_UTF16);
        // Prefer a break in the last tenth of the chunk, so a paragraph is not cut mid-word.
        let soft_floor = byte_index_at_utf16(rest, MAX_TEXT_UTF16 * 9 / 10);
        let cut = rest[soft_floor..hard]
            .rfind(['\n', ' ', '。', '、'])
            .map(|i| soft_floor + i + rest[soft_floor + i..].chars().next().map_or(1, char::len_utf8))
            .unwrap_or(hard);
        chunks.push(rest[..cut].to_owned());
        rest = &rest[cut..];
    }
    chunks.push(rest.to_owned());
    chunks
}

pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Byte index of the last char boundary whose UTF-16 offset is <= `units`.
fn byte_index_at_utf16(s: &str, units: usize) -> usize {
    let mut seen = 0;
    for (i, c) in s.char_indices() {
        if seen + c.len_utf16() > units {
            return i;
        }
        seen += c.len_utf16();
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_message() {
        assert_eq!(prepare(&[OutboundMessage::text("hi")]).unwrap(), vec![OutboundMessage::text("hi")]);
    }

    #[test]
    fn long_text_is_split_within_the_limit_and_loses_nothing() {
        let text = "あいうえお。".repeat(1500); // 9000 units
        let chunks = split_text(&text);
        assert_eq!(chunks.len(), 2);
        assert!(chunks.iter().all(|c| utf16_len(c) <= MAX_TEXT_UTF16));
        assert_eq!(chunks.concat(), text);
        assert!(chunks[0].ends_with('。'), "cut at a sentence end");
    }

    #[test]
    fn a_surrogate_pair_is_never_cut() {
        let text = format!("a{}", "😀".repeat(3000)); // 1 + 6000 units
        let chunks = split_text(&text);
        assert!(chunks.iter().all(|c| utf16_len(c) <= MAX_TEXT_UTF16));
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn more_than_five_messages_are_refused() {
        let huge = OutboundMessage::text("x".repeat(MAX_TEXT_UTF16 * 5 + 1));
        assert_eq!(prepare(&[huge]), Err(OutboundError::TooMany(6)));
        assert_eq!(prepare(&[]), Err(OutboundError::Empty));
    }

    #[test]
    fn wire_json_uses_line_field_names() {
        let sticker = OutboundMessage::Sticker { package_id: "446".into(), sticker_id: "1988".into() };
        assert_eq!(sticker.to_line_json(), json!({"type":"sticker","packageId":"446","stickerId":"1988"}));
        let image = OutboundMessage::Image { original_content_url: "https://x/a.jpg".into(), preview_image_url: None };
        assert_eq!(image.to_line_json()["previewImageUrl"], "https://x/a.jpg");
        let http = OutboundMessage::Image { original_content_url: "http://x/a.jpg".into(), preview_image_url: None };
        assert!(matches!(prepare(&[http]), Err(OutboundError::NotHttps(_))));
    }
}
