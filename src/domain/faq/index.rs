//! The FAQs' inverted index: n-gram to the phrasings holding it, with TF-IDF weights.

use rustc_hash::FxHashMap;

use super::grams::term_counts;
use super::{Faq, FaqMatch};

/// An answer's similarity counts this much of a question's.
const ANSWER_WEIGHT: f32 = 0.8;

/// The FAQs, indexed for matching: an inverted index from n-gram to the phrasings holding it.
/// Each gram the phrasings hold has a row, numbered densely, so a message gram costs one map
/// look-up and the rest is slices.
#[derive(Debug, Clone, Default)]
pub struct FaqIndex {
    faqs: Vec<Faq>,
    /// n-gram hash -> its row. Fx: the keys are already hashes, SipHash's guard against
    /// chosen keys buys nothing here.
    rows: FxHashMap<u64, u32>,
    /// Row -> inverse document frequency over the phrasings.
    idf: Vec<f32>,
    /// The idf a gram no phrasing holds weighs with: the rarest's. Per index, not per message:
    /// finding it walks every gram.
    unseen: f32,
    /// Row r's postings are `postings[starts[r]..starts[r + 1]]`: (phrasing, weight in that
    /// phrasing's unit vector), the answers' scaled by `ANSWER_WEIGHT`.
    starts: Vec<u32>,
    postings: Vec<(u32, f32)>,
    /// Phrasings are numbered FAQ by FAQ: FAQ i's are `first_phrasing[i]..first_phrasing[i + 1]`.
    first_phrasing: Vec<u32>,
}

impl FaqIndex {
    pub fn new(faqs: Vec<Faq>) -> Self {
        let mut phrasings: Vec<(f32, Vec<(u64, f32)>)> = Vec::new();
        let mut first_phrasing = vec![0];
        for faq in &faqs {
            // The answers too, weighted down: they name the topic (駐車場, card) in words the
            // questions may not use, but a question that matches a phrasing should win.
            let questions = faq.questions.iter().map(|q| (1.0, q));
            let answers = std::iter::once(&faq.answer).chain(&faq.answer_en).map(|a| (ANSWER_WEIGHT, a));
            phrasings.extend(questions.chain(answers).map(|(scale, text)| (scale, term_counts(text))).filter(|(_, c)| !c.is_empty()));
            first_phrasing.push(phrasings.len() as u32);
        }
        let mut rows = FxHashMap::default();
        let mut df: Vec<u32> = Vec::new();
        for (_, counts) in &phrasings {
            for (gram, _) in counts {
                let next = df.len() as u32;
                let row = *rows.entry(*gram).or_insert(next);
                if row == next {
                    df.push(0);
                }
                df[row as usize] += 1;
            }
        }
        let n = phrasings.len() as f32;
        // Smoothed, so a gram in every phrasing still counts a little.
        let idf: Vec<f32> = df.iter().map(|d| ((1.0 + n) / (1.0 + *d as f32)).ln() + 1.0).collect();
        let unseen = idf.iter().copied().fold(1.0f32, f32::max);
        let index = Self { faqs: Vec::new(), rows, idf, unseen, starts: Vec::new(), postings: Vec::new(), first_phrasing };
        let mut by_row: Vec<Vec<(u32, f32)>> = vec![Vec::new(); df.len()];
        for (p, (scale, counts)) in phrasings.iter().enumerate() {
            for (row, w) in index.unit_vector(counts) {
                by_row[row as usize].push((p as u32, w * scale));
            }
        }
        let mut starts = Vec::with_capacity(by_row.len() + 1);
        starts.push(0);
        for postings in &by_row {
            starts.push(starts[starts.len() - 1] + postings.len() as u32);
        }
        Self { faqs, starts, postings: by_row.concat(), ..index }
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
        // Dense: a common gram's postings run through most phrasings, and adding into a
        // slice costs far less than a map entry per posting.
        let mut dots = vec![0.0f32; self.phrasing_count()];
        for (row, w) in self.unit_vector(&term_counts(text)) {
            let (start, end) = (self.starts[row as usize] as usize, self.starts[row as usize + 1] as usize);
            for &(p, pw) in &self.postings[start..end] {
                dots[p as usize] += w * pw;
            }
        }
        let mut hits: Vec<(usize, f32)> = (0..self.faqs.len())
            .map(|i| (i, dots[self.first_phrasing[i] as usize..self.first_phrasing[i + 1] as usize].iter().copied().fold(0.0f32, f32::max)))
            .filter(|(_, s)| *s > 0.0)
            .collect();
        // Best first, equal scores in the FAQs' order; only the top k need sorting.
        let order = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if hits.len() > k {
            hits.select_nth_unstable_by(k - 1, order);
            hits.truncate(k);
        }
        hits.sort_unstable_by(order);
        hits.into_iter().map(|(i, s)| FaqMatch { faq: &self.faqs[i], score: f64::from(s).clamp(0.0, 1.0) }).collect()
    }

    /// How many phrasings the index holds: those with a gram at all.
    fn phrasing_count(&self) -> usize {
        self.first_phrasing.last().map_or(0, |n| *n as usize)
    }

    /// A text's grams known to the index, as (row, weight): weighted by `damped(tf)` × idf and
    /// scaled to unit length over all its grams; grams no phrasing has cannot add to any dot
    /// product, but they do make the text longer, so they count in the length, weighing
    /// `unseen` (as the rarest would).
    fn unit_vector(&self, counts: &[(u64, f32)]) -> Vec<(u32, f32)> {
        let weighted: Vec<(Option<u32>, f32)> = counts
            .iter()
            .map(|(gram, tf)| {
                let row = self.rows.get(gram).copied();
                (row, damped(*tf) * row.map_or(self.unseen, |r| self.idf[r as usize]))
            })
            .collect();
        let norm = weighted.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm == 0.0 {
            return Vec::new();
        }
        weighted.into_iter().filter_map(|(row, w)| Some((row?, w / norm))).collect()
    }
}

/// A gram's weighted count, damped: 1 + ln tf from one occurrence up, so a repeated gram does
/// not swamp the rest; below one (a grammar gram, `grams::GRAMMAR_WEIGHT`) the count itself, so
/// such a gram weighs a little. (1 + ln tf alone made a grammar gram weigh 1 + ln 0.15 = −0.9:
/// as much as a content gram, and two texts sharing ありますか alike for it.)
pub(super) fn damped(tf: f32) -> f32 {
    if tf > 1.0 {
        1.0 + tf.ln()
    } else {
        tf
    }
}
