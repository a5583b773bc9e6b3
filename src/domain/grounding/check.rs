//! Checking the model's reply: it goes out only as the JSON asked for, non-empty, within LINE's
//! text limit, citing at least one fact it was given and none it was not, and naming no link,
//! phone number or amount of money the knowledge does not hold. Anything else is refused.

use serde::Deserialize;

use super::Prompt;
use crate::domain::outbound::{utf16_len, MAX_TEXT_UTF16};

/// An answer that passed `check`: what is sent, and the facts it cites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroundedAnswer {
    pub text: String,
    /// Given ids, in the order cited, each once.
    pub citations: Vec<String>,
}

/// Why a reply was not used. `Display` never quotes the reply: it may echo the customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the reply is not the JSON asked for")]
    NotJson,
    /// The model's own reason, for a debug log only.
    #[error("the model handed the message to staff")]
    Handoff(String),
    #[error("the answer is empty")]
    Empty,
    #[error("the answer is longer than LINE's {MAX_TEXT_UTF16} characters")]
    TooLong,
    #[error("the answer cites no fact")]
    NoCitation,
    /// The id, for a debug log only.
    #[error("the answer cites a fact it was not given")]
    UnknownCitation(String),
    #[error("the answer names a {0} the knowledge does not hold")]
    Ungrounded(&'static str),
}

/// The reply as the instructions ask for it; any other field is refused (a model that adds
/// fields is not following them).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    answer: Option<String>,
    #[serde(default)]
    citations: Vec<String>,
    handoff: Option<String>,
}

/// The model's reply text, checked against what it was given.
pub fn check(reply: &str, prompt: &Prompt) -> Result<GroundedAnswer, Refusal> {
    let reply: Reply = serde_json::from_str(unfenced(reply)).map_err(|_| Refusal::NotJson)?;
    if let Some(reason) = reply.handoff {
        // Even beside an answer: the model itself was not sure.
        return Err(Refusal::Handoff(reason));
    }
    let text = reply.answer.ok_or(Refusal::NotJson)?.trim().to_owned();
    if text.is_empty() {
        return Err(Refusal::Empty);
    }
    if utf16_len(&text) > MAX_TEXT_UTF16 {
        return Err(Refusal::TooLong);
    }
    let mut citations: Vec<String> = Vec::new();
    for id in reply.citations.iter().map(|c| c.trim()) {
        if !prompt.fact_ids.iter().any(|given| given == id) {
            return Err(Refusal::UnknownCitation(id.to_owned()));
        }
        if !citations.iter().any(|c| c == id) {
            citations.push(id.to_owned());
        }
    }
    if citations.is_empty() {
        return Err(Refusal::NoCitation);
    }
    grounded(&text, &prompt.knowledge)?;
    Ok(GroundedAnswer { text, citations })
}

/// The JSON inside one Markdown code fence, which models often add however they are asked.
fn unfenced(reply: &str) -> &str {
    let reply = reply.trim();
    let Some(inner) = reply.strip_prefix("```").and_then(|r| r.strip_suffix("```")) else { return reply };
    // The fence's first line may name a language (```json).
    match inner.split_once('\n') {
        Some((lang, body)) if !lang.contains('{') => body.trim(),
        _ => inner.trim(),
    }
}

/// What a made-up answer would most harm with: a link, a phone number or an amount of money
/// the knowledge does not hold. (A wrong time or fact in words cannot be caught this way;
/// the instructions and the citations are the guard there.)
fn grounded(answer: &str, knowledge: &str) -> Result<(), Refusal> {
    for url in urls(answer) {
        if !knowledge.contains(url) {
            return Err(Refusal::Ungrounded("link"));
        }
    }
    let known = numbers(knowledge);
    let answer_numbers = numbers(answer);
    if answer_numbers.iter().filter(|n| n.digits.len() >= PHONE_DIGITS).any(|n| !known.iter().any(|k| k.digits == n.digits)) {
        return Err(Refusal::Ungrounded("phone number"));
    }
    if answer_numbers.iter().filter(|n| n.money).any(|n| !known.iter().any(|k| k.digits == n.digits)) {
        return Err(Refusal::Ungrounded("amount"));
    }
    Ok(())
}

/// A run of digits this long (hyphens and spaces between them ignored) reads as a phone number.
const PHONE_DIGITS: usize = 9;

fn urls(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = ["https://", "http://"].iter().filter_map(|p| rest.find(p)).min()?;
        let tail = &rest[start..];
        let end = tail.find(|c: char| c.is_whitespace() || "\"'<>()[]{}「」（）、。".contains(c)).unwrap_or(tail.len());
        // A sentence's full stop or comma after a link is not part of it.
        let url = tail[..end].trim_end_matches(['.', ',', '!', '?', ';', ':']);
        rest = &tail[end..];
        Some(url)
    })
}

/// A number written in a text: its digits (ASCII, separators dropped), and whether it reads as
/// money (`¥`, `￥`, `$` before it; `円`, `yen` after it).
#[derive(Debug, PartialEq, Eq)]
struct Number {
    digits: String,
    money: bool,
}

fn numbers(text: &str) -> Vec<Number> {
    let chars: Vec<char> = text.chars().collect();
    let digit = |c: char| c.to_digit(10).or_else(|| ('０'..='９').contains(&c).then(|| c as u32 - '０' as u32));
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if digit(chars[i]).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = String::new();
        // Separators count only between digits: "1,000", "03-1234-5678".
        while i < chars.len() {
            match digit(chars[i]) {
                Some(d) => digits.push(char::from_digit(d, 10).expect("a digit")),
                None if ",，-－".contains(chars[i]) && chars.get(i + 1).copied().and_then(digit).is_some() => {}
                None => break,
            }
            i += 1;
        }
        let before = start.checked_sub(1).map(|b| chars[b]);
        let after: String = chars[i..].iter().take(4).collect::<String>().trim_start().to_lowercase();
        let money = matches!(before, Some('¥' | '￥' | '$')) || after.starts_with('円') || after.starts_with("yen");
        out.push(Number { digits, money });
    }
    out
}
