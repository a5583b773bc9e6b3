//! The webhook event model: every event, source and message type LINE documents, plus an
//! `Unknown` fallback for each that keeps the raw JSON, so new LINE features never break ingress.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::by_name::serde_by_name;
use super::ids::{ConversationId, EventId};

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
}

/// A webhook request body.
#[derive(Debug)]
pub struct WebhookBody {
    pub destination: Option<String>,
    pub events: Vec<Event>,
}

impl WebhookBody {
    /// Parses a body whose signature has already been verified. A body without `events`
    /// (LINE never sends one) is read as no events, as the official SDKs do.
    pub fn parse(body: &[u8]) -> Result<Self, ParseError> {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            destination: Option<String>,
            #[serde(default)]
            events: Events,
        }
        let wire: Wire = serde_json::from_slice(body).map_err(ParseError::Json)?;
        Ok(Self { destination: wire.destination, events: wire.events.0 })
    }
}

/// The `events` array, each element taken as raw JSON and typed as it is read (no list of
/// raw values in between).
#[derive(Default)]
struct Events(Vec<Event>);

impl<'de> Deserialize<'de> for Events {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seq;
        impl<'de> serde::de::Visitor<'de> for Seq {
            type Value = Events;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of events")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Events, A::Error> {
                let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                    events.push(Event::from_raw(raw));
                }
                Ok(Events(events))
            }
        }
        d.deserialize_seq(Seq)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Active,
    /// Another channel (module) has the chat: log, never answer.
    Standby,
    Other(String),
}

impl Mode {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "active",
            Self::Standby => "standby",
            Self::Other(name) => name,
        }
    }

    /// The mode a name stands for (in an event, or stored); a name not known here is kept.
    pub fn from_name(name: &str) -> Self {
        match name {
            "active" => Self::Active,
            "standby" => Self::Standby,
            other => Self::Other(other.to_owned()),
        }
    }
}

// Stored in the log as the event's own `mode` string.
serde_by_name!(Mode);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    User { user_id: String },
    Group { group_id: String, user_id: Option<String> },
    Room { room_id: String, user_id: Option<String> },
    Unknown { source_type: String },
}

impl Source {
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Source::User { user_id } => Some(user_id),
            Source::Group { user_id, .. } | Source::Room { user_id, .. } => user_id.as_deref(),
            Source::Unknown { .. } => None,
        }
    }

    pub fn conversation_id(&self) -> ConversationId {
        match self {
            Source::User { user_id } => ConversationId::user(user_id),
            Source::Group { group_id, .. } => ConversationId::group(group_id),
            Source::Room { room_id, .. } => ConversationId::room(room_id),
            Source::Unknown { source_type } => ConversationId::unknown(source_type),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    Text { text: String, quote_token: Option<String> },
    Image,
    Video { duration_ms: Option<i64> },
    Audio { duration_ms: Option<i64> },
    File { file_name: Option<String>, file_size: Option<i64> },
    Location { title: Option<String>, address: Option<String>, latitude: f64, longitude: f64 },
    Sticker { package_id: String, sticker_id: String, keywords: Vec<String>, text: Option<String> },
    Unknown { message_type: String },
}

impl MessageContent {
    pub fn type_name(&self) -> &str {
        match self {
            MessageContent::Text { .. } => "text",
            MessageContent::Image => "image",
            MessageContent::Video { .. } => "video",
            MessageContent::Audio { .. } => "audio",
            MessageContent::File { .. } => "file",
            MessageContent::Location { .. } => "location",
            MessageContent::Sticker { .. } => "sticker",
            MessageContent::Unknown { message_type } => message_type,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub content: MessageContent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    Message(Message),
    /// The user edited a message they sent earlier.
    MessageEdited(Message),
    Unsend {
        message_id: String,
    },
    Follow {
        is_unblocked: bool,
    },
    Unfollow,
    Join,
    Leave,
    MemberJoined {
        user_ids: Vec<String>,
    },
    MemberLeft {
        user_ids: Vec<String>,
    },
    Postback {
        data: String,
    },
    VideoPlayComplete {
        tracking_id: String,
    },
    Beacon {
        hwid: String,
        beacon_type: String,
    },
    AccountLink {
        result: String,
    },
    Membership,
    Module,
    Activated,
    Deactivated,
    BotSuspended,
    BotResumed,
    Delivery,
    /// A type this version does not know; the raw JSON is kept on the event.
    Unknown,
}

/// The time a ULID encodes (its first 10 Crockford base-32 characters: 48 bits of Unix ms).
/// LINE's `webhookEventId`s are ULIDs.
pub fn ulid_ms(id: &str) -> Option<i64> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    if id.len() != 26 {
        return None;
    }
    let mut ms: u64 = 0;
    for b in id.as_bytes()[..10].iter() {
        let digit = ALPHABET.iter().position(|a| a == &b.to_ascii_uppercase())? as u64;
        ms = (ms << 5) | digit;
    }
    // 10 characters hold 50 bits; a valid ULID's top two are zero.
    (ms < (1 << 48)).then_some(ms as i64)
}

/// One webhook event: the fields we act on, typed, and the raw JSON, kept verbatim.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: String,
    pub kind: EventKind,
    pub webhook_event_id: Option<String>,
    pub timestamp_ms: Option<i64>,
    pub mode: Mode,
    pub is_redelivery: bool,
    pub source: Option<Source>,
    pub reply_token: Option<String>,
    pub raw: Box<RawValue>,
}

impl Event {
    /// Our identity for the event: LINE's `webhookEventId`, or for old payloads without one
    /// a digest of its raw JSON (a redelivery carries the same bytes).
    pub fn id(&self) -> EventId {
        match &self.webhook_event_id {
            Some(id) => EventId::new(id.clone()),
            None => EventId::from_raw_digest(self.raw.get().as_bytes()),
        }
    }

    pub fn conversation_id(&self) -> ConversationId {
        self.source.as_ref().map_or_else(ConversationId::none, Source::conversation_id)
    }

    /// When the event happened: its `timestamp`, else the time in its ULID id. Never the
    /// receive time, which differs on a redelivery and would make it look new.
    pub fn sent_ms(&self) -> Option<i64> {
        self.timestamp_ms.or_else(|| self.webhook_event_id.as_deref().and_then(ulid_ms))
    }

    pub fn message(&self) -> Option<&Message> {
        match &self.kind {
            EventKind::Message(m) | EventKind::MessageEdited(m) => Some(m),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self.message()?.content {
            MessageContent::Text { ref text, .. } => Some(text),
            _ => None,
        }
    }

    /// Re-reads one event from its logged raw JSON (the worker's input).
    pub fn from_raw_json(raw: &str) -> Result<Self, ParseError> {
        let raw: &RawValue = serde_json::from_str(raw).map_err(ParseError::Json)?;
        Ok(Self::from_raw(raw))
    }

    fn from_raw(raw: &RawValue) -> Self {
        let owned = raw.to_owned();
        match serde_json::from_str::<wire::EventWire<'_>>(raw.get()) {
            Ok(wire) => wire.into_event(owned),
            // Not even an object we can read: keep it, acknowledge it, never fail the batch.
            Err(_) => Event {
                event_type: String::new(),
                kind: EventKind::Unknown,
                webhook_event_id: None,
                timestamp_ms: None,
                mode: Mode::Other(String::new()),
                is_redelivery: false,
                source: None,
                reply_token: None,
                raw: owned,
            },
        }
    }
}

mod wire;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod ulid_tests {
    use super::ulid_ms;

    #[test]
    fn a_ulid_tells_its_time() {
        // 01ARYZ6S41… is the example of the ULID reference implementation (decodeTime): 1469918176385 ms.
        assert_eq!(ulid_ms("01ARYZ6S41TSV4RRFFQ69G5FAV"), Some(1_469_918_176_385));
        assert_eq!(ulid_ms("01aryz6s41tsv4rrffq69g5fav"), Some(1_469_918_176_385), "case does not matter");
        assert_eq!(ulid_ms("01ARZ3NDEK"), None, "too short");
        assert_eq!(ulid_ms("01ARZ3NDEKTSV4RRFFQ69G5FAU!"), None);
        assert_eq!(ulid_ms("8ZZZZZZZZZTSV4RRFFQ69G5FAV"), None, "past 48 bits");
        assert_eq!(ulid_ms("01ARZ3NDEITSV4RRFFQ69G5FAV"), None, "I is not Crockford");
    }
}
