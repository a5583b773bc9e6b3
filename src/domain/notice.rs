//! Staff notices (pure): what we tell staff when a conversation needs a person, the JSON
//! payload every channel carries, the SNS subject line, and the once-only re-notify rule.
//!
//! Privacy: a notice names the conversation and a reason tag, never the user's message text.
//! Staff open the conversation (the console link) to read it.

use serde::{Deserialize, Serialize};

use super::ids::ConversationId;

/// Version of the payload schema; bumped on any incompatible change.
pub const PAYLOAD_VERSION: u32 = 1;
/// The `type` field of every payload, so a receiver sharing an endpoint can tell ours apart.
pub const PAYLOAD_TYPE: &str = "line_oa.staff_notice";
/// SNS refuses a Subject of 100 characters or more (and anything but printable ASCII).
pub const SUBJECT_MAX_CHARS: usize = 99;
/// Reasons are tags; a longer one is cut so a misused reason cannot carry a whole message.
pub const REASON_MAX_CHARS: usize = 64;
/// Placeholder in the console URL template (`NOTIFY_CONSOLE_URL`).
pub const CONSOLE_URL_PLACEHOLDER: &str = "{conversation}";

/// Reason tags for the situations the issue names; rule categories (`complaint`,
/// `cannot_answer`, …) are used as they are.
pub mod reasons {
    /// A user wrote during chat hours, when staff answer by hand.
    pub const CHAT_HOURS: &str = "chat_hours";
    pub const COMPLAINT: &str = "complaint";
    pub const CANNOT_ANSWER: &str = "cannot_answer";
    /// An automatic reply could not be delivered.
    pub const REPLY_FAILED: &str = "reply_failed";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The first notice for this need.
    NeedsAttention,
    /// The one reminder, when nobody answered within the configured delay.
    Renotify,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NeedsAttention => "needs_attention",
            Self::Renotify => "renotify",
        }
    }
}

/// One notice to staff. Build with [`StaffNotice::needs_attention`] or [`StaffNotice::renotify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffNotice {
    pub conversation: ConversationId,
    /// A short tag (see [`reasons`]), never user text.
    pub reason: String,
    pub kind: NoticeKind,
    /// When the need arose (the triggering event's time), or for a re-notify when it fell due.
    /// Not "now": a retried delivery must carry the same time, hence the same delivery id.
    pub at_ms: i64,
    /// The webhook event that raised the need, if one did.
    pub event_id: Option<String>,
    /// Where staff open the conversation (from `NOTIFY_CONSOLE_URL`), if configured.
    pub console_url: Option<String>,
}

impl StaffNotice {
    pub fn needs_attention(conversation: ConversationId, reason: &str, at_ms: i64) -> Self {
        Self::new(conversation, reason, NoticeKind::NeedsAttention, at_ms)
    }

    /// The reminder for a conversation first notified at `notified_at_ms`; its time is the
    /// due time, so every attempt to send the same reminder is the same notice. (Call it when
    /// [`should_renotify`] says so; with re-notifying off it is timed at the first notice.)
    pub fn renotify(conversation: ConversationId, reason: &str, notified_at_ms: i64, delay: RenotifyDelay) -> Self {
        let due = renotify_due_ms(notified_at_ms, delay).unwrap_or(notified_at_ms);
        Self::new(conversation, reason, NoticeKind::Renotify, due)
    }

    fn new(conversation: ConversationId, reason: &str, kind: NoticeKind, at_ms: i64) -> Self {
        let reason: String = reason.trim().chars().take(REASON_MAX_CHARS).collect();
        Self { conversation, reason, kind, at_ms, event_id: None, console_url: None }
    }

    pub fn with_event_id(mut self, event_id: impl Into<String>) -> Self {
        self.event_id = Some(event_id.into());
        self
    }

    /// Fills the console link from a template containing `{conversation}`.
    pub fn with_console_url(mut self, template: Option<&str>) -> Self {
        self.console_url = template.map(|t| t.replace(CONSOLE_URL_PLACEHOLDER, self.conversation.as_str()));
        self
    }

    /// Stable per notice (not per attempt): receivers de-duplicate retried deliveries by it.
    pub fn delivery_id(&self) -> uuid::Uuid {
        let key = format!(
            "{}\n{}\n{}\n{}\n{}",
            self.conversation,
            self.kind.as_str(),
            self.reason,
            self.at_ms,
            self.event_id.as_deref().unwrap_or_default()
        );
        uuid::Uuid::new_v5(&DELIVERY_NAMESPACE, key.as_bytes())
    }

    /// The JSON every channel carries; schema: `schemas/staff-notice-v1.schema.json`.
    pub fn payload(&self) -> NoticePayload<'_> {
        NoticePayload {
            version: PAYLOAD_VERSION,
            r#type: PAYLOAD_TYPE,
            delivery_id: self.delivery_id().to_string(),
            kind: self.kind,
            conversation: self.conversation.as_str(),
            reason: &self.reason,
            at_ms: self.at_ms,
            at: jiff::Timestamp::from_millisecond(self.at_ms).map(|t| t.to_string()).unwrap_or_default(),
            event_id: self.event_id.as_deref(),
            console_url: self.console_url.as_deref(),
        }
    }

    /// The payload serialised once; the exact bytes that are sent (and signed).
    pub fn payload_json(&self) -> String {
        serde_json::to_string(&self.payload()).expect("a payload of strings and numbers serialises")
    }

    /// A one-line subject for e-mail/SNS: printable ASCII, at most [`SUBJECT_MAX_CHARS`].
    pub fn subject(&self) -> String {
        let lead = match self.kind {
            NoticeKind::NeedsAttention => "[LINE OA] Staff needed",
            NoticeKind::Renotify => "[LINE OA] Still unanswered",
        };
        let full = format!("{lead}: {} - {}", self.reason, self.conversation);
        let ascii: String = full.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect();
        if ascii.len() <= SUBJECT_MAX_CHARS {
            return ascii;
        }
        // ASCII only, so byte and char counts agree.
        format!("{}...", &ascii[..SUBJECT_MAX_CHARS - 3])
    }
}

/// Namespace for delivery ids (a fixed random UUID).
const DELIVERY_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x2c8e_71d4_93a0_4f6b_b5e2_0d7c_6a19_f348);

/// The payload's wire shape, version 1 (`schemas/staff-notice-v1.schema.json`; a field added or
/// changed here is a schema change). Field order is the serialised order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticePayload<'a> {
    pub version: u32,
    pub r#type: &'static str,
    pub delivery_id: String,
    pub kind: NoticeKind,
    pub conversation: &'a str,
    pub reason: &'a str,
    pub at_ms: i64,
    /// `at_ms` as RFC 3339 UTC, for people reading an e-mail.
    pub at: String,
    pub event_id: Option<&'a str>,
    pub console_url: Option<&'a str>,
}

/// How long after the first notice an unanswered conversation is notified again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenotifyDelay {
    Disabled,
    After { minutes: u32 },
}

impl RenotifyDelay {
    pub const DEFAULT_MINUTES: u32 = 30;

    /// `0` switches re-notifying off.
    pub fn from_minutes(minutes: u32) -> Self {
        if minutes == 0 {
            Self::Disabled
        } else {
            Self::After { minutes }
        }
    }

    pub fn as_ms(self) -> Option<i64> {
        match self {
            Self::Disabled => None,
            Self::After { minutes } => Some(i64::from(minutes) * 60_000),
        }
    }
}

impl Default for RenotifyDelay {
    fn default() -> Self {
        Self::After { minutes: Self::DEFAULT_MINUTES }
    }
}

/// What the re-notify rule needs to know about one notified conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowUp {
    /// When the first notice went out (or was due: its `at_ms`).
    pub notified_at_ms: i64,
    /// A manual reply was sent or the conversation was marked resolved after the notice;
    /// see [`staff_answered_since`].
    pub staff_answered: bool,
    /// The reminder already went out: there is only ever one.
    pub renotified: bool,
}

impl FollowUp {
    /// From stored times: `last_staff_action_ms` is the latest manual reply or resolve, if any.
    pub fn from_times(notified_at_ms: i64, last_staff_action_ms: Option<i64>, renotified: bool) -> Self {
        Self { notified_at_ms, staff_answered: staff_answered_since(notified_at_ms, last_staff_action_ms), renotified }
    }
}

/// When the reminder falls due, if re-notifying is on.
pub fn renotify_due_ms(notified_at_ms: i64, delay: RenotifyDelay) -> Option<i64> {
    delay.as_ms().map(|d| notified_at_ms.saturating_add(d))
}

/// Re-notify once if staff have not answered within the delay.
pub fn should_renotify(follow_up: &FollowUp, delay: RenotifyDelay, now_ms: i64) -> bool {
    if follow_up.staff_answered || follow_up.renotified {
        return false;
    }
    renotify_due_ms(follow_up.notified_at_ms, delay).is_some_and(|due| now_ms >= due)
}

/// Whether the latest staff action (manual reply or resolve) came at or after the notice.
pub fn staff_answered_since(notified_at_ms: i64, last_staff_action_ms: Option<i64>) -> bool {
    last_staff_action_ms.is_some_and(|t| t >= notified_at_ms)
}

#[cfg(test)]
mod tests;
