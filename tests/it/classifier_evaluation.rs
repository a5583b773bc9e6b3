//! The classifier measured on `data/classifier/evaluation.tsv`: messages written from a brief
//! by someone who never saw the training rows (`data/classifier/evaluation-notes.md`). Never
//! trained on. Prints the per-category and per-language table the README quotes.

use line_oa::domain::classifier::{parse_examples, Category, Classifier, Lang};

const EVALUATION_TSV: &str = include_str!("../../data/classifier/evaluation.tsv");

#[test]
fn the_classifier_on_the_independent_evaluation_set() {
    let rows = parse_examples(EVALUATION_TSV);
    assert_eq!(rows.len(), EVALUATION_TSV.lines().count() - 1, "every row of the evaluation set parses");
    let model = Classifier::default_model();
    let mut right = [[0usize; 2]; Category::ALL.len()];
    let mut total = [[0usize; 2]; Category::ALL.len()];
    let mut complaint_as = Vec::new();
    for row in &rows {
        let got = model.classify(&row.text).category;
        total[row.category as usize][row.lang as usize] += 1;
        if got == row.category {
            right[row.category as usize][row.lang as usize] += 1;
        } else if row.category == Category::Complaint {
            complaint_as.push(got.as_str());
        }
    }
    println!("| category | ja | en | recall |\n| --- | --- | --- | --- |");
    for c in Category::ALL {
        let (r, t) = (right[c as usize], total[c as usize]);
        let recall = (r[0] + r[1]) as f64 / (t[0] + t[1]).max(1) as f64;
        println!("| {} | {}/{} | {}/{} | {recall:.2} |", c.as_str(), r[0], t[0], r[1], t[1]);
    }
    let sum = |m: &[[usize; 2]], l: Option<Lang>| m.iter().map(|x| l.map_or(x[0] + x[1], |l| x[l as usize])).sum::<usize>();
    for (name, lang) in [("ja", Some(Lang::Ja)), ("en", Some(Lang::En)), ("all", None)] {
        println!("accuracy {name}: {:.3}", sum(&right, lang) as f64 / sum(&total, lang) as f64);
    }
    println!("complaints missed, classified as: {complaint_as:?}");
    let complaint = Category::Complaint as usize;
    let recall = (right[complaint][0] + right[complaint][1]) as f64 / (total[complaint][0] + total[complaint][1]) as f64;
    let accuracy = sum(&right, None) as f64 / sum(&total, None) as f64;
    // The targets; measured 0.926 and 0.890 when the complaint floor was fixed.
    assert!(recall >= 0.90, "complaint recall {recall:.3}");
    assert!(accuracy >= 0.88, "accuracy {accuracy:.3}");
}
