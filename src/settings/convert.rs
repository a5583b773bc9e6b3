//! From the file's shape to validated `Rules`: every check names its key.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::file::{self, SettingsFile};
use super::{Settings, SettingsError};
use crate::domain::faq::{Faq, FaqIndex};
use crate::domain::grounding::ModelSettings;
use crate::domain::keywords::{normalize, KeywordRule};
use crate::domain::outbound::{OutboundMessage, MAX_MESSAGES_PER_REQUEST};
use crate::domain::rules::{BusinessInfo, OncePer, ResponseMode, Rules};
use crate::domain::schedule::{Schedule, ScheduleError, Window, WEEKDAYS};
use crate::domain::templates::{ReplyCategory, Template, Templates};

fn schedule_error(e: ScheduleError) -> SettingsError {
    match e {
        ScheduleError::BadWindow { key, value } => SettingsError::invalid(key, format!("{value:?} is not a window like \"09:00-18:00\"")),
        ScheduleError::EmptyWindow { key, value } => SettingsError::invalid(key, format!("{value:?} starts and ends at the same time")),
        ScheduleError::Overlap { key, a, b } => SettingsError::invalid(key, format!("windows {a} and {b} overlap")),
        ScheduleError::UnknownTimezone(tz) => {
            SettingsError::invalid("hours.timezone", format!("{tz:?} is not an IANA timezone such as \"Asia/Tokyo\""))
        }
    }
}

fn windows(key: &str, values: &[String]) -> Result<Vec<Window>, SettingsError> {
    values.iter().enumerate().map(|(i, v)| Window::parse(&format!("{key}[{i}]"), v).map_err(schedule_error)).collect()
}

fn date(key: &str, value: &str) -> Result<Date, SettingsError> {
    value.parse().map_err(|_| SettingsError::invalid(key, format!("{value:?} is not a date like \"2026-12-31\"")))
}

fn mode(key: &str, value: &str, allowed: &[ResponseMode]) -> Result<ResponseMode, SettingsError> {
    allowed.iter().copied().find(|m| m.as_str() == value).ok_or_else(|| {
        let names: Vec<_> = allowed.iter().map(|m| m.as_str()).collect();
        SettingsError::invalid(key, format!("{value:?} is not one of {}", names.join(", ")))
    })
}

pub(super) fn messages(key: &str, messages: &[OutboundMessage], required: bool) -> Result<(), SettingsError> {
    if required && messages.is_empty() {
        return Err(SettingsError::invalid(key, "needs at least one message"));
    }
    if messages.len() > MAX_MESSAGES_PER_REQUEST {
        return Err(SettingsError::invalid(
            key,
            format!("{} messages; LINE sends at most {MAX_MESSAGES_PER_REQUEST} at once", messages.len()),
        ));
    }
    for (i, m) in messages.iter().enumerate() {
        m.validate().map_err(|e| SettingsError::invalid(format!("{key}[{i}]"), e.to_string()))?;
    }
    Ok(())
}

fn once_per(value: &str) -> Result<OncePer, SettingsError> {
    let bad = || {
        SettingsError::invalid(
            "default_response.once_per",
            format!("{value:?} is not closed_period, every_message or a duration such as \"6h\" or \"30m\""),
        )
    };
    match value {
        "closed_period" => Ok(OncePer::ClosedPeriod),
        "every_message" => Ok(OncePer::EveryMessage),
        _ => {
            // The unit is the last character, whatever its width (a byte index could fall inside it).
            let (n, unit) = value.split_at(value.char_indices().last().map_or(0, |(i, _)| i));
            let n: i64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
            let ms = match unit {
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(bad()),
            };
            n.checked_mul(ms).map(OncePer::Interval).ok_or_else(bad)
        }
    }
}

fn hours(h: &file::Hours) -> Result<(TimeZone, Option<Schedule>), SettingsError> {
    let tz = TimeZone::get(&h.timezone).map_err(|_| schedule_error(ScheduleError::UnknownTimezone(h.timezone.clone())))?;
    let days = [&h.mon, &h.tue, &h.wed, &h.thu, &h.fri, &h.sat, &h.sun];
    let mut weekly: [Vec<Window>; 7] = Default::default();
    for (i, day) in days.iter().enumerate() {
        weekly[i] = windows(&format!("hours.{}", WEEKDAYS[i]), day.as_deref().unwrap_or_default())?;
    }
    let mut overrides = BTreeMap::new();
    for (i, o) in h.overrides.iter().enumerate() {
        let key = format!("hours.override[{i}]");
        let d = date(&format!("{key}.date"), &o.date)?;
        if overrides.insert(d, windows(&format!("{key}.windows"), &o.windows)?).is_some() {
            return Err(SettingsError::invalid(format!("{key}.date"), format!("{} is overridden twice", o.date)));
        }
    }
    let schedule = Schedule::new(&h.timezone, weekly, overrides).map_err(schedule_error)?;
    Ok((tz, h.enabled.then_some(schedule)))
}

fn keyword_rules(rules: &[file::KeywordResponse]) -> Result<Vec<KeywordRule>, SettingsError> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let key = format!("keyword_responses[{i}]");
            let keywords: Vec<String> = r.keywords.iter().map(|k| normalize(k)).collect();
            if keywords.is_empty() || keywords.iter().any(String::is_empty) {
                return Err(SettingsError::invalid(format!("{key}.keywords"), "needs one or more non-empty keywords"));
            }
            messages(&format!("{key}.messages"), &r.messages, true)?;
            let from = r.from.as_deref().map(|d| date(&format!("{key}.from"), d)).transpose()?;
            let until = r.until.as_deref().map(|d| date(&format!("{key}.until"), d)).transpose()?;
            if let (Some(f), Some(u)) = (from, until) {
                if f > u {
                    return Err(SettingsError::invalid(format!("{key}.until"), "is before `from`"));
                }
            }
            let time = r.time.as_deref().map(|t| Window::parse(&format!("{key}.time"), t).map_err(schedule_error)).transpose()?;
            Ok(KeywordRule { keywords, messages: r.messages.clone(), from, until, time })
        })
        .collect()
}

fn templates(ai: &file::Ai) -> Result<Templates, SettingsError> {
    let defaults = Templates::default();
    let mut overrides = HashMap::new();
    for (name, t) in &ai.templates {
        let key = format!("ai.templates.{name}");
        let category = ReplyCategory::parse(name).ok_or_else(|| {
            SettingsError::invalid(&key, "unknown category; use greeting, how_to, thanks, cannot_answer, complaint, inquiry, long_message, hours, address, phone or website")
        })?;
        let default = defaults.get(category);
        let template = match t {
            file::Template::Both(s) => Template { ja: s.clone(), en: s.clone() },
            file::Template::PerLang(p) => {
                Template { ja: p.ja.clone().unwrap_or_else(|| default.ja.clone()), en: p.en.clone().unwrap_or_else(|| default.en.clone()) }
            }
        };
        if template.ja.trim().is_empty() || template.en.trim().is_empty() {
            return Err(SettingsError::invalid(key, "a template is empty"));
        }
        overrides.insert(category, template);
    }
    Ok(Templates::with_overrides(overrides))
}

/// Longest text LINE takes in one text message.
const MAX_ANSWER_CHARS: usize = 5000;

/// Each FAQ has a unique id, at least one question and an answer LINE can send.
fn faqs(faqs: &[Faq]) -> Result<(), SettingsError> {
    let mut ids = std::collections::HashSet::new();
    for (i, faq) in faqs.iter().enumerate() {
        let key = |field: &str| format!("faq[{i}].{field}");
        check_faq(faq).map_err(|(field, problem)| SettingsError::invalid(key(field), problem))?;
        if !ids.insert(faq.id.as_str()) {
            return Err(SettingsError::invalid(key("id"), format!("{:?} is used by an earlier FAQ", faq.id)));
        }
    }
    Ok(())
}

/// What is wrong with one FAQ on its own, as (field, problem): the settings and the operator
/// API's form say the same.
pub fn check_faq(faq: &Faq) -> Result<(), (&'static str, String)> {
    if faq.id.trim().is_empty() || faq.id.chars().count() > 64 {
        return Err(("id", "must be 1 to 64 characters".into()));
    }
    if faq.questions.is_empty() || faq.questions.iter().any(|q| q.trim().is_empty()) {
        return Err(("questions", "needs at least one question, none of them empty".into()));
    }
    for (field, answer) in [("answer", Some(&faq.answer)), ("answer_en", faq.answer_en.as_ref())] {
        match answer {
            Some(a) if a.trim().is_empty() && field == "answer" => return Err((field, "is empty".into())),
            Some(a) if a.chars().count() > MAX_ANSWER_CHARS => {
                return Err((field, format!("is longer than LINE's {MAX_ANSWER_CHARS} characters")))
            }
            _ => {}
        }
    }
    Ok(())
}

/// `[ai.model]`: checked even when off, so a typo shows before it is turned on.
fn model(m: &file::Model) -> Result<Option<ModelSettings>, SettingsError> {
    if !(100..=super::MAX_MODEL_TIMEOUT_MS).contains(&m.timeout_ms) {
        return Err(SettingsError::invalid("ai.model.timeout_ms", format!("must be between 100 and {}", super::MAX_MODEL_TIMEOUT_MS)));
    }
    if !(16..=8192).contains(&m.max_tokens) {
        return Err(SettingsError::invalid("ai.model.max_tokens", "must be between 16 and 8192"));
    }
    let id = m.model_id.trim();
    if id.chars().any(char::is_whitespace) || id.len() > 2048 {
        return Err(SettingsError::invalid(
            "ai.model.model_id",
            format!("{id:?} is not a Bedrock model id such as \"amazon.nova-lite-v1:0\""),
        ));
    }
    if !m.enabled {
        return Ok(None);
    }
    if id.is_empty() {
        return Err(SettingsError::invalid("ai.model.model_id", "is required when the model is enabled"));
    }
    Ok(Some(ModelSettings { model_id: id.to_owned(), timeout_ms: m.timeout_ms, max_tokens: m.max_tokens }))
}

pub(super) fn settings(f: SettingsFile) -> Result<Settings, SettingsError> {
    let (timezone, schedule) = hours(&f.hours)?;
    use ResponseMode::*;
    let in_hours = mode("modes.in_hours", &f.modes.in_hours, &[Chat, SmartChat])?;
    let out_of_hours = mode("modes.out_of_hours", &f.modes.out_of_hours, &[AutoResponse, AiResponse])?;
    let always = mode("modes.always", &f.modes.always, &[Chat, SmartChat, AutoResponse, AiResponse])?;
    messages("greeting.messages", &f.greeting.messages, false)?;
    messages("default_response.messages", &f.default_response.messages, false)?;
    if !(0.0..=1.0).contains(&f.ai.confidence_threshold) {
        return Err(SettingsError::invalid("ai.confidence_threshold", "must be between 0 and 1"));
    }
    if f.ai.long_message_chars == 0 {
        return Err(SettingsError::invalid("ai.long_message_chars", "must be at least 1"));
    }
    if !(0.0..=1.0).contains(&f.ai.faq_min_score) {
        return Err(SettingsError::invalid("ai.faq_min_score", "must be between 0 and 1"));
    }
    faqs(&f.faq)?;
    let non_empty = |s: Option<String>| s.filter(|v| !v.trim().is_empty());
    let rules = Rules {
        account_name: f.account_name,
        timezone,
        schedule,
        in_hours,
        out_of_hours,
        always,
        greeting: f.greeting.messages,
        greeting_first_follow_only: f.greeting.first_follow_only,
        keywords: keyword_rules(&f.keyword_responses)?,
        default_response: f.default_response.messages,
        once_per: once_per(&f.default_response.once_per)?,
        confidence_threshold: f.ai.confidence_threshold,
        long_message_chars: f.ai.long_message_chars,
        templates: templates(&f.ai)?,
        business: BusinessInfo {
            address: non_empty(f.business.address),
            phone: non_empty(f.business.phone),
            website: non_empty(f.business.website),
        },
        groups_allowed: f.groups.allowed,
        faq: std::sync::Arc::new(FaqIndex::new(f.faq)),
        faq_min_score: f.ai.faq_min_score,
        model: model(&f.ai.model)?,
    };
    Ok(Settings { rules, push_fallback: f.reply.push_fallback, source: "".into() })
}
