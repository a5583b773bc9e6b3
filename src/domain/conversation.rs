//! What we know about one conversation, and how each inbound event changes it (pure).

use serde::{Deserialize, Serialize};

use super::event::{Event, EventKind};
use super::ids::ConversationId;

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
            version: 0,
        }
    }

    pub fn is_blocked(&self) -> bool {
        self.following == Some(false)
    }

    /// Folds one inbound event in. Order-independent for times, so a late redelivery is harmless.
    pub fn apply(&mut self, event: &Event, at_ms: i64) {
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
