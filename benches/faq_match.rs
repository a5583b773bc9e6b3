//! FAQ matching with 200 FAQs (target ≤ 20 µs per message): the clinic's and the salon's 39
//! sample FAQs, each repeated with its phrasings varied by a number until there are 200, and
//! customer messages of several lengths.
//!
//!     cargo bench --bench faq_match

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use line_oa::domain::faq::{Faq, FaqIndex};

#[derive(serde::Deserialize)]
struct FaqFile {
    faq: Vec<Faq>,
}

fn two_hundred_faqs() -> Vec<Faq> {
    let sample: Vec<Faq> = [include_str!("../data/faq/clinic.toml"), include_str!("../data/faq/salon.toml")]
        .iter()
        .flat_map(|t| toml::from_str::<FaqFile>(t).unwrap().faq)
        .collect();
    (0..200)
        .map(|i| {
            let mut f = sample[i % sample.len()].clone();
            f.id = format!("{}-{i}", f.id);
            // Distinct grams per copy (a copy number in kanji numerals and words), so the index
            // holds 200 FAQs' worth of postings rather than 39 repeated.
            let tag = format!("第{}号 option{i}", ["一", "二", "三", "四", "五", "六"][i / sample.len() % 6]);
            f.questions = f.questions.iter().map(|q| format!("{q} {tag}")).collect();
            f
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let index = FaqIndex::new(two_hundred_faqs());
    assert_eq!(index.faqs().len(), 200);
    let messages = [
        ("short_ja", "駐車場ある？"),
        ("ja", "こんにちは。来週初めて伺うのですが、車で行っても停める場所はありますか？"),
        ("en", "Hi, do you take credit cards or only cash?"),
        ("long_ja", "先日はありがとうございました。次回の予約なのですが、当日キャンセルするとキャンセル料はかかりますか？子供も一緒に連れて行きたいのですが、キッズスペースはありますか？よろしくお願いします。"),
    ];
    assert!(messages.iter().all(|(_, m)| index.best(m).is_some()), "every message matches something");
    let mut group = c.benchmark_group("faq_match_200");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for (name, text) in messages {
        group.bench_function(name, |b| b.iter(|| index.best(black_box(text)).map(|m| m.score)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
