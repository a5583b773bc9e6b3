//! FAQ (よくある質問): staff-written questions, each with several phrasings and an answer, and
//! the matcher that finds which one a customer's message asks. Short casual Japanese has no
//! spaces to split words on, so the match is on characters: TF-IDF over character 1–3-grams
//! (1-grams only for kanji, which carry meaning alone; grams of hiragana only, mostly grammar,
//! weigh little) and English words (stop words dropped), after the classifier's NFKC and width
//! folding, with punctuation dropped. A message's score for
//! an FAQ is the best cosine similarity with any of its phrasings, in 0..=1. Pure: no I/O.

use super::classifier::Lang;

mod grams;
mod index;

pub use index::FaqIndex;

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

/// The best FAQ for a message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaqMatch<'a> {
    pub faq: &'a Faq,
    /// Cosine similarity with the closest phrasing, 0..=1.
    pub score: f64,
}

#[cfg(test)]
mod tests;
