//! Dry run: what would happen to this message from a user at time T, and why. Pure (`now` is an
//! argument), so the command line and the local server's `/explain` give the same answer as the
//! worker would.

use jiff::civil::DateTime;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::classifier::Classifier;
use crate::domain::conversation::ConversationState;
use crate::domain::event::WebhookBody;
use crate::domain::faq::FaqMatch;
use crate::domain::grounding;
use crate::domain::ids::ConversationId;
use crate::domain::outbound::OutboundMessage;
use crate::domain::rules::{decide, faq_reply, faq_skipped, FaqSkip, Path, Rules};

/// How many FAQ candidates the dry run lists.
const FAQ_CANDIDATES: usize = 3;

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
    /// Which rule gave the reply (`no_reply` when none did).
    pub path: Path,
    pub reason: String,
    /// How the message scored against the FAQ (when any is configured and it is text), whether
    /// or not the mode at that time consults it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faq: Option<FaqExplanation>,
    /// The model's side, when `[ai.model]` is on. A dry run never asks it: `path` and `reason`
    /// are what happens when it gives no usable answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelExplanation>,
}

/// Whether the worker would ask the model about this message, and what it would give it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelExplanation {
    pub would_ask: bool,
    pub model_id: String,
    pub timeout_ms: u64,
    /// The ids of the facts it would be given (the FAQ, business info, hours at `at`).
    pub facts: Vec<String>,
    pub then: &'static str,
}

const MODEL_THEN: &str = "its answer is sent (path \"model\") only if it cites a fact it was given; otherwise, or on a timeout or an error, the path and reason above";
const MODEL_NOT_ASKED: &str = "not asked: the rules answer this message themselves, or it is a complaint, a long message or not text";

/// The FAQ side of a dry run: what staff tune their phrasings and `ai.faq_min_score` with.
#[derive(Debug, Clone, Serialize)]
pub struct FaqExplanation {
    /// The score an FAQ needs to answer (`ai.faq_min_score`).
    pub min_score: f64,
    /// The FAQ that answered, when the FAQ path answered.
    pub answered_by: Option<String>,
    /// The closest FAQs, best first.
    pub candidates: Vec<FaqCandidate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaqCandidate {
    pub id: String,
    /// 0..=1, two decimals.
    pub score: f64,
    pub above_min_score: bool,
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
        path: decision.path,
        reason: decision.reason,
        faq: faq_explanation(rules, request.text.as_deref().filter(|_| !request.follow), decision.path),
        model: rules.model.as_ref().map(|m| ModelExplanation {
            would_ask: decision.ask_model,
            model_id: m.model_id.clone(),
            timeout_ms: m.timeout_ms,
            facts: grounding::facts(rules, at).into_iter().map(|f| f.id).collect(),
            then: if decision.ask_model { MODEL_THEN } else { MODEL_NOT_ASKED },
        }),
    })
}

/// "Try it" for the FAQ: what the FAQ path makes of a message in the modes that consult it
/// (smart chat, AI response), whatever the time. Staff tune phrasings with it.
#[derive(Debug, Clone, Serialize)]
pub struct FaqTrial {
    /// The message's language, which picks the answer's.
    pub lang: &'static str,
    pub min_score: f64,
    pub outcome: FaqOutcome,
    pub answered_by: Option<String>,
    /// The answer that would go out, as sent.
    pub answer: Option<String>,
    pub candidates: Vec<FaqCandidate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaqOutcome {
    Answers,
    /// The closest FAQ scores under `min_score`: the other rules, or staff, take it.
    BelowMinScore,
    /// No FAQ shares a word or character sequence with it.
    NoMatch,
    /// A complaint: always left to staff.
    Complaint,
    /// Longer than `ai.long_message_chars`: left to the other rules.
    TooLong,
}

pub fn try_faq(rules: &Rules, text: &str) -> FaqTrial {
    let c = Classifier::default_model().classify(text);
    // One match for both: the best is the first of the ranked (`FaqIndex::best`).
    let ranked = rules.faq.ranked(text, FAQ_CANDIDATES);
    let (outcome, answering) = match (faq_skipped(rules, text, &c), ranked.first()) {
        (Some(FaqSkip::Complaint), _) => (FaqOutcome::Complaint, None),
        (Some(FaqSkip::TooLong), _) => (FaqOutcome::TooLong, None),
        (None, None) => (FaqOutcome::NoMatch, None),
        (None, Some(m)) if m.score >= rules.faq_min_score => (FaqOutcome::Answers, Some(m.faq)),
        (None, Some(_)) => (FaqOutcome::BelowMinScore, None),
    };
    let answer = answering.map(|faq| match faq_reply(rules, faq, c.lang) {
        OutboundMessage::Text { text } => text,
        other => other.to_line_json().to_string(),
    });
    FaqTrial {
        lang: c.lang.as_str(),
        min_score: rules.faq_min_score,
        outcome,
        answered_by: answering.map(|f| f.id.clone()),
        answer,
        candidates: candidates_of(rules, &ranked),
    }
}

fn candidates_of(rules: &Rules, ranked: &[FaqMatch<'_>]) -> Vec<FaqCandidate> {
    ranked
        .iter()
        .map(|m| FaqCandidate {
            id: m.faq.id.clone(),
            score: (m.score * 100.0).round() / 100.0,
            above_min_score: m.score >= rules.faq_min_score,
        })
        .collect()
}

fn faq_explanation(rules: &Rules, text: Option<&str>, path: Path) -> Option<FaqExplanation> {
    let text = text.filter(|_| !rules.faq.is_empty())?;
    let candidates: Vec<FaqCandidate> = rules
        .faq
        .ranked(text, FAQ_CANDIDATES)
        .into_iter()
        .map(|m| FaqCandidate {
            id: m.faq.id.clone(),
            score: (m.score * 100.0).round() / 100.0,
            above_min_score: m.score >= rules.faq_min_score,
        })
        .collect();
    // The rules answer with the best candidate (`FaqIndex::best`).
    let answered_by = (path == Path::Faq).then(|| candidates.first().map(|c| c.id.clone())).flatten();
    Some(FaqExplanation { min_score: rules.faq_min_score, answered_by, candidates })
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
    fn an_faq_question_in_smart_chat_names_the_faq_its_score_and_the_runners_up() {
        let mut rules = example();
        rules.in_hours = crate::domain::rules::ResponseMode::SmartChat;
        let req = ExplainRequest { at: Some("2026-12-22T10:30".into()), text: Some("駐車場はありますか".into()), follow: false };
        let e = explain(&rules, &req, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!((e.open, e.mode, e.path), (Some(true), Some("smart_chat"), Path::Faq), "{e:?}");
        let faq = e.faq.expect("FAQs are configured");
        assert_eq!(faq.answered_by.as_deref(), Some(faq.candidates[0].id.as_str()));
        assert!(faq.candidates[0].above_min_score && faq.candidates[0].score >= faq.min_score, "{faq:?}");
        assert!(faq.candidates.windows(2).all(|w| w[0].score >= w[1].score), "best first: {faq:?}");
        assert!(e.reason.contains(&format!("faq {:?}", faq.candidates[0].id)), "{}", e.reason);
    }

    #[test]
    fn out_of_hours_in_auto_response_the_faq_is_scored_but_not_what_answers() {
        let req = ExplainRequest { at: Some("2026-12-24T21:30".into()), text: Some("駐車場はありますか".into()), follow: false };
        let e = explain(&example(), &req, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(e.mode, Some("auto_response"));
        assert_ne!(e.path, Path::Faq);
        let faq = e.faq.expect("scored all the same");
        assert_eq!(faq.answered_by, None);
        assert!(!faq.candidates.is_empty());
    }

    #[test]
    fn a_follow_has_no_faq_section() {
        let req = ExplainRequest { at: None, text: None, follow: true };
        let e = explain(&example(), &req, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(e.path, Path::Greeting);
        assert!(e.faq.is_none());
    }

    fn with_model(mut rules: Rules) -> Rules {
        rules.out_of_hours = crate::domain::rules::ResponseMode::AiResponse;
        rules.model = Some(grounding::ModelSettings { model_id: "amazon.nova-lite-v1:0".into(), timeout_ms: 4000, max_tokens: 700 });
        rules
    }

    #[test]
    fn a_question_nothing_answers_would_go_to_the_model_and_otherwise_to_staff() {
        let req = ExplainRequest { at: Some("2026-11-30T21:30".into()), text: Some("予約したいです".into()), follow: false };
        let e = explain(&with_model(example()), &req, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!((e.mode, e.path), (Some("ai_response"), Path::NoReply), "{e:?}");
        assert_eq!(e.needs_attention.as_deref(), Some("cannot_answer"));
        let model = e.model.expect("the model is on");
        assert!(model.would_ask, "{model:?}");
        assert_eq!(model.model_id, "amazon.nova-lite-v1:0");
        assert!(model.facts.contains(&"hours:week".to_owned()) && model.facts.contains(&"faq:parking".to_owned()), "{model:?}");
        let json = serde_json::to_value(explain(&with_model(example()), &req, Timestamp::UNIX_EPOCH).unwrap()).unwrap();
        assert_eq!(json["model"]["would_ask"], true);
    }

    #[test]
    fn a_complaint_an_faq_question_and_a_model_left_off_are_not_asked() {
        let rules = with_model(example());
        for text in ["対応がひどすぎます。返金してください", "駐車場はありますか"] {
            let req = ExplainRequest { at: Some("2026-11-30T21:30".into()), text: Some(text.into()), follow: false };
            let e = explain(&rules, &req, Timestamp::UNIX_EPOCH).unwrap();
            assert!(!e.model.expect("on").would_ask, "{text}");
        }
        let req = ExplainRequest { at: Some("2026-11-30T21:30".into()), text: Some("予約したいです".into()), follow: false };
        assert!(explain(&example(), &req, Timestamp::UNIX_EPOCH).unwrap().model.is_none(), "off: no model section");
    }

    #[test]
    fn trying_the_faq_gives_the_answer_in_the_message_language_or_says_why_not() {
        let rules = example();
        let ja = try_faq(&rules, "駐車場はありますか");
        assert_eq!((ja.outcome, ja.answered_by.as_deref(), ja.lang), (FaqOutcome::Answers, Some("parking"), "ja"));
        assert_eq!(ja.answer.as_deref(), Some(rules.faq.faqs()[0].answer.as_str()));
        let en = try_faq(&rules, "Is there parking?");
        assert_eq!(en.answer, rules.faq.faqs()[0].answer_en, "{en:?}");
        let angry = try_faq(&rules, "駐車場が狭すぎて車をぶつけました。どうしてくれるんですか！");
        assert_eq!((angry.outcome, angry.answer), (FaqOutcome::Complaint, None));
        let long = try_faq(&rules, &"駐車場はありますか".repeat(40));
        assert_eq!(long.outcome, FaqOutcome::TooLong);
        assert!(!long.candidates.is_empty(), "scored all the same, for staff to see");
        assert_eq!(try_faq(&rules, "xyzzy").outcome, FaqOutcome::NoMatch);
        let weak = try_faq(&rules, "予約の変更はできますか");
        assert!(matches!(weak.outcome, FaqOutcome::BelowMinScore | FaqOutcome::NoMatch), "{weak:?}");
        assert_eq!(weak.answer, None);
    }

    #[test]
    fn a_bad_time_is_named() {
        let req = ExplainRequest { at: Some("tomorrow".into()), text: Some("x".into()), follow: false };
        assert!(matches!(explain(&example(), &req, Timestamp::UNIX_EPOCH), Err(ExplainError::BadTime(_))));
    }
}
