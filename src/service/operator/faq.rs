//! The FAQ (よくある質問) as staff keep it: the `[[faq]]` entries of the settings, listed,
//! added, changed and removed one at a time through the same versioned save as the settings,
//! and tried before they answer customers.

use super::{Operator, OperatorError};
use crate::domain::explain::{try_faq, FaqTrial};
use crate::domain::faq::{Faq, FaqIndex};
use crate::settings::{check_faq, edit_faqs, FaqEdit, FaqEditError};

/// The FAQ in force and the settings version it belongs to (what a change must name).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FaqList {
    pub version: u64,
    /// `ai.faq_min_score`: the score a message needs to get an answer.
    pub min_score: f64,
    pub items: Vec<Faq>,
}

/// An entry being written, tried before it is saved: added, or in place of `replacing`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqDraft {
    pub entry: Faq,
    #[serde(default)]
    pub replacing: Option<String>,
}

impl Operator {
    pub async fn faqs(&self) -> FaqList {
        let (settings, version) = self.settings_for_editing().await;
        FaqList { version, min_score: settings.rules.faq_min_score, items: settings.rules.faq.faqs().to_vec() }
    }

    /// Adds `entry` (`replacing: None`) or puts it in place of the FAQ `replacing`, if the
    /// settings are still at `expected_version`; returns the new version.
    pub async fn save_faq(&self, replacing: Option<&str>, entry: Faq, expected_version: u64, by: &str) -> Result<u64, OperatorError> {
        let entry = tidy(entry);
        check_faq(&entry).map_err(|(field, problem)| OperatorError::invalid(field, problem))?;
        let (settings, version) = self.fresh_settings(expected_version).await?;
        let existing = settings.rules.faq.faqs();
        if let Some(id) = replacing {
            if !existing.iter().any(|f| f.id == id) {
                return Err(OperatorError::NotFound(format!("FAQ {id:?}")));
            }
        }
        if existing.iter().any(|f| f.id == entry.id && Some(f.id.as_str()) != replacing) {
            return Err(OperatorError::invalid("id", format!("{:?} is used by another FAQ", entry.id)));
        }
        let edit = match replacing {
            Some(id) => FaqEdit::Replace { id, with: &entry },
            None => FaqEdit::Add(&entry),
        };
        let toml = edit_faqs(&settings.source, edit).map_err(faq_edit_error)?;
        Ok(self.save_settings(&toml, version, by).await?)
    }

    pub async fn delete_faq(&self, id: &str, expected_version: u64, by: &str) -> Result<u64, OperatorError> {
        let (settings, version) = self.fresh_settings(expected_version).await?;
        let toml = edit_faqs(&settings.source, FaqEdit::Remove(id)).map_err(faq_edit_error)?;
        Ok(self.save_settings(&toml, version, by).await?)
    }

    /// What the FAQ would make of `text`: with the FAQ in force, or with `draft` added to it
    /// (or in place of the entry it replaces), so staff can try an entry before saving it.
    pub async fn try_faq(&self, text: &str, draft: Option<FaqDraft>) -> Result<FaqTrial, OperatorError> {
        if text.trim().is_empty() {
            return Err(OperatorError::invalid("text", "type a message to try"));
        }
        let settings = self.settings_for_editing().await.0;
        let Some(draft) = draft else { return Ok(try_faq(&settings.rules, text)) };
        let entry = tidy(draft.entry);
        check_faq(&entry).map_err(|(field, problem)| OperatorError::invalid(format!("draft.entry.{field}"), problem))?;
        let mut faqs = settings.rules.faq.faqs().to_vec();
        match draft.replacing.as_deref().and_then(|id| faqs.iter().position(|f| f.id == id)) {
            Some(at) => faqs[at] = entry,
            None => faqs.push(entry),
        }
        let mut rules = settings.rules.clone();
        rules.faq = std::sync::Arc::new(FaqIndex::new(faqs));
        Ok(try_faq(&rules, text))
    }

    /// The settings to change, refused at once if someone saved since `expected` was read.
    async fn fresh_settings(&self, expected: u64) -> Result<(std::sync::Arc<crate::settings::Settings>, u64), OperatorError> {
        let (settings, version) = self.settings_for_editing().await;
        if version != expected {
            return Err(OperatorError::Conflict(format!(
                "the settings were saved by someone else (version {version}, you read {expected}); reload and try again"
            )));
        }
        Ok((settings, version))
    }
}

/// As staff meant it: the id and questions trimmed, blank question lines dropped, a blank
/// English answer taken as none.
fn tidy(mut entry: Faq) -> Faq {
    entry.id = entry.id.trim().to_owned();
    entry.questions = entry.questions.iter().map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()).collect();
    entry.answer_en = entry.answer_en.filter(|a| !a.trim().is_empty());
    entry
}

fn faq_edit_error(e: FaqEditError) -> OperatorError {
    match e {
        FaqEditError::NotFound(_) => OperatorError::NotFound(e.to_string()),
        FaqEditError::NotTables | FaqEditError::Parse(_) => OperatorError::NotAllowed(e.to_string()),
    }
}
