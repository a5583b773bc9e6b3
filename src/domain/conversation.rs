//! What we know about one conversation, and how each inbound event changes it (pure).

use serde::{Deserialize, Serialize};

use super::event::{Event, EventKind};
use super::ids::ConversationId;

/// How many applied event ids a conversation remembers (redeliveries come within minutes).
const RECENT_EVENTS: usize = 16;

/// When an automatic out-of-hours notice went out, and for which closed period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The closed period's end (next opening, ms), or "" when the period is not by hours.
    pub period: String,
    pub at_ms: i64,
    pub event_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationState {
    pub id: ConversationId,
    pub first_inbound_ms: Option<i64>,
    pub last_inbound_ms: Option<i64>,
    /// The user has sent at least one message: LINE allows manual chat only after that.
    pub has_written: bool,
    /// `Some(false)` after an unfollow (the user blocked the account).
    pub following: Option<bool>,
    pub follow_count: u32,
    pub needs_attention: bool,
    pub attention_reason: Option<String>,
    /// Marked as spam by staff: logged, never answered automatically.
    #[serde(default)]
    pub spam: bool,
    /// The last out-of-hours default response, for the once-per-period throttle.
    #[serde(default)]
    pub last_notice: Option<Notice>,
    /// Recently applied event ids, so a redelivered stream record changes nothing twice.
    #[serde(default)]
    pub recent_events: Vec<String>,
    /// Optimistic-concurrency version; 0 = not stored yet.
    pub version: u64,
}

impl ConversationState {
    pub fn new(id: ConversationId) -> Self {
        Self {
            id,
            first_inbound_ms: None,
            last_inbound_ms: None,
            has_written: false,
            following: None,
            follow_count: 0,
            needs_attention: false,
            attention_reason: None,
            spam: false,
            last_notice: None,
            recent_events: Vec::new(),
            version: 0,
        }
    }

    pub fn is_blocked(&self) -> bool {
        self.following == Some(false)
    }

    pub fn has_applied(&self, event_id: &str) -> bool {
        self.recent_events.iter().any(|e| e == event_id)
    }

    /// Folds one inbound event in, once per event id. Order-independent for times.
    pub fn apply(&mut self, event: &Event, at_ms: i64) {
        let id = event.id();
        if self.has_applied(id.as_str()) {
            return;
        }
        if self.recent_events.len() >= RECENT_EVENTS {
            self.recent_events.remove(0);
        }
        self.recent_events.push(id.as_str().to_owned());
        self.first_inbound_ms = Some(self.first_inbound_ms.map_or(at_ms, |t| t.min(at_ms)));
        self.last_inbound_ms = Some(self.last_inbound_ms.map_or(at_ms, |t| t.max(at_ms)));
        match event.kind {
            EventKind::Message(_) | EventKind::MessageEdited(_) => self.has_written = true,
            EventKind::Follow { .. } => {
                self.following = Some(true);
                self.follow_count += 1;
            }
            EventKind::Unfollow => self.following = Some(false),
            _ => {}
        }
    }

    pub fn flag(&mut self, reason: impl Into<String>) {
        self.needs_attention = true;
        self.attention_reason = Some(reason.into());
    }
}
