//! The response rules, as LINE Official Account Manager applies them (and a little better):
//! a pure function of (rules, conversation, event, time) to a decision with a readable reason.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::classifier::{Category, Classification, Classifier, Lang};
use super::conversation::{ConversationState, Notice};
use super::event::{Event, EventKind, Mode, Source};
use super::faq::{Faq, FaqIndex};
use super::grounding::{ModelSettings, ModelVerdict};
use super::keywords::{self, KeywordRule};
use super::outbound::OutboundMessage;
use super::schedule::Schedule;
use super::templates::{fill, ReplyCategory, Templates};

mod format;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Chat,
    SmartChat,
    AutoResponse,
    AiResponse,
}

impl ResponseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::SmartChat => "smart_chat",
            Self::AutoResponse => "auto_response",
            Self::AiResponse => "ai_response",
        }
    }

    pub const ALL: [ResponseMode; 4] = [Self::Chat, Self::SmartChat, Self::AutoResponse, Self::AiResponse];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OncePer {
    /// At most once per closed period (until the next opening).
    ClosedPeriod,
    EveryMessage,
    /// At most once per this many milliseconds.
    Interval(i64),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessInfo {
    pub address: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
}

/// Everything the rules read, already validated (see `settings`).
#[derive(Debug, Clone)]
pub struct Rules {
    pub account_name: String,
    pub timezone: TimeZone,
    /// None = response hours off: `always` applies.
    pub schedule: Option<Schedule>,
    pub in_hours: ResponseMode,
    pub out_of_hours: ResponseMode,
    pub always: ResponseMode,
    pub greeting: Vec<OutboundMessage>,
    pub greeting_first_follow_only: bool,
    pub keywords: Vec<KeywordRule>,
    pub default_response: Vec<OutboundMessage>,
    pub once_per: OncePer,
    pub confidence_threshold: f64,
    pub long_message_chars: usize,
    pub templates: Templates,
    pub business: BusinessInfo,
    pub groups_allowed: bool,
    /// Staff's FAQ, indexed; answers in smart chat and AI response above `faq_min_score`.
    pub faq: std::sync::Arc<FaqIndex>,
    pub faq_min_score: f64,
    /// `[ai.model]`: a language model that may answer, from this knowledge only, what the FAQ
    /// and the templates cannot (AI response). None = off.
    pub model: Option<ModelSettings>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Messages to send; `{nickname}` is filled by the service (it needs LINE's profile API).
    pub reply: Vec<OutboundMessage>,
    pub reason: String,
    pub mode: Option<ResponseMode>,
    pub classification: Option<Classification>,
    /// Mark the conversation "needs attention" with this reason.
    pub attention: Option<String>,
    /// Leave the group or room (groups not allowed).
    pub leave: bool,
    /// Record this out-of-hours notice for the throttle.
    pub notice: Option<Notice>,
    /// Which rule gave the reply: what the dry run and the console show.
    pub path: Path,
    /// The model is on and may answer this message (`decide_with`): what the rules decided is
    /// what happens if it does not.
    pub ask_model: bool,
}

/// Which rule answered a message, if one did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    /// Nothing sent: left for staff, throttled, or only logged (the reason says which).
    NoReply,
    Greeting,
    Keyword,
    DefaultResponse,
    /// An FAQ entry's answer (`Rules::faq`).
    Faq,
    /// A category's template (AI response, smart chat).
    Template,
    /// The model's answer, citing the facts it was given (`Rules::model`).
    Model,
}

impl Decision {
    fn none(reason: impl Into<String>) -> Self {
        Self {
            reply: Vec::new(),
            reason: reason.into(),
            mode: None,
            classification: None,
            attention: None,
            leave: false,
            notice: None,
            path: Path::NoReply,
            ask_model: false,
        }
    }

    fn reply(path: Path, messages: Vec<OutboundMessage>, reason: impl Into<String>) -> Self {
        Self { reply: messages, path, ..Self::none(reason) }
    }

    fn in_mode(mut self, mode: ResponseMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// The state changes the decision implies; applied in the same write as the event.
    pub fn apply_to(&self, state: &mut ConversationState) {
        if let Some(reason) = &self.attention {
            state.flag(reason.clone());
        }
        if let Some(notice) = &self.notice {
            state.last_notice = Some(notice.clone());
        }
    }
}

impl Rules {
    pub fn mode_at(&self, at: Timestamp) -> (ResponseMode, Option<bool>) {
        match &self.schedule {
            None => (self.always, None),
            Some(s) if s.is_open(at) => (self.in_hours, Some(true)),
            Some(_) => (self.out_of_hours, Some(false)),
        }
    }

    pub fn next_open(&self, at: Timestamp) -> Option<Timestamp> {
        self.schedule.as_ref()?.next_open(at)
    }
}

/// Decides what to do with one event sent at `at` (the event's own timestamp), as if the model
/// had not been asked: its decision says whether it may be (`Decision::ask_model`).
pub fn decide(rules: &Rules, state: &ConversationState, event: &Event, at: Timestamp) -> Decision {
    decide_with(rules, state, event, at, None)
}

/// As `decide`, with what came of asking the model, when it was: a checked answer is the reply;
/// otherwise the rules' own decision stands, its reason saying why the model's did not.
pub fn decide_with(rules: &Rules, state: &ConversationState, event: &Event, at: Timestamp, model: Option<&ModelVerdict>) -> Decision {
    if event.mode == Mode::Standby {
        return Decision::none("standby mode: another channel has the chat; logged only");
    }
    match &event.source {
        Some(Source::User { .. }) => {}
        Some(Source::Group { .. } | Source::Room { .. }) => return decide_group(rules, event),
        _ => return Decision::none("no user, group or room source: logged only"),
    }
    if state.spam {
        return Decision::none("marked as spam: never answered automatically");
    }
    match &event.kind {
        EventKind::Follow { .. } => greeting(rules, state),
        _ if state.is_blocked() => Decision::none("the user has blocked the account"),
        EventKind::Message(message) => {
            let (mode, open) = rules.mode_at(at);
            let pinned = state.pinned_mode(at.as_millisecond());
            let mode = pinned.unwrap_or(mode);
            let text = event.text();
            let decision = match mode {
                ResponseMode::Chat => Decision::none("chat mode: left for staff"),
                ResponseMode::SmartChat => smart_chat(rules, text, at),
                ResponseMode::AutoResponse => auto_response(rules, state, event, text, at, open),
                ResponseMode::AiResponse => ai_response(rules, text, at, model),
            };
            let when = match open {
                Some(true) => "in hours",
                Some(false) => "out of hours",
                None => "hours off",
            };
            let mut decision = decision.in_mode(mode);
            let pin = if pinned.is_some() { " (pinned by staff)" } else { "" };
            decision.reason = format!("{when}, {}{pin}: {} message: {}", mode.as_str(), message.content.type_name(), decision.reason);
            decision
        }
        EventKind::MessageEdited(_) => Decision::none("an edited message: logged, not answered again"),
        _ => Decision::none(format!("{} event: logged, no reply", event.event_type)),
    }
}

fn decide_group(rules: &Rules, event: &Event) -> Decision {
    if event.kind == EventKind::Join && !rules.groups_allowed {
        return Decision { leave: true, ..Decision::none("joined a group or room, but groups are not allowed: leaving") };
    }
    Decision::none("group or room: logged; LINE allows no automatic replies there")
}

fn greeting(rules: &Rules, state: &ConversationState) -> Decision {
    if rules.greeting.is_empty() {
        Decision::none("follow: no greeting configured")
    } else if rules.greeting_first_follow_only && state.follow_count > 1 {
        Decision::none("follow again: the greeting is for the first follow only")
    } else {
        let messages = rules.greeting.iter().map(|m| with_account_name(m, rules)).collect();
        Decision::reply(Path::Greeting, messages, "follow: greeting")
    }
}

fn with_account_name(message: &OutboundMessage, rules: &Rules) -> OutboundMessage {
    match message {
        OutboundMessage::Text { text } => OutboundMessage::text(text.replace("{account_name}", &rules.account_name)),
        other => other.clone(),
    }
}

fn auto_response(
    rules: &Rules,
    state: &ConversationState,
    event: &Event,
    text: Option<&str>,
    at: Timestamp,
    open: Option<bool>,
) -> Decision {
    let local = at.to_zoned(rules.timezone.clone());
    if let Some(rule) = text.and_then(|t| keywords::find(&rules.keywords, t, &local)) {
        let messages = rule.messages.iter().map(|m| with_account_name(m, rules)).collect();
        return Decision::reply(Path::Keyword, messages, format!("keyword {:?}", rule.keywords.first().map(String::as_str).unwrap_or("")));
    }
    if rules.default_response.is_empty() {
        return Decision::none("no keyword matched and no default response configured");
    }
    let event_id = event.id();
    let period = match (rules.once_per, open) {
        (OncePer::ClosedPeriod, Some(false)) => rules.next_open(at).map_or_else(|| "closed".to_owned(), |t| t.as_millisecond().to_string()),
        _ => String::new(),
    };
    let at_ms = at.as_millisecond();
    // A notice recorded for this very event is ours: a redelivery must still send it.
    let already = state.last_notice.as_ref().filter(|n| n.event_id != event_id.as_str()).is_some_and(|n| match rules.once_per {
        OncePer::ClosedPeriod => open == Some(false) && n.period == period,
        OncePer::EveryMessage => false,
        OncePer::Interval(ms) => at_ms - n.at_ms < ms,
    });
    if already {
        return Decision::none("default response already sent in this period");
    }
    let messages = rules.default_response.iter().map(|m| with_account_name(m, rules)).collect();
    // Recorded only where a throttle will read it (otherwise it only makes the state bigger):
    // a closed period's notice is compared only with others of closed periods.
    let throttled = match rules.once_per {
        OncePer::ClosedPeriod => open == Some(false),
        OncePer::EveryMessage => false,
        OncePer::Interval(_) => true,
    };
    let notice = throttled.then(|| Notice { period, at_ms, event_id: event_id.as_str().to_owned() });
    Decision { notice, ..Decision::reply(Path::DefaultResponse, messages, "no keyword matched: default response") }
}

/// In smart chat the account answers only what it surely can; the rest waits for staff.
/// Complaints first (never a template), then the shop's FAQ, then the simple categories.
fn smart_chat(rules: &Rules, text: Option<&str>, at: Timestamp) -> Decision {
    let Some(text) = text else { return Decision::none("not text: left for staff") };
    let c = Classifier::default_model().classify(text);
    let simple = matches!(
        c.category,
        Category::Greeting | Category::Thanks | Category::Hours | Category::Address | Category::Phone | Category::Website
    );
    let short = text.chars().count() <= rules.long_message_chars;
    let mut d = if c.category == Category::Complaint {
        to_staff_as_complaint(&c)
    } else if let Some(d) = faq_answer(rules, text, &c) {
        d
    } else if c.confidence < rules.confidence_threshold {
        Decision::none(format!("{} ({:.2}) below the threshold: left for staff", c.category.as_str(), c.confidence))
    } else if simple && short {
        match templated(rules, ReplyCategory::Classified(c.category), c.lang, at) {
            // Its answer is not configured (`templated` fell back to cannot_answer, which flags):
            // staff are in, so they answer rather than a "we cannot answer" template.
            d if d.attention.is_some() => {
                Decision::none(format!("{} ({:.2}): no answer configured: left for staff", c.category.as_str(), c.confidence))
            }
            d => d,
        }
    } else {
        Decision::none(format!("{} ({:.2}): left for staff", c.category.as_str(), c.confidence))
    };
    d.classification = Some(c);
    d
}

/// AI response: complaints and messages the classifier is unsure of go to staff, never to a
/// template; the shop's FAQ answers before the category templates. What would go to staff as
/// `cannot_answer` (unsure, or a question no template answers) the model may answer instead.
fn ai_response(rules: &Rules, text: Option<&str>, at: Timestamp, model: Option<&ModelVerdict>) -> Decision {
    let Some(text) = text else { return Decision::none("not text: the AI response answers text only") };
    let c = Classifier::default_model().classify(text);
    let long = text.chars().count() > rules.long_message_chars;
    let mut d = if c.category == Category::Complaint {
        to_staff_as_complaint(&c)
    } else if let Some(d) = faq_answer(rules, text, &c) {
        d
    } else if long {
        templated(rules, ReplyCategory::LongMessage, c.lang, at)
    } else if c.confidence < rules.confidence_threshold {
        let mut d = Decision::none(format!("{} ({:.2}) below the threshold: left for staff", c.category.as_str(), c.confidence));
        d.attention = Some(Category::CannotAnswer.as_str().to_owned());
        d
    } else {
        templated(rules, ReplyCategory::Classified(c.category), c.lang, at)
    };
    // Complaints and long messages never reach the model: staff read those themselves.
    let cannot_answer = d.attention.as_deref() == Some(Category::CannotAnswer.as_str());
    if let Some(settings) = rules.model.as_ref().filter(|_| cannot_answer && !long && c.category != Category::Complaint) {
        d = with_model(d, settings, model);
    }
    d.classification = Some(c);
    d
}

/// The model's checked answer instead of `rules_decision`, or that decision saying why not.
fn with_model(rules_decision: Decision, settings: &ModelSettings, model: Option<&ModelVerdict>) -> Decision {
    let mut d = match model {
        Some(ModelVerdict::Answered(a)) => {
            let reason = format!("model {} answered, citing {}", settings.model_id, a.citations.join(", "));
            Decision::reply(Path::Model, vec![OutboundMessage::text(a.text.clone())], reason)
        }
        Some(ModelVerdict::NotUsed(why)) => {
            Decision { reason: format!("{}; the model's answer was not used: {why}", rules_decision.reason), ..rules_decision }
        }
        None => rules_decision,
    };
    d.ask_model = true;
    d
}

fn to_staff_as_complaint(c: &Classification) -> Decision {
    let mut d = Decision::none(format!("complaint ({:.2}): left for staff, never a template", c.confidence));
    d.attention = Some(Category::Complaint.as_str().to_owned());
    d
}

/// Whether the FAQ may answer this text: never a complaint (staff answer those), nor a message
/// too long for one answer to cover.
pub fn faq_skipped(rules: &Rules, text: &str, c: &Classification) -> Option<FaqSkip> {
    if c.category == Category::Complaint {
        Some(FaqSkip::Complaint)
    } else if text.chars().count() > rules.long_message_chars {
        Some(FaqSkip::TooLong)
    } else {
        None
    }
}

/// Why the FAQ was not consulted for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaqSkip {
    Complaint,
    TooLong,
}

/// An FAQ's answer as it goes out, in the customer's language.
pub fn faq_reply(rules: &Rules, faq: &Faq, lang: Lang) -> OutboundMessage {
    with_account_name(&OutboundMessage::text(faq.answer_for(lang)), rules)
}

/// The FAQ answer, when one matches well enough; the reason names it and its score.
fn faq_answer(rules: &Rules, text: &str, c: &Classification) -> Option<Decision> {
    if faq_skipped(rules, text, c).is_some() {
        return None;
    }
    let m = rules.faq.best(text).filter(|m| m.score >= rules.faq_min_score)?;
    let reason = format!("faq {:?} ({:.2}, {})", m.faq.id, m.score, c.lang.as_str());
    Some(Decision::reply(Path::Faq, vec![faq_reply(rules, m.faq, c.lang)], reason))
}

/// A category's template, filled; a business-info question whose value is not configured is
/// answered as `cannot_answer` instead of with a broken sentence.
fn templated(rules: &Rules, category: ReplyCategory, lang: Lang, at: Timestamp) -> Decision {
    let next_open = rules.next_open(at).map(|t| format::when(&t.to_zoned(rules.timezone.clone()), lang));
    let values = [
        ("account_name", Some(rules.account_name.as_str())),
        ("next_open", next_open.as_deref()),
        ("address", rules.business.address.as_deref()),
        ("phone", rules.business.phone.as_deref()),
        ("website", rules.business.website.as_deref()),
    ];
    let (category, text) = match fill(rules.templates.get(category).for_lang(lang), &values) {
        Some(text) => (category, text),
        None => {
            let fallback = ReplyCategory::Classified(Category::CannotAnswer);
            (fallback, fill(rules.templates.get(fallback).for_lang(lang), &values).unwrap_or_default())
        }
    };
    let mut d =
        Decision::reply(Path::Template, vec![OutboundMessage::text(text)], format!("{} template ({})", category.as_str(), lang.as_str()));
    if matches!(category, ReplyCategory::Classified(Category::Complaint | Category::CannotAnswer)) {
        d.attention = Some(category.as_str().to_owned());
    }
    d
}

#[cfg(test)]
mod tests;
