//! Identifier newtypes, so a user id is never passed where an event id belongs.

use std::fmt;

use sha2::{Digest, Sha256};

/// One conversation: a user's 1:1 chat, a group or a room. Rendered `user:U…`, `group:C…`, `room:R…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ConversationId(String);

impl ConversationId {
    pub fn user(id: &str) -> Self {
        Self(format!("user:{id}"))
    }
    pub fn group(id: &str) -> Self {
        Self(format!("group:{id}"))
    }
    pub fn room(id: &str) -> Self {
        Self(format!("room:{id}"))
    }
    pub fn unknown(source_type: &str) -> Self {
        Self(format!("other:{source_type}"))
    }
    /// Events without a source (e.g. channel-level events) share one bucket.
    pub fn none() -> Self {
        Self("none".to_owned())
    }
    pub fn parse(s: &str) -> Option<Self> {
        if s == "none" {
            return Some(Self::none());
        }
        let (kind, id) = s.split_once(':')?;
        (matches!(kind, "user" | "group" | "room" | "other") && !id.is_empty()).then(|| Self(s.to_owned()))
    }
    /// An id we stored ourselves, read back as is (as its serde form is); `parse` checks input.
    pub fn from_stored(s: &str) -> Self {
        Self(s.to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The LINE id to address (`to` of a push, `groupId` of a leave), without our prefix.
    pub fn line_id(&self) -> Option<&str> {
        self.0.split_once(':').map(|(_, id)| id)
    }
    pub fn is_user(&self) -> bool {
        self.0.starts_with("user:")
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A LINE user, group or room id (`U…`, `C…`, `R…`): what the Messaging API addresses, without
/// the `user:` prefix a [`ConversationId`] has.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineId(String);

impl LineId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The token LINE gives with an event to reply to it once, within about a minute. Its `Debug`
/// is redacted: whoever holds it can answer the user.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplyToken(String);

impl ReplyToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ReplyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyToken(***)")
    }
}

/// The identity of a webhook event (LINE's `webhookEventId`, or a digest for old payloads).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    pub fn new(id: String) -> Self {
        Self(id)
    }
    pub fn from_raw_digest(raw: &[u8]) -> Self {
        let digest = Sha256::digest(raw);
        Self(format!("sha256-{}", hex::encode(&digest[..16])))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// A stable UUID for this event, so the `X-Line-Retry-Key` of a push is the same on every retry.
    pub fn retry_key(&self) -> uuid::Uuid {
        uuid::Uuid::new_v5(&RETRY_KEY_NAMESPACE, self.0.as_bytes())
    }
}

/// Namespace for retry keys derived from event ids (a fixed random UUID).
const RETRY_KEY_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1c_5e0a_2b7d_4c1e_9a3f_8d2e_4b6a_1c90);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
