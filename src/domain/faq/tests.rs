use super::grams::{is_hiragana, is_kana_or_kanji_letter};
use super::index::damped;
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
fn a_grammar_gram_weighs_a_little_and_a_repeated_one_less_than_its_count() {
    // Grammar grams (0.15) and a katakana gram's hiragana spelling (0.075) weigh that much, and
    // never less than nothing; counts from one up are damped, continuously at one.
    assert_eq!((damped(0.15), damped(0.075), damped(1.0)), (0.15, 0.075, 1.0));
    assert!(damped(2.0) > 1.0 && damped(2.0) < 2.0 && damped(20.0) < 5.0);
    let mut last = 0.0;
    for tf in (1..400).map(|i| i as f32 * 0.05) {
        assert!(damped(tf) > last, "{tf}");
        last = damped(tf);
    }
    // So sharing only grammar with a phrasing is a weak match, not a strong one.
    let idx = index();
    assert!(idx.best("ありますか").is_none_or(|m| m.score < 0.3), "{:?}", idx.best("ありますか").map(|m| m.score));
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
fn the_kana_and_kanji_short_cut_holds_letters_only() {
    let short_cut: Vec<char> = (0..=0x10FFFF).filter_map(char::from_u32).filter(|c| is_kana_or_kanji_letter(*c)).collect();
    assert_eq!(short_cut.iter().find(|c| !c.is_alphanumeric()), None);
    assert!(short_cut.len() > 20_000, "kana and kanji: {}", short_cut.len());
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
