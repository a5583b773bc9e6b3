//! Dry run: what would happen to this message from a user at time T, and why. Pure (`now` is an
//! argument), so the command line and the local server's `/explain` give the same answer as the
//! worker would.

use jiff::civil::DateTime;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::conversation::ConversationState;
use crate::domain::event::WebhookBody;
use crate::domain::ids::ConversationId;
use crate::domain::outbound::OutboundMessage;
use crate::domain::rules::{decide, Rules};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainRequest {
    /// `2026-12-24T21:30` (in the account's timezone) or an RFC 3339 instant; default now.
    pub at: Option<String>,
    /// The user's message; omit with `follow: true` to ask about the greeting.
    pub text: Option<String>,
    #[serde(default)]
    pub follow: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub at: String,
    pub open: Option<bool>,
    pub next_open: Option<String>,
    pub mode: Option<&'static str>,
    pub category: Option<&'static str>,
    pub confidence: Option<f64>,
    pub replies: Vec<serde_json::Value>,
    pub needs_attention: Option<String>,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("`at`: {0:?} is not a time like 2026-12-24T21:30 or 2026-12-24T12:30:00Z")]
    BadTime(String),
    #[error("give `text` (a message) or `follow`")]
    NothingToExplain,
}

pub fn explain(rules: &Rules, request: &ExplainRequest, now: Timestamp) -> Result<Explanation, ExplainError> {
    let at = match request.at.as_deref() {
        None => now,
        Some(s) => s
            .parse::<Timestamp>()
            .or_else(|_| s.parse::<DateTime>().and_then(|dt| dt.to_zoned(rules.timezone.clone())).map(|z| z.timestamp()))
            .map_err(|_| ExplainError::BadTime(s.to_owned()))?,
    };
    let event_json = match (&request.text, request.follow) {
        (_, true) => serde_json::json!({"type": "follow", "follow": {"isUnblocked": false}}),
        (Some(text), false) => serde_json::json!({"type": "message", "message": {"type": "text", "id": "explain", "text": text}}),
        (None, false) => return Err(ExplainError::NothingToExplain),
    };
    let mut event_json = event_json;
    event_json["webhookEventId"] = "explain".into();
    event_json["timestamp"] = at.as_millisecond().into();
    event_json["mode"] = "active".into();
    event_json["replyToken"] = "explain".into();
    event_json["source"] = serde_json::json!({"type": "user", "userId": "Uexplain"});
    let body = serde_json::json!({ "events": [event_json] }).to_string();
    let event = WebhookBody::parse(body.as_bytes()).expect("a body we built parses").events.remove(0);
    let mut state = ConversationState::new(ConversationId::user("Uexplain"));
    state.apply(&event, at.as_millisecond());
    let decision = decide(rules, &state, &event, at);
    let local = |t: Timestamp| t.to_zoned(rules.timezone.clone()).strftime("%Y-%m-%d %H:%M %Z (%a)").to_string();
    Ok(Explanation {
        at: local(at),
        open: rules.schedule.as_ref().map(|s| s.is_open(at)),
        next_open: rules.next_open(at).map(local),
        mode: decision.mode.map(|m| m.as_str()),
        category: decision.classification.as_ref().map(|c| c.category.as_str()),
        confidence: decision.classification.as_ref().map(|c| (c.confidence * 100.0).round() / 100.0),
        replies: decision.reply.iter().map(OutboundMessage::to_line_json).collect(),
        needs_attention: decision.attention,
        reason: decision.reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn example() -> Rules {
        Settings::load(concat!(env!("CARGO_MANIFEST_DIR"), "/settings.example.toml").as_ref()).unwrap().rules
    }

    #[test]
    fn an_evening_question_about_hours_gets_the_keyword_reply() {
        let req = ExplainRequest { at: Some("2026-12-24T21:30".into()), text: Some("営業時間".into()), follow: false };
        let e = explain(&example(), &req, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(e.open, Some(false));
        assert_eq!(e.mode, Some("auto_response"));
        assert!(e.replies[0]["text"].as_str().unwrap().starts_with("診療時間は"));
        assert_eq!(e.next_open.as_deref(), Some("2026-12-25 09:00 JST (Fri)"));
        assert!(e.reason.contains("keyword"), "{}", e.reason);
    }

    #[test]
    fn a_bad_time_is_named() {
        let req = ExplainRequest { at: Some("tomorrow".into()), text: Some("x".into()), follow: false };
        assert!(matches!(explain(&example(), &req, Timestamp::UNIX_EPOCH), Err(ExplainError::BadTime(_))));
    }
}
