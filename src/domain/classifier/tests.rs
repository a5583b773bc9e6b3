use super::*;

#[test]
fn parses_rows_and_holds_out_every_fifth_of_a_group() {
    let mut tsv = "category\tlang\ttext\r\n# note\n\nbogus\tja\tx\nhours\tde\tx\n".to_owned();
    for i in 1..=10 {
        tsv += &format!("hours\tja\t何時まで{i}\r\nphone\ten\t number {i} \n");
    }
    let rows = parse_examples(&tsv);
    let first = (rows[1].category, rows[1].lang, rows[1].text.as_str());
    assert_eq!((rows.len(), first), (20, (Category::Phone, Lang::En, "number 1")));
    let held: Vec<&str> = rows.iter().filter(|e| e.held_out).map(|e| &e.text[..]).collect();
    assert_eq!(held, ["何時まで5", "number 5", "何時まで10", "number 10"]);
    assert!(Category::ALL.iter().all(|c| c.as_str().parse() == Ok(*c)));
    assert!("long_message".parse::<Category>().is_err());
}

#[test]
fn shipped_set_is_well_formed_with_both_languages_in_every_category() {
    let rows = parse_examples(EXAMPLES_TSV);
    let lines = EXAMPLES_TSV.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    assert_eq!(rows.len(), lines, "a row failed to parse");
    let texts: std::collections::HashSet<&str> = rows.iter().map(|e| &e.text[..]).collect();
    assert_eq!(texts.len(), rows.len(), "duplicate texts");
    assert!(rows.iter().all(|e| detect_lang(&e.text) == e.lang));
    for c in Category::ALL {
        let count = |l| rows.iter().filter(|e| e.category == c && e.lang == l).count();
        assert!(count(Lang::Ja) >= 35 && count(Lang::En) >= 25, "{c}");
    }
}

#[test]
fn held_out_accuracy() {
    let model = Classifier::default_model();
    let rows = parse_examples(EXAMPLES_TSV);
    let score = |c: Option<Category>, l: Lang| {
        let of = |e: &&Example| e.held_out && e.lang == l && c.is_none_or(|c| e.category == c);
        let right = |e: &&Example| model.classify(&e.text).category == e.category;
        (rows.iter().filter(of).filter(right).count(), rows.iter().filter(of).count())
    };
    for c in Category::ALL.map(Some).into_iter().chain([None]) {
        let ((ja_ok, ja), (en_ok, en)) = (score(c, Lang::Ja), score(c, Lang::En));
        eprintln!("{:<14} ja {ja_ok}/{ja}  en {en_ok}/{en}", c.map_or("all", |c| c.as_str()));
    }
    let ((ja_ok, ja), (en_ok, en)) = (score(None, Lang::Ja), score(None, Lang::En));
    let accuracy = (ja_ok + en_ok) as f64 / (ja + en) as f64;
    // Measured 0.855 when the set and settings were fixed; the margin allows small edits.
    assert!(accuracy >= 0.82, "held-out accuracy {accuracy:.3}");
}

/// Prints complaint recall and accuracy on 5-fold CV of the training rows for each floor.
#[test]
#[ignore = "a selection run: cargo test --lib choose_complaint_floor -- --ignored --nocapture"]
fn choose_complaint_floor() {
    let rows: Vec<Example> = parse_examples(EXAMPLES_TSV).into_iter().filter(|e| !e.held_out).collect();
    let mut scored = Vec::new();
    for fold in 0..5 {
        let train: Vec<(Category, &str)> =
            rows.iter().enumerate().filter(|(i, _)| i % 5 != fold).map(|(_, e)| (e.category, e.text.as_str())).collect();
        let model = Classifier::train(&train);
        for (_, e) in rows.iter().enumerate().filter(|(i, _)| i % 5 == fold) {
            scored.push((e.category, model.probabilities_of(&e.text)));
        }
    }
    let complaint = Category::Complaint as usize;
    for floor in [0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.50, 1.1] {
        let pick = |p: &[f64; N]| if p[complaint] >= floor { complaint } else { (0..N).fold(0, |b, c| if p[c] > p[b] { c } else { b }) };
        let right = scored.iter().filter(|(c, p)| pick(p) == *c as usize).count();
        let complaints = scored.iter().filter(|(c, _)| *c == Category::Complaint).count();
        let caught = scored.iter().filter(|(c, p)| *c == Category::Complaint && pick(p) == complaint).count();
        let false_alarms = scored.iter().filter(|(c, p)| *c != Category::Complaint && pick(p) == complaint).count();
        eprintln!(
            "floor {floor:.2}: accuracy {:.3}, complaint recall {:.3}, false complaints {false_alarms}",
            right as f64 / scored.len() as f64,
            caught as f64 / complaints as f64
        );
    }
}

#[test]
fn classifies_typical_and_odd_input() {
    let model = Classifier::default_model();
    let cls = |t: &str| model.classify(t);
    assert_eq!(cls("営業時間は？").category, Category::Hours);
    assert_eq!(cls("Thank you so much!").category, Category::Thanks);
    assert_eq!((cls("電話番号教えて").category, cls("電話番号教えて").lang), (Category::Phone, Lang::Ja));
    let long = "あ".repeat(5000);
    let odd = ["", " ", "😀😀😀", "🎉", "\u{3099}", "ｶﾞ", "\t\n", "？！", long.as_str()];
    for text in odd.into_iter().chain(EXAMPLES_TSV.lines()) {
        let c = cls(text).confidence;
        assert!((0.0..=1.0).contains(&c), "{text:?}: {c}");
    }
}

#[test]
fn width_variants_and_digits_share_features() {
    let kw = Keywords::new();
    let feats = |t: &str| {
        let mut v = Vec::new();
        for_each_feature(t, &kw, |b, x| v.push((b, x.to_bits())));
        v
    };
    assert_eq!(feats("ＵＲＬ　ｐｌｓ？"), feats("url pls?"));
    assert_eq!(feats("ﾃﾞﾝﾜ番号"), feats("デンワ番号"));
    assert_eq!(feats("10時"), feats("９５時"));
}
