//! The webhook body: what ingest parses after the signature, and what the worker then does with
//! each event (re-read from its logged raw JSON, folded into the conversation, decided).

use std::sync::OnceLock;

use jiff::Timestamp;

use crate::domain::conversation::ConversationState;
use crate::domain::event::{Event, Mode, Source, WebhookBody};
use crate::domain::ids::ConversationId;
use crate::domain::outbound::MAX_MESSAGES_PER_REQUEST;
use crate::domain::rules::decide;
use crate::settings::Settings;

/// The worker decides by the event's own time; one without a usable one is decided at this instant.
const FALLBACK_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Rules with hours, keywords and greetings (the example file), and the defaults.
fn rule_sets() -> &'static [Settings; 2] {
    static SETS: OnceLock<[Settings; 2]> = OnceLock::new();
    SETS.get_or_init(|| {
        let example = Settings::from_toml(include_str!("../../settings.example.toml")).expect("the example settings load");
        [example, Settings::default()]
    })
}

/// Any bytes: a body either parses or is refused; never a panic. Every event the body holds is
/// kept, re-reads from its raw JSON to the same event (the worker's input is the log, not the
/// request), folds into a conversation once however often it is delivered, and is decided.
pub fn webhook_body(data: &[u8]) {
    let Ok(body) = WebhookBody::parse(data) else { return };
    // serde also reads the body's struct from an array of its fields (`["U1", []]`): compare
    // with the JSON only for the object LINE sends.
    if let Ok(value @ serde_json::Value::Object(_)) = serde_json::from_slice::<serde_json::Value>(data) {
        let expected = value.get("events").and_then(|e| e.as_array()).map_or(0, Vec::len);
        assert_eq!(body.events.len(), expected, "every event of the array is kept");
        assert_eq!(body.destination.as_deref(), value.get("destination").and_then(|d| d.as_str()));
    }
    for event in &body.events {
        let again = Event::from_raw_json(event.raw.get()).expect("a kept event re-reads from its raw JSON");
        assert_eq!(again.event_type, event.event_type);
        assert_eq!(again.kind, event.kind);
        assert_eq!(again.webhook_event_id, event.webhook_event_id);
        assert_eq!(again.timestamp_ms, event.timestamp_ms);
        assert_eq!(again.mode, event.mode);
        assert_eq!(Mode::from_name(event.mode.as_str()), event.mode, "the mode logged by name reads back as the event's");
        assert_eq!(again.is_redelivery, event.is_redelivery);
        assert_eq!(again.source, event.source);
        assert_eq!(again.reply_token, event.reply_token);
        assert_eq!(again.id(), event.id(), "the event's identity does not depend on who read it");
        check_conversation(event);
        worker(event);
    }
}

/// A conversation named by a source with its ids present reads back from its rendering, so
/// staff can address it (`/api/conversations/{id}`) and the archive can key it.
fn check_conversation(event: &Event) {
    let conversation = event.conversation_id();
    let complete = match &event.source {
        None => true,
        Some(Source::User { user_id }) => !user_id.is_empty(),
        Some(Source::Group { group_id, .. }) => !group_id.is_empty(),
        Some(Source::Room { room_id, .. }) => !room_id.is_empty(),
        Some(Source::Unknown { source_type }) => !source_type.is_empty(),
    };
    if complete {
        assert_eq!(ConversationId::parse(conversation.as_str()).as_ref(), Some(&conversation), "{conversation}");
    }
}

/// The worker's pure path: fold the event in (twice, as a redelivery would), decide under each
/// rule set, apply the decision.
fn worker(event: &Event) {
    let at_ms = event.timestamp_ms.unwrap_or(FALLBACK_MS);
    let at = Timestamp::from_millisecond(at_ms).unwrap_or_else(|_| Timestamp::from_millisecond(FALLBACK_MS).expect("valid"));
    for settings in rule_sets() {
        let mut state = ConversationState::new(event.conversation_id());
        state.apply(event, at_ms);
        let once = state.clone();
        state.apply(event, at_ms);
        assert_eq!(state, once, "a redelivered event changes nothing");
        let decision = decide(&settings.rules, &state, event, at);
        assert_eq!(decide(&settings.rules, &state, event, at), decision, "decisions are pure");
        assert!(decision.reply.len() <= MAX_MESSAGES_PER_REQUEST, "{} messages in one reply", decision.reply.len());
        decision.apply_to(&mut state);
    }
}
