//! Changes the `[[faq]]` entries of a settings document as text, keeping everything else as
//! its author wrote it (comments, order, layout): staff edit the FAQ in the console while an
//! admin keeps the rest of the file by hand, and neither loses the other's work.

use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};

use crate::domain::faq::Faq;

/// One change to the FAQ list.
#[derive(Debug, Clone, Copy)]
pub enum FaqEdit<'a> {
    /// Appended after the last FAQ.
    Add(&'a Faq),
    /// The entry with this id, changed in place (its comments and position kept).
    Replace {
        id: &'a str,
        with: &'a Faq,
    },
    Remove(&'a str),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaqEditError {
    #[error("the settings are not valid TOML: {0}")]
    Parse(String),
    #[error("`faq` is not written as [[faq]] tables in the settings; change it there")]
    NotTables,
    #[error("FAQ {0:?}")]
    NotFound(String),
}

/// The settings document `toml` with `edit` made to its FAQ.
pub fn edit_faqs(toml: &str, edit: FaqEdit<'_>) -> Result<String, FaqEditError> {
    let mut doc: DocumentMut = toml.parse().map_err(|e: toml_edit::TomlError| FaqEditError::Parse(e.message().to_owned()))?;
    if doc.get("faq").is_none() {
        doc.insert("faq", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let entries = doc.get_mut("faq").and_then(Item::as_array_of_tables_mut).ok_or(FaqEditError::NotTables)?;
    let position = |entries: &ArrayOfTables, id: &str| {
        entries.iter().position(|t| t.get("id").and_then(Item::as_str) == Some(id)).ok_or_else(|| FaqEditError::NotFound(id.to_owned()))
    };
    match edit {
        FaqEdit::Add(faq) => {
            let mut table = Table::new();
            fill(&mut table, faq);
            entries.push(table);
        }
        FaqEdit::Replace { id, with } => {
            let at = position(entries, id)?;
            fill(entries.get_mut(at).expect("found just above"), with);
        }
        FaqEdit::Remove(id) => {
            let at = position(entries, id)?;
            entries.remove(at);
        }
    }
    if entries.is_empty() {
        doc.remove("faq");
    }
    Ok(doc.to_string())
}

/// Writes `faq`'s fields into `table`, leaving its decor (a comment above the header) alone.
fn fill(table: &mut Table, faq: &Faq) {
    table.insert("id", value(faq.id.as_str()));
    table.insert("questions", value(faq.questions.iter().map(String::as_str).collect::<Array>()));
    table.insert("answer", value(faq.answer.as_str()));
    match &faq.answer_en {
        Some(en) => {
            table.insert("answer_en", value(en.as_str()));
        }
        None => {
            table.remove("answer_en");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn faq(id: &str, answer: &str) -> Faq {
        Faq {
            id: id.into(),
            questions: vec!["駐車場はありますか".into(), "Is there parking?".into()],
            answer: answer.into(),
            answer_en: None,
        }
    }

    const DOC: &str = "# 医院の設定\naccount_name = \"さくら\"\n\n# 駐車場\n[[faq]]\nid = \"parking\"\nquestions = [\"駐車場は？\"]\nanswer = \"3台\"\nanswer_en = \"3 cars\"\n\n[[faq]] # cards\nid = \"card\"\nquestions = [\"カードは？\"]\nanswer = \"使えます\"\n\n[business] # shop facts\nphone = \"03\"\n";

    fn faqs_of(toml: &str) -> Vec<Faq> {
        Settings::from_toml(toml).unwrap().rules.faq.faqs().to_vec()
    }

    #[test]
    fn adding_appends_after_the_last_faq_and_keeps_every_comment() {
        let out = edit_faqs(DOC, FaqEdit::Add(&faq("hours", "9時から\n18時まで"))).unwrap();
        let ids: Vec<_> = faqs_of(&out).into_iter().map(|f| f.id).collect();
        assert_eq!(ids, ["parking", "card", "hours"]);
        for kept in ["# 医院の設定", "# 駐車場", "[[faq]] # cards", "[business] # shop facts", "phone = \"03\""] {
            assert!(out.contains(kept), "{kept:?} lost:\n{out}");
        }
        assert_eq!(faqs_of(&out)[2].answer, "9時から\n18時まで", "a multi-line answer survives");
    }

    #[test]
    fn replacing_changes_that_entry_in_place_and_can_drop_its_english() {
        let with = Faq { id: "parking".into(), questions: vec!["車で行けますか".into()], answer: "5台".into(), answer_en: None };
        let out = edit_faqs(DOC, FaqEdit::Replace { id: "parking", with: &with }).unwrap();
        let faqs = faqs_of(&out);
        assert_eq!(faqs[0], with);
        assert_eq!(faqs[1].id, "card");
        assert!(out.contains("# 駐車場\n[[faq]]"), "its comment stays above it:\n{out}");
    }

    #[test]
    fn a_renamed_entry_keeps_its_place() {
        let with = faq("car-park", "3台");
        let out = edit_faqs(DOC, FaqEdit::Replace { id: "parking", with: &with }).unwrap();
        assert_eq!(faqs_of(&out).iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["car-park", "card"]);
    }

    #[test]
    fn removing_the_last_faq_leaves_no_faq_key() {
        let one = edit_faqs(DOC, FaqEdit::Remove("parking")).unwrap();
        assert_eq!(faqs_of(&one).len(), 1);
        let none = edit_faqs(&one, FaqEdit::Remove("card")).unwrap();
        assert!(faqs_of(&none).is_empty());
        assert!(!none.contains("faq"), "{none}");
        assert!(none.contains("[business] # shop facts"));
    }

    #[test]
    fn the_first_faq_goes_into_a_document_without_any() {
        let out = edit_faqs("account_name = \"x\"\n", FaqEdit::Add(&faq("parking", "3台"))).unwrap();
        assert_eq!(faqs_of(&out), [faq("parking", "3台")]);
    }

    #[test]
    fn what_cannot_be_edited_is_named_and_nothing_is_written() {
        assert_eq!(edit_faqs(DOC, FaqEdit::Remove("nope")), Err(FaqEditError::NotFound("nope".into())));
        let inline = "faq = [{ id = \"a\", questions = [\"q\"], answer = \"x\" }]\n";
        assert_eq!(edit_faqs(inline, FaqEdit::Remove("a")), Err(FaqEditError::NotTables));
        assert!(matches!(edit_faqs("account_name = ", FaqEdit::Remove("a")), Err(FaqEditError::Parse(_))));
    }

    #[test]
    fn text_that_looks_like_toml_stays_text() {
        let tricky = Faq { answer: "\"]\n[business]\nphone = \"0\" ''' \\".into(), ..faq("parking", "") };
        let out = edit_faqs(DOC, FaqEdit::Replace { id: "parking", with: &tricky }).unwrap();
        assert_eq!(faqs_of(&out)[0].answer, tricky.answer);
        assert_eq!(Settings::from_toml(&out).unwrap().rules.business.phone.as_deref(), Some("03"));
    }
}
