//! FAQ (よくある質問): staff-written questions, each with several phrasings and an answer, and
//! the matcher that finds which one a customer's message asks. Short casual Japanese has no
//! spaces to split words on, so the match is on characters: TF-IDF over character 1–3-grams
//! (1-grams only for kanji, which carry meaning alone; grams of hiragana only, mostly grammar,
//! weigh little) and English words (stop words dropped), after the classifier's NFKC and width
//! folding, with punctuation dropped. A message's score for
//! an FAQ is the best cosine similarity with any of its phrasings, in 0..=1. Pure: no I/O.

use std::collections::HashMap;

use super::classifier::{normalised_chars, Lang};

/// One FAQ entry as staff wrote it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    /// Staff's own short name for it (`parking`): shown in reasons, logs and the console.
    pub id: String,
    /// Ways a customer might ask it, in any language; at least one.
    pub questions: Vec<String>,
    /// The answer in Japanese.
    pub answer: String,
    /// The answer in English; without it English questions get `answer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_en: Option<String>,
}

impl Faq {
    pub fn answer_for(&self, lang: Lang) -> &str {
        match (lang, &self.answer_en) {
            (Lang::En, Some(en)) if !en.trim().is_empty() => en,
            _ => &self.answer,
        }
    }
}

/// An answer's similarity counts this much of a question's.
const ANSWER_WEIGHT: f32 = 0.8;

/// The best FAQ for a message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaqMatch<'a> {
    pub faq: &'a Faq,
    /// Cosine similarity with the closest phrasing, 0..=1.
    pub score: f64,
}

/// The FAQs, indexed for matching: an inverted index from n-gram to the phrasings holding it.
#[derive(Debug, Clone, Default)]
pub struct FaqIndex {
    faqs: Vec<Faq>,
    /// n-gram hash -> (phrasing, weight in that phrasing's unit vector); the answers count as
    /// phrasings too, scaled by `ANSWER_WEIGHT`.
    postings: HashMap<u64, Vec<(u32, f32)>>,
    /// n-gram hash -> inverse document frequency over the phrasings.
    idf: HashMap<u64, f32>,
    /// Phrasing -> the FAQ it belongs to.
    owner: Vec<u32>,
}

impl FaqIndex {
    pub fn new(faqs: Vec<Faq>) -> Self {
        // The answers too, weighted down: they name the topic (駐車場, card) in words the
        // questions may not use, but a question that matches a phrasing should win.
        let phrasings: Vec<(u32, f32, HashMap<u64, f32>)> = faqs
            .iter()
            .enumerate()
            .flat_map(|(i, faq)| {
                let questions = faq.questions.iter().map(move |q| (i as u32, 1.0, term_counts(q)));
                let answers = std::iter::once(&faq.answer).chain(&faq.answer_en).map(move |a| (i as u32, ANSWER_WEIGHT, term_counts(a)));
                questions.chain(answers)
            })
            .filter(|(_, _, counts)| !counts.is_empty())
            .collect();
        let mut df: HashMap<u64, u32> = HashMap::new();
        for (_, _, counts) in &phrasings {
            for gram in counts.keys() {
                *df.entry(*gram).or_default() += 1;
            }
        }
        let n = phrasings.len() as f32;
        // Smoothed, so a gram in every phrasing still counts a little.
        let idf: HashMap<u64, f32> = df.into_iter().map(|(g, d)| (g, ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)).collect();
        let mut postings: HashMap<u64, Vec<(u32, f32)>> = HashMap::new();
        let mut owner = Vec::with_capacity(phrasings.len());
        for (p, (faq, scale, counts)) in phrasings.into_iter().enumerate() {
            owner.push(faq);
            for (gram, w) in unit_vector(&counts, &idf) {
                postings.entry(gram).or_default().push((p as u32, w * scale));
            }
        }
        Self { faqs, postings, idf, owner }
    }

    pub fn faqs(&self) -> &[Faq] {
        &self.faqs
    }

    pub fn is_empty(&self) -> bool {
        self.faqs.is_empty()
    }

    /// The FAQ whose phrasing is closest to `text`, if any shares an n-gram with it.
    pub fn best(&self, text: &str) -> Option<FaqMatch<'_>> {
        self.ranked(text, 1).into_iter().next()
    }

    /// The `k` FAQs closest to `text`, best first (each scored by its closest phrasing); only
    /// those sharing an n-gram with it. Ties go to the earlier FAQ.
    pub fn ranked(&self, text: &str, k: usize) -> Vec<FaqMatch<'_>> {
        if self.faqs.is_empty() || k == 0 {
            return Vec::new();
        }
        let counts = term_counts(text);
        // Dense: a common gram's postings run through most phrasings, and adding into a
        // slice costs far less than a map entry per posting.
        let mut dots = vec![0.0f32; self.owner.len()];
        for (gram, w) in unit_vector(&counts, &self.idf) {
            for &(p, pw) in self.postings.get(&gram).into_iter().flatten() {
                dots[p as usize] += w * pw;
            }
        }
        let mut per_faq = vec![0.0f32; self.faqs.len()];
        for (p, s) in dots.iter().enumerate() {
            let best = &mut per_faq[self.owner[p] as usize];
            *best = best.max(*s);
        }
        let mut hits: Vec<(usize, f32)> = per_faq.into_iter().enumerate().filter(|(_, s)| *s > 0.0).collect();
        // Stable: equal scores keep the FAQs' order.
        hits.sort_by(|a, b| b.1.total_cmp(&a.1));
        hits.truncate(k);
        hits.into_iter().map(|(i, s)| FaqMatch { faq: &self.faqs[i], score: f64::from(s).clamp(0.0, 1.0) }).collect()
    }
}

/// Grams of a message known to the index, weighted by (1 + ln tf) × idf and scaled to unit
/// length over those grams; grams no phrasing has cannot add to any dot product, but they
/// do make the message longer, so they count in the length.
fn unit_vector(counts: &HashMap<u64, f32>, idf: &HashMap<u64, f32>) -> Vec<(u64, f32)> {
    // A gram no phrasing holds weighs as the rarest would.
    let unseen = idf.values().copied().fold(1.0f32, f32::max);
    let weighted: Vec<(u64, f32)> = counts.iter().map(|(g, tf)| (*g, (1.0 + tf.ln()) * idf.get(g).copied().unwrap_or(unseen))).collect();
    let norm = weighted.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm == 0.0 {
        return Vec::new();
    }
    weighted.into_iter().filter(|(g, _)| idf.contains_key(g)).map(|(g, w)| (g, w / norm)).collect()
}

/// The matcher's view of a text: folded characters, punctuation and symbols as one boundary.
fn folded(text: &str) -> Vec<char> {
    let mut out = vec![' '];
    normalised_chars(text, |c| {
        let c = match c {
            _ if c.is_ascii_digit() => '0',
            _ if c.is_alphanumeric() || c == 'ー' => c,
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

fn is_kanji(c: char) -> bool {
    matches!(u32::from(c), 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

fn is_hiragana(c: char) -> bool {
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
/// it still counts, a little, so kana-only messages can match at all.
const GRAMMAR_WEIGHT: f32 = 0.15;

/// Weighted counts of the text's features: kanji 1-grams and every 2- and 3-gram of Japanese
/// (with the boundary marker, so a word's start and end are grams of their own; katakana
/// grams also under their hiragana spelling), and English words (a plural's `s` dropped).
fn term_counts(text: &str) -> HashMap<u64, f32> {
    let chars = folded(text);
    let mut counts = HashMap::new();
    let mut add = |kind: u64, gram: &mut dyn Iterator<Item = char>, weight: f32| {
        let hash = gram.fold(0xcbf2_9ce4_8422_2325u64 ^ kind, |h, c| (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3));
        *counts.entry(hash).or_insert(0.0) += weight;
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
    let text: String = chars.iter().collect();
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if STOP_WORDS.contains(&word) {
            continue;
        }
        let stem = word.strip_suffix('s').filter(|s| s.len() >= 3).unwrap_or(word);
        add(10, &mut stem.chars(), 1.0);
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faq(id: &str, questions: &[&str]) -> Faq {
        Faq { id: id.into(), questions: questions.iter().map(|q| q.to_string()).collect(), answer: format!("{id}です"), answer_en: None }
    }

    fn index() -> FaqIndex {
        FaqIndex::new(vec![
            faq("parking", &["駐車場はありますか", "車で行っても停める場所はありますか", "Is there parking?"]),
            faq("card", &["クレジットカードは使えますか", "カード払いできますか", "Do you take credit cards?"]),
            faq("cancel_fee", &["キャンセル料はかかりますか", "Is there a cancellation fee?"]),
        ])
    }

    #[test]
    fn finds_the_faq_a_message_asks() {
        let idx = index();
        for (text, want) in [
            ("駐車場ある？", "parking"),
            ("ｶｰﾄﾞ使える？", "card"),
            ("かーどつかえますか", "card"),
            ("ＣＡＮＣＥＬＬＡＴＩＯＮ　ＦＥＥ？", "cancel_fee"),
            ("キャンセル料って", "cancel_fee"),
            ("parking??", "parking"),
        ] {
            let m = idx.best(text).unwrap_or_else(|| panic!("{text}: no match"));
            assert_eq!(m.faq.id, want, "{text}: {}", m.score);
            // Kana-only spellings match, more weakly: most of their grams look like grammar.
            let floor = if text.chars().all(|c| is_hiragana(c) || c == 'ー') { 0.1 } else { 0.2 };
            assert!(m.score > floor, "{text}: {}", m.score);
        }
    }

    #[test]
    fn width_case_and_kana_variants_score_alike() {
        let idx = index();
        let score = |t: &str| idx.best(t).map(|m| (m.faq.id.clone(), (m.score * 1e6).round()));
        assert_eq!(score("カード払いできますか"), score("ｶｰﾄﾞ払いできますか"));
        // A katakana word typed in hiragana still finds it, through the gram's second spelling.
        assert_eq!(idx.best("かーど払いできますか").map(|m| m.faq.id.as_str()), Some("card"));
        assert_eq!(score("IS THERE PARKING?"), score("is there parking"));
    }

    #[test]
    fn empty_unrelated_and_huge_input() {
        let idx = index();
        assert!(idx.best("").is_none());
        assert!(idx.best("？！。 ").is_none());
        assert!(idx.best("😀").is_none());
        assert!(idx.best("xyz").is_none_or(|m| m.score < 0.2));
        let huge = "駐車場".repeat(20_000);
        assert!(idx.best(&huge).is_some_and(|m| (0.0..=1.0).contains(&m.score)));
        assert!(FaqIndex::new(Vec::new()).best("駐車場").is_none());
        assert!(FaqIndex::new(vec![faq("blank", &["", "。"])]).best("駐車場").is_none());
    }

    #[test]
    fn the_answer_follows_the_language_and_falls_back_to_japanese() {
        let mut f = faq("card", &["カード"]);
        assert_eq!(f.answer_for(Lang::En), "cardです");
        f.answer_en = Some("Yes.".into());
        assert_eq!((f.answer_for(Lang::En), f.answer_for(Lang::Ja)), ("Yes.", "cardです"));
    }

    proptest::proptest! {
        #[test]
        fn any_text_scores_in_range_and_an_exact_phrasing_scores_one(text in "\\PC{0,200}") {
            let idx = index();
            if let Some(m) = idx.best(&text) {
                proptest::prop_assert!((0.0..=1.0).contains(&m.score));
            }
            for q in idx.faqs().iter().flat_map(|f| f.questions.iter()) {
                let m = idx.best(q).unwrap();
                proptest::prop_assert!(m.score > 0.999, "{q}: {}", m.score);
            }
        }
    }
}
