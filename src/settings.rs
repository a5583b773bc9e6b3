//! The settings file (TOML): what the account answers, typed and validated. Errors name the key.

use std::path::Path;

use serde::Deserialize;

use crate::domain::outbound::{OutboundMessage, MAX_MESSAGES_PER_REQUEST};
use crate::domain::reply_rule::ReplyRuleSettings;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {source}")]
    Io { path: String, #[source] source: std::io::Error },
    /// The `toml` crate's message names the key, the line and the problem.
    #[error("invalid settings: {0}")]
    Parse(String),
    #[error("invalid settings: `{key}`: {problem}")]
    Invalid { key: String, problem: String },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub account_name: String,
    #[serde(default)]
    pub greeting: Greeting,
    #[serde(default)]
    pub default_response: DefaultResponse,
    #[serde(default)]
    pub reply: ReplyOptions,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Greeting {
    #[serde(default)]
    pub first_follow_only: bool,
    #[serde(default)]
    pub messages: Vec<OutboundMessage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultResponse {
    #[serde(default)]
    pub messages: Vec<OutboundMessage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyOptions {
    /// When a reply token has expired, push instead. Off by default: pushes count against
    /// the account's monthly message quota.
    #[serde(default)]
    pub push_fallback: bool,
}

impl Settings {
    pub fn from_toml(text: &str) -> Result<Self, SettingsError> {
        let settings: Settings = toml::from_str(text).map_err(|e| SettingsError::Parse(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| SettingsError::Io { path: path.display().to_string(), source })?;
        Self::from_toml(&text)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        validate_messages("greeting.messages", &self.greeting.messages)?;
        validate_messages("default_response.messages", &self.default_response.messages)
    }

    pub fn reply_rule(&self) -> ReplyRuleSettings {
        ReplyRuleSettings {
            greeting: self.greeting.messages.clone(),
            greeting_first_follow_only: self.greeting.first_follow_only,
            default_response: self.default_response.messages.clone() }
    }
}

fn validate_messages(key: &str, messages: &[OutboundMessage]) -> Result<(), SettingsError> {
    if messages.len() > MAX_MESSAGES_PER_REQUEST {
        return Err(SettingsError::Invalid {
            key: key.to_owned(),
            problem: format!("{} messages; LINE sends at most {MAX_MESSAGES_PER_REQUEST} at once", messages.len()),
        });
    }
    for (i, m) in messages.iter().enumerate() {
        m.validate().map_err(|e| SettingsError::Invalid { key: format!("{key}[{i}]"), problem: e.to_string() })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_loads() {
        let s = Settings::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/settings.example.toml"))).unwrap();
        assert!(!s.greeting.messages.is_empty());
    }

    #[test]
    fn an_unknown_key_is_named() {
        let err = Settings::from_toml("[greeting]\nmesages = []\n").unwrap_err().to_string();
        assert!(err.contains("mesages"), "{err}");
    }

    #[test]
    fn a_wrong_message_is_named_with_its_index() {
        let err = Settings::from_toml("[default_response]\nmessages = [{type=\"text\",text=\"ok\"},{type=\"text\",text=\" \"}]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("default_response.messages[1]") && err.contains("empty"), "{err}");
    }

    #[test]
    fn six_messages_are_refused() {
        let six = vec!["{type=\"text\",text=\"a\"}"; 6].join(",");
        let err = Settings::from_toml(&format!("[greeting]\nmessages = [{six}]\n")).unwrap_err().to_string();
        assert!(err.contains("greeting.messages") && err.contains("at most 5"), "{err}");
    }

    #[test]
    fn an_unknown_message_type_is_named() {
        let err = Settings::from_toml("[greeting]\nmessages = [{type=\"video\",url=\"x\"}]\n").unwrap_err().to_string();
        assert!(err.contains("video"), "{err}");
    }
}
