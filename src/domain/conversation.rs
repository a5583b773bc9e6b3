//! What we know about one conversation, and how each inbound event changes it (pure).

use serde::{Deserialize, Serialize};

use super::event::{Event, EventKind, MessageContent};
use super::ids::ConversationId;
use super::rules::ResponseMode;

/// How many applied event ids a conversation remembers (redeliveries come within minutes).
const RECENT_EVENTS: usize = 16;
/// Characters of an applied event id's digest (base64url of SHA-256: 48 bits). A conversation
/// keeps digests, not ids (26 characters each): the state is written with every message, and
/// its write units go by its size. A new event is taken for one of 16 applied ones about once
/// in 2×10^13.
const DIGEST_CHARS: usize = 8;
/// How much of the last message the conversation list shows and filters on.
const PREVIEW_CHARS: usize = 200;
/// LINE does not publish a firm lifetime for reply tokens; past this we push instead.
pub const REPLY_TOKEN_VALID_MS: i64 = 50_000;

/// Staff's per-conversation override of the response mode ("bot off for 2 hours", "always manual").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModePin {
    pub mode: ResponseMode,
    /// None = until unpinned.
    pub until_ms: Option<i64>,
    pub by: String,
    pub at_ms: i64,
}

impl ModePin {
    pub fn is_active(&self, at_ms: i64) -> bool {
        self.until_ms.is_none_or(|until| at_ms < until)
    }
}

/// The reply token of the latest inbound message no automatic reply used: staff may still use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenReplyToken {
    pub token: String,
    pub event_id: String,
    pub received_ms: i64,
}

/// The user's LINE profile as last fetched (display name and picture), for the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    pub display_name: Option<String>,
    pub picture_url: Option<String>,
    pub fetched_ms: i64,
}

/// How often a known profile is fetched again (names and pictures change), and how soon a
/// failed fetch is tried again.
pub const PROFILE_REFRESH_MS: i64 = 24 * 3_600_000;
pub const PROFILE_RETRY_MS: i64 = 3_600_000;

/// What a conversation adds to the inbox counts, as last counted by the store: the store keeps
/// the counts by the difference between this and the state it saves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxFlags {
    pub unread: bool,
    pub needs_attention: bool,
}

/// Why staff cannot write into a conversation now (LINE's rules for chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyBlocked {
    /// A user who never sent a message (only followed): LINE allows chat only after the first.
    NeverWrote,
    /// The user blocked the account.
    Blocked,
    /// The account left (or was removed from) the group or room.
    Left,
}

/// An automatic reply a decision claimed, in the same versioned write as the decision: a
/// claim exists exactly when that write won. Kept until its outcome is found in the log (the
/// outbound record `…#O#<event_id>`), so a handler that runs the event again finds it and does
/// not send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyClaim {
    /// The event answered; also the outbound record's id.
    pub event_id: String,
    /// The event's time: with the id, where its outbound record is logged.
    pub at_ms: i64,
    /// When the claim was made: what its lease runs from.
    pub claimed_ms: i64,
}

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
    /// Recently applied events (digests of their ids, see `event_digest`; ids written by an
    /// earlier version are read as they are), so a redelivered stream record changes nothing twice.
    #[serde(default)]
    pub recent_events: Vec<String>,
    /// At or after the time of every event id dropped from `recent_events`: an event no later
    /// than this may have been applied though it is not listed. None: nothing dropped yet.
    #[serde(default)]
    pub forgotten_ms: Option<i64>,
    /// Automatic replies claimed whose outcome was not yet seen in the log (see `ReplyClaim`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<ReplyClaim>,
    /// Newest inbound or outbound message, for the list order.
    #[serde(default)]
    pub last_activity_ms: i64,
    /// When staff last read the conversation; unread while an inbound message is newer.
    #[serde(default)]
    pub last_read_ms: i64,
    /// Marked resolved by staff; a new inbound message reopens it.
    #[serde(default)]
    pub resolved: bool,
    /// The last message's text (or `[sticker]`, `[image]`...), shortened: the list's preview.
    #[serde(default)]
    pub last_text: Option<String>,
    /// Tag ids (at most `tags::MAX_TAGS_PER_USER`).
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub pin: Option<ModePin>,
    #[serde(default)]
    pub reply_token: Option<OpenReplyToken>,
    /// When staff were last told this conversation needs them, and whether the one reminder went out.
    #[serde(default)]
    pub notified_ms: Option<i64>,
    #[serde(default)]
    pub renotified: bool,
    /// The last time staff answered (manual reply) or resolved it.
    #[serde(default)]
    pub staff_answered_ms: Option<i64>,
    /// The LINE profile, fetched at first contact and refreshed now and then.
    #[serde(default)]
    pub profile: Option<UserProfile>,
    /// When the profile was last asked for (successfully or not).
    #[serde(default)]
    pub profile_checked_ms: Option<i64>,
    /// A name staff gave the user, shown instead of the LINE name (LINE's screen has one).
    #[serde(default)]
    pub staff_name: Option<String>,
    /// This conversation's share of the inbox counts as the store last counted it; only the
    /// store changes it (see `InboxFlags`).
    #[serde(default)]
    pub counted: InboxFlags,
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
            forgotten_ms: None,
            replies: Vec::new(),
            last_activity_ms: 0,
            last_read_ms: 0,
            resolved: false,
            last_text: None,
            tags: Vec::new(),
            pin: None,
            reply_token: None,
            notified_ms: None,
            renotified: false,
            staff_answered_ms: None,
            profile: None,
            profile_checked_ms: None,
            staff_name: None,
            counted: InboxFlags::default(),
            version: 0,
        }
    }

    pub fn is_blocked(&self) -> bool {
        self.following == Some(false)
    }

    pub fn has_applied(&self, event_id: &str) -> bool {
        let digest = event_digest(event_id);
        self.recent_events.iter().any(|e| *e == digest || e == event_id)
    }

    /// Whether an event at `at_ms` not in `recent_events` may still have been applied: it is no
    /// later than an event id the conversation dropped.
    pub fn may_have_forgotten(&self, at_ms: i64) -> bool {
        self.forgotten_ms.is_some_and(|forgotten| at_ms <= forgotten)
    }

    /// The reply claimed for this event, if its outcome was not yet seen in the log.
    pub fn reply_claim(&self, event_id: &str) -> Option<&ReplyClaim> {
        self.replies.iter().find(|c| c.event_id == event_id)
    }

    /// Folds one inbound event in, once per event id. Order-independent for times.
    pub fn apply(&mut self, event: &Event, at_ms: i64) {
        let id = event.id();
        if self.has_applied(id.as_str()) {
            return;
        }
        if self.recent_events.len() >= RECENT_EVENTS {
            self.recent_events.remove(0);
            // The dropped event was applied before this one: no later than the newest so far.
            self.forgotten_ms = self.forgotten_ms.max(self.last_inbound_ms);
        }
        self.recent_events.push(event_digest(id.as_str()));
        self.first_inbound_ms = Some(self.first_inbound_ms.map_or(at_ms, |t| t.min(at_ms)));
        self.last_inbound_ms = Some(self.last_inbound_ms.map_or(at_ms, |t| t.max(at_ms)));
        match &event.kind {
            EventKind::Message(message) | EventKind::MessageEdited(message) => {
                self.has_written = true;
                // A new message reopens a resolved conversation and makes it unread.
                self.resolved = false;
                if at_ms >= self.last_activity_ms {
                    self.last_activity_ms = at_ms;
                    self.last_text = Some(preview(&message.content));
                    self.reply_token = event.reply_token.as_ref().map(|token| OpenReplyToken {
                        token: token.clone(),
                        event_id: id.as_str().to_owned(),
                        received_ms: at_ms,
                    });
                }
            }
            EventKind::Follow { .. } => {
                self.following = Some(true);
                self.follow_count += 1;
            }
            // For a group or room, "following" is whether the account is in it.
            EventKind::Unfollow | EventKind::Leave => self.following = Some(false),
            EventKind::Join => self.following = Some(true),
            _ => {}
        }
    }

    /// What this conversation adds to the inbox counts (spam is not in the inbox).
    pub fn inbox_flags(&self) -> InboxFlags {
        InboxFlags { unread: !self.spam && self.is_unread(), needs_attention: !self.spam && self.needs_attention }
    }

    /// Whether staff may write now, and if not, why. Groups and rooms are answered by hand
    /// while the account is in them; a user only after their first message and while following.
    pub fn reply_blocked(&self) -> Option<ReplyBlocked> {
        if self.id.is_user() {
            if self.is_blocked() {
                Some(ReplyBlocked::Blocked)
            } else if !self.has_written {
                Some(ReplyBlocked::NeverWrote)
            } else {
                None
            }
        } else {
            self.is_blocked().then_some(ReplyBlocked::Left)
        }
    }

    /// Whether LINE's profile (a user's, or a group's summary) should be asked for now: at first
    /// contact, then daily (hourly after a failure). Rooms have no name to ask for.
    pub fn wants_profile(&self, now_ms: i64) -> bool {
        if !self.id.is_user() && !self.id.as_str().starts_with("group:") {
            return false;
        }
        let Some(checked) = self.profile_checked_ms else { return true };
        let succeeded = self.profile.as_ref().is_some_and(|p| p.fetched_ms >= checked);
        now_ms - checked >= if succeeded { PROFILE_REFRESH_MS } else { PROFILE_RETRY_MS }
    }

    pub fn flag(&mut self, reason: impl Into<String>) {
        self.needs_attention = true;
        self.attention_reason = Some(reason.into());
        self.resolved = false;
    }

    /// What the conversation list sorts by: the newest message either way, or any inbound event.
    pub fn activity_ms(&self) -> i64 {
        self.last_activity_ms.max(self.last_inbound_ms.unwrap_or(0))
    }

    pub fn is_unread(&self) -> bool {
        self.last_inbound_ms.is_some_and(|t| t > self.last_read_ms)
    }

    /// The pinned mode, if a pin is active at `at_ms`.
    pub fn pinned_mode(&self, at_ms: i64) -> Option<ResponseMode> {
        self.pin.as_ref().filter(|p| p.is_active(at_ms)).map(|p| p.mode)
    }

    pub fn resolve(&mut self, at_ms: i64) {
        self.resolved = true;
        self.needs_attention = false;
        self.attention_reason = None;
        self.staff_answered_ms = Some(at_ms);
    }

    /// Takes the open reply token if it is still fresh at `now_ms`; it can be used once.
    pub fn take_reply_token(&mut self, now_ms: i64) -> Option<OpenReplyToken> {
        let token = self.reply_token.take()?;
        (now_ms - token.received_ms < REPLY_TOKEN_VALID_MS).then_some(token)
    }

    /// Records a message staff sent: newest activity, answered, no longer waiting for staff.
    pub fn record_staff_reply(&mut self, at_ms: i64, preview_text: String) {
        self.last_activity_ms = self.last_activity_ms.max(at_ms);
        self.last_text = Some(shorten(&preview_text));
        self.last_read_ms = self.last_read_ms.max(at_ms);
        self.staff_answered_ms = Some(at_ms);
        self.needs_attention = false;
        self.attention_reason = None;
    }
}

/// What `recent_events` keeps of an event id.
pub fn event_digest(event_id: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(event_id.as_bytes()));
    encoded[..DIGEST_CHARS].to_owned()
}

/// A short text standing for a message in the conversation list.
pub fn preview(content: &MessageContent) -> String {
    match content {
        MessageContent::Text { text, .. } => shorten(text),
        other => format!("[{}]", other.type_name()),
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(PREVIEW_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_staff_may_write_to() {
        let mut user = ConversationState::new(ConversationId::user("U1"));
        assert_eq!(user.reply_blocked(), Some(ReplyBlocked::NeverWrote), "only followed");
        user.has_written = true;
        assert_eq!(user.reply_blocked(), None);
        user.following = Some(false);
        assert_eq!(user.reply_blocked(), Some(ReplyBlocked::Blocked));
        let mut group = ConversationState::new(ConversationId::group("C1"));
        assert_eq!(group.reply_blocked(), None, "a group is answered by hand even before anyone wrote");
        group.following = Some(false);
        assert_eq!(group.reply_blocked(), Some(ReplyBlocked::Left));
    }

    #[test]
    fn profiles_are_asked_for_at_first_contact_then_daily_or_hourly_after_a_failure() {
        let mut s = ConversationState::new(ConversationId::user("U1"));
        assert!(s.wants_profile(0));
        s.profile_checked_ms = Some(1_000);
        assert!(!s.wants_profile(1_000 + PROFILE_RETRY_MS - 1) && s.wants_profile(1_000 + PROFILE_RETRY_MS), "failed: an hour");
        s.profile = Some(UserProfile { display_name: Some("ゆき".into()), picture_url: None, fetched_ms: 1_000 });
        assert!(!s.wants_profile(1_000 + PROFILE_RETRY_MS), "succeeded: a day");
        assert!(s.wants_profile(1_000 + PROFILE_REFRESH_MS));
        assert!(ConversationState::new(ConversationId::group("C1")).wants_profile(0), "a group's summary");
        assert!(!ConversationState::new(ConversationId::parse("room:R1").unwrap()).wants_profile(0), "rooms have no name");
    }

    fn text(id: &str) -> Event {
        let raw = format!(
            r#"{{"type":"message","webhookEventId":"{id}","timestamp":0,"mode":"active","replyToken":"r","source":{{"type":"user","userId":"U1"}},"message":{{"type":"text","id":"1","text":"hi"}}}}"#
        );
        Event::from_raw_json(&raw).unwrap()
    }

    #[test]
    fn applied_events_are_kept_as_short_digests_and_ids_kept_before_still_count() {
        let mut s = ConversationState::new(ConversationId::user("U1"));
        s.apply(&text("01JWQ3AF7CY3Z0WW1W996CVQVE"), 10);
        assert_eq!(s.recent_events, [event_digest("01JWQ3AF7CY3Z0WW1W996CVQVE")]);
        assert_eq!(s.recent_events[0].len(), DIGEST_CHARS);
        assert!(s.has_applied("01JWQ3AF7CY3Z0WW1W996CVQVE") && !s.has_applied("01JWQ3AF7CY3Z0WW1W996CVQVF"));
        // A state written by an earlier version lists the ids themselves.
        s.recent_events.push("01JWQ3AF7CY3Z0WW1W996COLD1".into());
        assert!(s.has_applied("01JWQ3AF7CY3Z0WW1W996COLD1"));
        let before = s.clone();
        s.apply(&text("01JWQ3AF7CY3Z0WW1W996CVQVE"), 10);
        assert_eq!(s, before, "applied once");
    }

    #[test]
    fn an_event_no_later_than_one_the_conversation_forgot_may_have_been_applied() {
        let mut s = ConversationState::new(ConversationId::user("U1"));
        for n in 0..RECENT_EVENTS as i64 {
            s.apply(&text(&format!("e{n}")), 1_000 + n);
        }
        assert_eq!(s.forgotten_ms, None, "nothing dropped yet");
        assert!(!s.may_have_forgotten(0));
        // One more drops e0 (applied at 1000); the bound is the newest applied before: 1015.
        s.apply(&text("e16"), 2_000);
        assert!(!s.has_applied("e0"));
        assert_eq!(s.forgotten_ms, Some(1_015));
        assert!(s.may_have_forgotten(1_000) && s.may_have_forgotten(1_015));
        assert!(!s.may_have_forgotten(1_016), "a later event is surely new");
    }

    #[test]
    fn spam_is_not_in_the_inbox() {
        let mut s = ConversationState::new(ConversationId::user("U1"));
        s.last_inbound_ms = Some(5);
        s.flag("complaint");
        assert_eq!(s.inbox_flags(), InboxFlags { unread: true, needs_attention: true });
        s.spam = true;
        assert_eq!(s.inbox_flags(), InboxFlags::default());
    }
}
