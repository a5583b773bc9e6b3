//! The settings file (TOML): what the account answers and when, typed and validated into the
//! pure `Rules`. Any error names the key and the problem. See `settings.example.toml`.

use std::path::Path;

use crate::domain::rules::Rules;

mod convert;
mod faq_edit;
mod file;

pub use convert::check_faq;
pub use faq_edit::{edit_faqs, FaqEdit, FaqEditError};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The `toml` crate's message names the key, the line and the problem.
    #[error("invalid settings: {0}")]
    Parse(String),
    #[error("invalid settings: `{key}`: {problem}")]
    Invalid { key: String, problem: String },
}

impl SettingsError {
    fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid { key: key.into(), problem: problem.into() }
    }
}

/// The lowest FAQ match score that answers (`ai.faq_min_score`); chosen in
/// `tests/it/faq_evaluation.rs` (`choose_faq_min_score`), never on its evaluation messages.
pub const DEFAULT_FAQ_MIN_SCORE: f64 = 0.45;

/// How long the worker waits for the model (`ai.model.timeout_ms`) before the rules decide
/// alone: a customer's answer is not held up for long, nor the worker's next event.
pub const DEFAULT_MODEL_TIMEOUT_MS: u64 = 4_000;
/// The longest wait that may be set. The worker function handles a stream batch (up to 10
/// records) in order within its 60 s: ten waits of the default 4 s leave room for LINE's calls,
/// ten of this would not, and Lambda would run the batch again (idempotently, but late).
pub const MAX_MODEL_TIMEOUT_MS: u64 = 10_000;
/// Room for a short answer in JSON (`ai.model.max_tokens`): the instructions ask for at most
/// `grounding::ANSWER_CHARS` characters; a Japanese character is about one token.
pub const DEFAULT_MODEL_MAX_TOKENS: u32 = 700;

/// Validated settings: the rules, and how replies are delivered.
#[derive(Debug, Clone)]
pub struct Settings {
    pub rules: Rules,
    /// Push when a reply token has expired. Off by default: pushes count against the quota.
    pub push_fallback: bool,
    /// The TOML these settings were read from, so the operator API can show and edit it.
    pub source: std::sync::Arc<str>,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_toml("").expect("empty settings are valid")
    }
}

impl Settings {
    pub fn from_toml(text: &str) -> Result<Self, SettingsError> {
        let parsed: file::SettingsFile = toml::from_str(text).map_err(|e| SettingsError::Parse(e.to_string()))?;
        let mut settings = convert::settings(parsed)?;
        settings.source = text.into();
        Ok(settings)
    }

    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Io { path: path.display().to_string(), source })?;
        Self::from_toml(&text)
    }
}

#[cfg(test)]
mod tests;
