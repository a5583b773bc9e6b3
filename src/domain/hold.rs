//! Legal hold, pure: a held conversation's log items carry no TTL, so nothing of it expires;
//! on release each item gets its TTL back, computed from the item's own time.

use serde::{Deserialize, Serialize};

use super::ids::ConversationId;
use super::log::LogItem;

/// A conversation on legal hold: who asked and why is the operator's `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub conversation: ConversationId,
    pub reason: String,
    pub since_ms: i64,
}

const SECONDS_PER_DAY: i64 = 86_400;

/// The TTL an item logged at `at_ms` gets: that time plus the retention, in Unix seconds.
pub fn expires_at(at_ms: i64, retention_days: u32) -> i64 {
    at_ms / 1000 + i64::from(retention_days) * SECONDS_PER_DAY
}

/// The time an item's TTL counts from: when the user acted for an inbound event, when we
/// created it for an outbound message (as the service sets them at logging time).
pub fn retention_start_ms(item: &LogItem) -> i64 {
    match item {
        LogItem::In(r) => r.timestamp_ms,
        LogItem::Out(r) => r.created_ms,
    }
}

pub fn ttl_of(item: &LogItem) -> Option<i64> {
    match item {
        LogItem::In(r) => r.expires_at,
        LogItem::Out(r) => r.expires_at,
    }
}

pub fn set_ttl(item: &mut LogItem, expires_at: Option<i64>) {
    match item {
        LogItem::In(r) => r.expires_at = expires_at,
        LogItem::Out(r) => r.expires_at = expires_at,
    }
}

/// The TTL an item has after a release: its own time plus the retention.
pub fn released_ttl(item: &LogItem, retention_days: u32) -> i64 {
    expires_at(retention_start_ms(item), retention_days)
}

/// Whether the item is due for removal at `now_s`: items without a TTL (held) never are.
pub fn is_expired(item: &LogItem, now_s: i64) -> bool {
    ttl_of(item).is_some_and(|ttl| ttl <= now_s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::Mode;
    use crate::domain::ids::EventId;
    use crate::domain::log::{InboundRecord, OutboundRecord, OutboundStatus, SendMethod, NO_TTL};

    fn inbound(ts: i64, expires_at: Option<i64>) -> LogItem {
        LogItem::In(InboundRecord {
            conversation: ConversationId::user("U1"),
            event_id: EventId::new("e".into()),
            timestamp_ms: ts,
            received_ms: ts + 900,
            event_type: "message".into(),
            message_type: None,
            user_id: None,
            mode: Mode::Active,
            is_redelivery: false,
            raw: "{}".into(),
            expires_at,
        })
    }

    #[test]
    fn a_release_counts_retention_from_the_items_own_time() {
        assert_eq!(released_ttl(&inbound(1_700_000_000_999, NO_TTL), 30), 1_700_000_000 + 30 * 86_400);
        let out = LogItem::Out(OutboundRecord {
            conversation: ConversationId::user("U1"),
            id: "e".into(),
            timestamp_ms: 1_000_000,
            created_ms: 5_000_000,
            method: SendMethod::Reply,
            messages: "[]".into(),
            status: OutboundStatus::Sent,
            reason: String::new(),
            expires_at: NO_TTL,
        });
        assert_eq!(released_ttl(&out, 1), 5_000 + 86_400, "an outbound counts from when it was created");
    }

    #[test]
    fn held_items_never_expire_and_others_expire_at_their_ttl() {
        assert!(!is_expired(&inbound(0, NO_TTL), i64::MAX));
        assert!(!is_expired(&inbound(0, Some(100)), 99));
        assert!(is_expired(&inbound(0, Some(100)), 100));
    }

    #[test]
    fn an_item_without_ttl_is_stored_without_the_attribute_and_read_back_as_held() {
        let json = serde_json::to_value(inbound(1, NO_TTL)).unwrap();
        assert!(json.get("expires_at").is_none(), "{json}");
        let back: LogItem = serde_json::from_value(json).unwrap();
        assert_eq!(ttl_of(&back), NO_TTL);
        let json = serde_json::to_value(inbound(1, Some(42))).unwrap();
        assert_eq!(json["expires_at"], 42);
    }

    #[test]
    fn a_stored_ttl_of_zero_reads_as_none_and_the_stored_text_is_what_it_was() {
        let with_ttl = serde_json::to_string(&inbound(1, Some(42))).unwrap();
        assert!(with_ttl.ends_with(r#","raw":"{}","expires_at":42}"#), "{with_ttl}");
        let zero = with_ttl.replace(r#""expires_at":42"#, r#""expires_at":0"#);
        let back: LogItem = serde_json::from_str(&zero).unwrap();
        assert_eq!(ttl_of(&back), NO_TTL, "0 stood for no TTL before it was an Option");
        let absent = serde_json::to_string(&back).unwrap();
        assert_eq!(absent, with_ttl.replace(r#","expires_at":42"#, ""));
        assert_eq!(serde_json::from_str::<LogItem>(&with_ttl).unwrap(), inbound(1, Some(42)));
    }
}
