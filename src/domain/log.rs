//! The conversation log's records: inbound events and our messages, as stored and archived.

use serde::{Deserialize, Deserializer, Serialize};

use super::by_name::serde_by_name;
use super::event::Mode;
use super::ids::{ConversationId, EventId};

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
    /// The event's `mode`, stored as its name (`active`, `standby`, or one LINE adds).
    pub mode: Mode,
    pub is_redelivery: bool,
    pub raw: String,
    /// Unix seconds after which the item may be removed (DynamoDB TTL); `NO_TTL` (`None`) while
    /// the conversation is on legal hold (the attribute is then absent from the stored item).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "ttl_as_stored")]
    pub expires_at: Option<i64>,
}

/// `expires_at` of an item that must not expire (legal hold): no TTL attribute is stored.
pub const NO_TTL: Option<i64> = None;

/// A TTL as stored: absent is none, and so is 0, which stood for none before the TTL was an
/// `Option` (it was never written, but reads the same as it always did).
pub(crate) fn ttl_as_stored<'de, D: Deserializer<'de>>(stored: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<i64>::deserialize(stored)?.filter(|&ttl| ttl != 0))
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
    /// An interrupted attempt may have delivered it (see `LineApiError::OutcomeUnknown`);
    /// never sent again, shown to staff as such.
    Unknown,
}

impl OutboundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Logged => "logged",
            Self::Unknown => "unknown",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Sending, Self::Sent, Self::Failed, Self::Logged, Self::Unknown].into_iter().find(|v| v.as_str() == s)
    }
}

/// How a message went (or was to go) out. Stored and shown as its name; a name written by
/// another version is kept as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendMethod {
    /// With the event's reply token (free, once, within a minute).
    Reply,
    /// A push message to the user, group or room.
    Push,
    /// Not sent (no access token): logged what would have been.
    Log,
    Other(String),
}

impl SendMethod {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Reply => "reply",
            Self::Push => "push",
            Self::Log => "log",
            Self::Other(name) => name,
        }
    }

    /// The method a stored name stands for; a name not known here is kept.
    pub fn from_name(name: &str) -> Self {
        match name {
            "reply" => Self::Reply,
            "push" => Self::Push,
            "log" => Self::Log,
            other => Self::Other(other.to_owned()),
        }
    }
}

serde_by_name!(SendMethod);

/// A message we send (or tried to). A reply to an event is keyed by that event, so it can be claimed once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundRecord {
    pub conversation: ConversationId,
    /// The event this answers, or a fresh id for a message staff send.
    pub id: String,
    /// Sorts the outbound right after what it answers.
    pub timestamp_ms: i64,
    pub created_ms: i64,
    pub method: SendMethod,
    /// The LINE message objects, as JSON.
    pub messages: String,
    pub status: OutboundStatus,
    /// Why the rules sent it (or why it failed).
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "ttl_as_stored")]
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dir", rename_all = "snake_case")]
pub enum LogItem {
    In(InboundRecord),
    Out(OutboundRecord),
}

/// A `LogItem` by reference, for writing: the same JSON, without cloning the record first.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "dir", rename_all = "snake_case")]
pub enum LogItemRef<'a> {
    In(&'a InboundRecord),
    Out(&'a OutboundRecord),
}

impl LogItem {
    pub fn timestamp_ms(&self) -> i64 {
        match self {
            LogItem::In(r) => r.timestamp_ms,
            LogItem::Out(r) => r.timestamp_ms,
        }
    }
}

/// A paging cursor that starts a conversation's log at items from `timestamp_ms` on.
pub fn log_cursor_from(timestamp_ms: i64) -> String {
    format!("MSG#{:013}", (timestamp_ms - 1).max(0))
}

/// Sort key of a log item within its conversation: time order, inbound before its reply.
pub fn log_sort_key(timestamp_ms: i64, inbound: bool, id: &str) -> String {
    format!("MSG#{:013}#{}#{id}", timestamp_ms.max(0), if inbound { 'I' } else { 'O' })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_item_writes_the_same_json_as_the_owned_one() {
        let out = OutboundRecord {
            conversation: ConversationId::user("U1"),
            id: "e1".into(),
            timestamp_ms: 1,
            created_ms: 2,
            method: SendMethod::Reply,
            messages: "[]".into(),
            status: OutboundStatus::Sent,
            reason: "r".into(),
            expires_at: Some(3),
        };
        let owned = serde_json::to_string(&LogItem::Out(out.clone())).unwrap();
        assert_eq!(serde_json::to_string(&LogItemRef::Out(&out)).unwrap(), owned);
        assert_eq!(serde_json::from_str::<LogItem>(&owned).unwrap(), LogItem::Out(out));
    }

    fn out_json(method: &str) -> String {
        format!(
            r#"{{"dir":"out","conversation":"user:U1","id":"e1","timestamp_ms":1,"created_ms":2,"method":{method:?},"messages":"[]","status":"sent","reason":"r","expires_at":3}}"#
        )
    }

    fn in_json(mode: &str) -> String {
        format!(
            r#"{{"dir":"in","conversation":"user:U1","event_id":"e1","timestamp_ms":1,"received_ms":2,"event_type":"message","message_type":"text","user_id":"U1","mode":{mode:?},"is_redelivery":false,"raw":"{{}}","expires_at":3}}"#
        )
    }

    /// Every form the log wrote when these were free strings (the embedded store's bytes, the
    /// archive's lines under the hash chain), read as the enum and written back byte for byte.
    #[test]
    fn each_send_method_is_stored_as_the_string_it_was_and_reads_back() {
        let methods = [
            (SendMethod::Reply, "reply"),
            (SendMethod::Push, "push"),
            (SendMethod::Log, "log"),
            (SendMethod::Other("carrier_pigeon".into()), "carrier_pigeon"),
            (SendMethod::Other(String::new()), ""),
        ];
        for (method, name) in methods {
            let stored = out_json(name);
            let LogItem::Out(read) = serde_json::from_str::<LogItem>(&stored).unwrap() else { panic!("{stored}") };
            assert_eq!(read.method, method, "{stored}");
            assert_eq!(serde_json::to_string(&LogItemRef::Out(&read)).unwrap(), stored);
            assert_eq!((method.as_str(), method.to_string()), (name, name.to_owned()));
            assert_eq!(SendMethod::from_name(name), method);
        }
    }

    #[test]
    fn each_mode_is_stored_as_the_events_string_and_an_unknown_one_is_kept() {
        let modes = [
            (Mode::Active, "active"),
            (Mode::Standby, "standby"),
            (Mode::Other("hologram".into()), "hologram"),
            // An event that was not even an object is logged with an empty mode.
            (Mode::Other(String::new()), ""),
        ];
        for (mode, name) in modes {
            let stored = in_json(name);
            let LogItem::In(read) = serde_json::from_str::<LogItem>(&stored).unwrap() else { panic!("{stored}") };
            assert_eq!(read.mode, mode, "{stored}");
            assert_eq!(serde_json::to_string(&LogItemRef::In(&read)).unwrap(), stored);
            assert_eq!((mode.as_str(), mode.to_string()), (name, name.to_owned()));
            assert_eq!(Mode::from_name(name), mode);
        }
    }

    #[test]
    fn a_method_or_mode_that_is_not_a_string_is_refused_as_before() {
        assert!(serde_json::from_str::<LogItem>(&out_json("x").replace(r#""method":"x""#, r#""method":1"#)).is_err());
        assert!(serde_json::from_str::<LogItem>(&in_json("x").replace(r#""mode":"x""#, r#""mode":null"#)).is_err());
    }
}
