//! The FAQs' inverted index: n-gram to the phrasings holding it, with TF-IDF weights.

use std::collections::HashMap;

use super::grams::term_counts;
use super::{Faq, FaqMatch};

/// An answer's similarity counts this much of a question's.
const ANSWER_WEIGHT: f32 = 0.8;

/// The FAQs, indexed for matching: an inverted index from n-gram to the phrasings holding it.
#[derive(Debug, Clone, Default)]
pub struct FaqIndex {
    faqs: Vec<Faq>,
    /// n-gram hash -> (phrasing, weight in that phrasing's unit vector); the answers count as
    /// phrasings too, scaled by `ANSWER_WEIGHT`.
    postings: HashMap<u64, Vec<(u32, f32)>>,
    /// n-gram hash -> inverse document frequency over the phrasings.
    idf: HashMap<u64, f32>,
    /// The idf a gram no phrasing holds weighs with: the rarest's. Per index, not per message:
    /// finding it walks every gram.
    unseen: f32,
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
        let unseen = idf.values().copied().fold(1.0f32, f32::max);
        let mut postings: HashMap<u64, Vec<(u32, f32)>> = HashMap::new();
        let mut owner = Vec::with_capacity(phrasings.len());
        for (p, (faq, scale, counts)) in phrasings.into_iter().enumerate() {
            owner.push(faq);
            for (gram, w) in unit_vector(&counts, &idf, unseen) {
                postings.entry(gram).or_default().push((p as u32, w * scale));
            }
        }
        Self { faqs, postings, idf, unseen, owner }
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
        for (gram, w) in unit_vector(&counts, &self.idf, self.unseen) {
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
/// do make the message longer, so they count in the length, weighing `unseen` (as the
/// rarest would).
fn unit_vector(counts: &HashMap<u64, f32>, idf: &HashMap<u64, f32>, unseen: f32) -> Vec<(u64, f32)> {
    let weighted: Vec<(u64, f32)> = counts.iter().map(|(g, tf)| (*g, (1.0 + tf.ln()) * idf.get(g).copied().unwrap_or(unseen))).collect();
    let norm = weighted.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm == 0.0 {
        return Vec::new();
    }
    weighted.into_iter().filter(|(g, _)| idf.contains_key(g)).map(|(g, w)| (g, w / norm)).collect()
}
