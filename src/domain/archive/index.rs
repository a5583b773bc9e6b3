//! The archive's day index, pure: per conversation and day, which log items (by sort key and
//! content) the archive holds and in which object. One small object per conversation-day, so
//! checking that an item removed by TTL was archived is one read, not a walk of the chain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::version_of;
use crate::domain::hold::set_ttl;
use crate::domain::ids::ConversationId;
use crate::domain::log::{log_sort_key, LogItem, NO_TTL};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayIndex {
    /// Sort key -> content version -> the object holding that content.
    pub items: BTreeMap<String, BTreeMap<String, String>>,
}

/// An item's content without its TTL: a hold or release changes the TTL, not what was said.
pub fn content_version(item: &LogItem) -> String {
    let mut item = item.clone();
    set_ttl(&mut item, NO_TTL);
    version_of(&item)
}

pub fn conversation_of(item: &LogItem) -> &ConversationId {
    match item {
        LogItem::In(r) => &r.conversation,
        LogItem::Out(r) => &r.conversation,
    }
}

pub fn sort_key_of(item: &LogItem) -> String {
    match item {
        LogItem::In(r) => log_sort_key(r.timestamp_ms, true, r.event_id.as_str()),
        LogItem::Out(r) => log_sort_key(r.timestamp_ms, false, &r.id),
    }
}

/// The index object an item is listed in: its conversation and its day (UTC).
pub fn index_key(item: &LogItem) -> String {
    let day = jiff::Timestamp::from_millisecond(item.timestamp_ms()).map(|t| t.strftime("%Y-%m-%d").to_string()).unwrap_or_default();
    format!("index/{}/{day}.json", conversation_of(item))
}

impl DayIndex {
    /// Lists `item` as held by `object`; false if it was listed already.
    pub fn record(&mut self, item: &LogItem, object: &str) -> bool {
        let versions = self.items.entry(sort_key_of(item)).or_default();
        match versions.entry(content_version(item)) {
            // The first object that archived it stays the answer.
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(object.to_owned());
                true
            }
        }
    }

    /// The object holding this item with this content, if any.
    pub fn object_of(&self, item: &LogItem) -> Option<&str> {
        self.items.get(&sort_key_of(item))?.get(&content_version(item)).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::Mode;
    use crate::domain::hold::set_ttl;
    use crate::domain::ids::EventId;
    use crate::domain::log::InboundRecord;

    fn item(text: &str) -> LogItem {
        LogItem::In(InboundRecord {
            conversation: ConversationId::user("U1"),
            event_id: EventId::new("e1".into()),
            timestamp_ms: 1_764_000_000_000,
            received_ms: 1_764_000_000_000,
            event_type: "message".into(),
            message_type: Some("text".into()),
            user_id: None,
            mode: Mode::Active,
            is_redelivery: false,
            raw: text.into(),
            expires_at: Some(1_800_000_000),
        })
    }

    #[test]
    fn an_item_is_found_whatever_its_ttl_but_not_with_other_content() {
        let mut index = DayIndex::default();
        assert!(index.record(&item("a"), "transcripts/user:U1/0000000001-2025-11-24.jsonl"));
        assert!(!index.record(&item("a"), "elsewhere"), "listed once");
        let mut held = item("a");
        set_ttl(&mut held, NO_TTL);
        assert_eq!(index.object_of(&held), Some("transcripts/user:U1/0000000001-2025-11-24.jsonl"));
        assert_eq!(index.object_of(&item("edited")), None);
        assert_eq!(index_key(&held), "index/user:U1/2025-11-24.json");
    }
}
