//! A text's features for the matcher: character n-grams of Japanese, words of English.

use crate::domain::classifier::normalised_chars;

/// The matcher's view of a text: folded characters, punctuation and symbols as one boundary.
fn folded(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(' ');
    normalised_chars(text, |c| {
        let c = match c {
            _ if c.is_ascii_digit() => '0',
            _ if is_kana_or_kanji_letter(c) || c.is_alphanumeric() || c == 'ー' => c,
            _ => ' ',
        };
        if c != ' ' || out.last() != Some(&' ') {
            out.push(c);
        }
    });
    if out.last() != Some(&' ') {
        out.push(' ');
    }
    out
}

/// Most of a Japanese message, and all letters (the test checks it): answered before
/// `is_alphanumeric`, whose Unicode tables cost a search per character.
pub(super) fn is_kana_or_kanji_letter(c: char) -> bool {
    matches!(u32::from(c), 0x3041..=0x3096 | 0x30A1..=0x30FA | 0x3400..=0x4DBF | 0x4E00..=0x9FFF)
}

fn is_kanji(c: char) -> bool {
    matches!(u32::from(c), 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

pub(super) fn is_hiragana(c: char) -> bool {
    matches!(u32::from(c), 0x3041..=0x309F)
}

/// Katakana to hiragana, for the second spelling of a gram: カード and かーど are one word to a
/// customer.
fn to_hiragana(c: char) -> char {
    match c {
        '\u{30A1}'..='\u{30F6}' => char::from_u32(u32::from(c) - 0x60).unwrap_or(c),
        _ => c,
    }
}

/// English words that say nothing about which question is asked.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "am", "be", "do", "does", "did", "can", "could", "i", "we", "you", "your", "my", "me", "it", "to",
    "for", "of", "in", "on", "at", "there", "any", "have", "has", "what", "how", "please", "pls", "and", "or", "if", "will", "would", "hi",
    "hello", "thanks", "ok", "so", "this", "that", "with",
];

/// A gram made of hiragana only is grammar (ありますか, できますか) far more often than content:
/// it still counts, a little, so kana-only messages can match at all (its count is this, and a
/// count below one is not damped: `index::damped`).
const GRAMMAR_WEIGHT: f32 = 0.15;

/// Weighted counts of the text's features, as (gram hash, count) sorted by hash, each gram
/// once: kanji 1-grams and every 2- and 3-gram of Japanese (with the boundary marker, so a
/// word's start and end are grams of their own; katakana grams also under their hiragana
/// spelling), and English words (a plural's `s` dropped). A sorted Vec, not a map: a message
/// has a few dozen grams, and a map entry each cost more than all the rest of the matching.
pub(super) fn term_counts(text: &str) -> Vec<(u64, f32)> {
    let chars = folded(text);
    let mut counts = Vec::with_capacity(chars.len() * 4);
    let mut add = |kind: u64, gram: &mut dyn Iterator<Item = char>, weight: f32| {
        let hash = gram.fold(0xcbf2_9ce4_8422_2325u64 ^ kind, |h, c| (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3));
        counts.push((hash, weight));
    };
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            // English is matched by words, below.
            continue;
        }
        if is_kanji(*c) {
            add(1, &mut std::iter::once(*c), 1.0);
        }
        for n in [2, 3] {
            let Some(gram) = chars.get(i..i + n) else { continue };
            if gram.iter().all(|c| *c == ' ') || gram.iter().any(char::is_ascii_alphanumeric) {
                continue;
            }
            let weight = if gram.iter().all(|c| is_hiragana(*c) || *c == ' ' || *c == 'ー') { GRAMMAR_WEIGHT } else { 1.0 };
            add(n as u64, &mut gram.iter().copied(), weight);
            if gram.iter().any(|c| to_hiragana(*c) != *c) {
                add(n as u64, &mut gram.iter().map(|c| to_hiragana(*c)), weight * 0.5);
            }
        }
    }
    let mut word = String::new();
    for letters in chars.split(|c| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        word.clear();
        word.extend(letters);
        if STOP_WORDS.contains(&word.as_str()) {
            continue;
        }
        let stem = word.strip_suffix('s').filter(|s| s.len() >= 3).unwrap_or(&word);
        add(10, &mut stem.chars(), 1.0);
    }
    // Stable, so a gram's counts add up in text order, as they always have.
    counts.sort_by_key(|(gram, _)| *gram);
    counts.dedup_by(|(gram, count), (kept, total)| {
        let same = gram == kept;
        if same {
            *total += *count;
        }
        same
    });
    counts
}
