//! The file's shape, as users write it. Unknown keys are refused (a typo must not pass silently).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::faq::Faq;
use crate::domain::outbound::OutboundMessage;

fn yes() -> bool {
    true
}
fn tokyo() -> String {
    "Asia/Tokyo".into()
}
fn chat() -> String {
    "chat".into()
}
fn auto_response() -> String {
    "auto_response".into()
}
fn closed_period() -> String {
    "closed_period".into()
}
fn threshold() -> f64 {
    0.6
}
fn long_chars() -> usize {
    300
}
fn faq_min_score() -> f64 {
    super::DEFAULT_FAQ_MIN_SCORE
}
fn model_timeout_ms() -> u64 {
    super::DEFAULT_MODEL_TIMEOUT_MS
}
fn model_max_tokens() -> u32 {
    super::DEFAULT_MODEL_MAX_TOKENS
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    #[serde(default)]
    pub account_name: String,
    #[serde(default)]
    pub hours: Hours,
    #[serde(default)]
    pub modes: Modes,
    #[serde(default)]
    pub greeting: Greeting,
    #[serde(default)]
    pub keyword_responses: Vec<KeywordResponse>,
    #[serde(default)]
    pub default_response: DefaultResponse,
    #[serde(default)]
    pub ai: Ai,
    #[serde(default)]
    pub business: Business,
    #[serde(default)]
    pub groups: Groups,
    #[serde(default)]
    pub reply: Reply,
    /// Staff's FAQ (よくある質問): `[[faq]]` entries.
    #[serde(default)]
    pub faq: Vec<Faq>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "tokyo")]
    pub timezone: String,
    pub mon: Option<Vec<String>>,
    pub tue: Option<Vec<String>>,
    pub wed: Option<Vec<String>>,
    pub thu: Option<Vec<String>>,
    pub fri: Option<Vec<String>>,
    pub sat: Option<Vec<String>>,
    pub sun: Option<Vec<String>>,
    #[serde(default, rename = "override")]
    pub overrides: Vec<Override>,
}

impl Default for Hours {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub date: String,
    #[serde(default)]
    pub windows: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modes {
    #[serde(default = "chat")]
    pub in_hours: String,
    #[serde(default = "auto_response")]
    pub out_of_hours: String,
    #[serde(default = "auto_response")]
    pub always: String,
}

impl Default for Modes {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Greeting {
    #[serde(default)]
    pub first_follow_only: bool,
    #[serde(default)]
    pub messages: Vec<OutboundMessage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordResponse {
    pub keywords: Vec<String>,
    pub messages: Vec<OutboundMessage>,
    pub from: Option<String>,
    pub until: Option<String>,
    pub time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultResponse {
    #[serde(default = "closed_period")]
    pub once_per: String,
    #[serde(default)]
    pub messages: Vec<OutboundMessage>,
}

impl Default for DefaultResponse {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ai {
    #[serde(default = "threshold")]
    pub confidence_threshold: f64,
    #[serde(default = "long_chars")]
    pub long_message_chars: usize,
    /// An FAQ answers a message whose match scores at least this (0..=1).
    #[serde(default = "faq_min_score")]
    pub faq_min_score: f64,
    #[serde(default)]
    pub templates: BTreeMap<String, Template>,
    /// `[ai.model]`: the optional model path, off unless `enabled`.
    #[serde(default)]
    pub model: Model,
}

impl Default for Ai {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub model_id: String,
    #[serde(default = "model_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "model_max_tokens")]
    pub max_tokens: u32,
}

impl Default for Model {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Template {
    Both(String),
    PerLang(PerLang),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerLang {
    pub ja: Option<String>,
    pub en: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Business {
    pub address: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Groups {
    #[serde(default = "yes")]
    pub allowed: bool,
}

impl Default for Groups {
    fn default() -> Self {
        Self { allowed: true }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    #[serde(default)]
    pub push_fallback: bool,
}
