//! Process configuration from the environment, read once in `main`. Secrets stay wrapped.

use std::path::PathBuf;

use secrecy::SecretString;

use crate::domain::signature::{ChannelSecret, SignatureVerifier};
use crate::domain::staff::TokenTable;
use crate::settings::{Settings, SettingsError};

pub const DEFAULT_LINE_API_BASE_URL: &str = "https://api.line.me";
/// LINE serves message content (images, video, audio, files) from its own host.
pub const DEFAULT_LINE_DATA_API_BASE_URL: &str = "https://api-data.line.me";
pub const DEFAULT_RETENTION_DAYS: u32 = 365;
pub const DEFAULT_PORT: u16 = 3000;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {key}: {problem}")]
    Invalid { key: &'static str, problem: String },
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// What every entrypoint needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub verifier: SignatureVerifier,
    pub access_token: Option<SecretString>,
    pub line_api_base_url: String,
    /// `LINE_DATA_API_BASE_URL`: where message content is downloaded from.
    pub line_data_api_base_url: String,
    pub retention_days: u32,
    pub settings: Settings,
    /// The local server's operator tokens (hashed); empty = the operator API refuses everyone.
    pub operator_tokens: std::sync::Arc<TokenTable>,
}

/// Reads from a lookup function so tests never touch the process environment.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let non_empty = |key: &str| get(key).filter(|v| !v.trim().is_empty());
    let secret = non_empty("LINE_CHANNEL_SECRET").ok_or(ConfigError::Missing("LINE_CHANNEL_SECRET"))?;
    let current = ChannelSecret::new(secret).map_err(|e| ConfigError::Invalid { key: "LINE_CHANNEL_SECRET", problem: e.to_string() })?;
    let next = non_empty("LINE_CHANNEL_SECRET_NEXT")
        .map(ChannelSecret::new)
        .transpose()
        .map_err(|e| ConfigError::Invalid { key: "LINE_CHANNEL_SECRET_NEXT", problem: e.to_string() })?;
    let line_api_base_url = non_empty("LINE_API_BASE_URL").unwrap_or_else(|| DEFAULT_LINE_API_BASE_URL.to_owned());
    if !(line_api_base_url.starts_with("https://") || line_api_base_url.starts_with("http://")) {
        return Err(ConfigError::Invalid { key: "LINE_API_BASE_URL", problem: "must be an http(s) URL".into() });
    }
    let line_data_api_base_url = non_empty("LINE_DATA_API_BASE_URL").unwrap_or_else(|| DEFAULT_LINE_DATA_API_BASE_URL.to_owned());
    if !(line_data_api_base_url.starts_with("https://") || line_data_api_base_url.starts_with("http://")) {
        return Err(ConfigError::Invalid { key: "LINE_DATA_API_BASE_URL", problem: "must be an http(s) URL".into() });
    }
    let retention_days = retention_days_from_lookup(&get)?;
    let settings = settings_from_lookup(&get)?;
    let operator_tokens = TokenTable::parse(&get("OPERATOR_TOKENS").unwrap_or_default())
        .map_err(|e| ConfigError::Invalid { key: "OPERATOR_TOKENS", problem: e.to_string() })?;
    Ok(Config {
        verifier: SignatureVerifier::new(current, next),
        access_token: non_empty("LINE_CHANNEL_ACCESS_TOKEN").map(SecretString::from),
        line_api_base_url: line_api_base_url.trim_end_matches('/').to_owned(),
        line_data_api_base_url: line_data_api_base_url.trim_end_matches('/').to_owned(),
        retention_days,
        settings,
        operator_tokens: std::sync::Arc::new(operator_tokens),
    })
}

/// `RETENTION_DAYS`: how long log items live before their TTL removes them.
pub fn retention_days_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    match get("RETENTION_DAYS").filter(|v| !v.trim().is_empty()) {
        None => Ok(DEFAULT_RETENTION_DAYS),
        Some(v) => v.trim().parse().ok().filter(|d| *d > 0).ok_or_else(|| ConfigError::Invalid {
            key: "RETENTION_DAYS",
            problem: format!("{v:?} is not a positive whole number of days"),
        }),
    }
}

/// The settings: `SETTINGS_TOML` inline, else `SETTINGS_FILE`, else `./settings.toml` if present.
pub fn settings_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    let non_empty = |key: &str| get(key).filter(|v| !v.trim().is_empty());
    Ok(if let Some(inline) = non_empty("SETTINGS_TOML") {
        Settings::from_toml(&inline)?
    } else {
        match non_empty("SETTINGS_FILE") {
            Some(path) => Settings::load(&PathBuf::from(path))?,
            None if std::path::Path::new("settings.toml").exists() => Settings::load("settings.toml".as_ref())?,
            None => Settings::default(),
        }
    })
}

pub fn from_env() -> Result<Config, ConfigError> {
    from_lookup(|k| std::env::var(k).ok())
}

/// Where the local server keeps its embedded store.
pub fn data_dir() -> PathBuf {
    std::env::var_os("DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("data"))
}

pub fn port() -> Result<u16, ConfigError> {
    match std::env::var("PORT") {
        Err(_) => Ok(DEFAULT_PORT),
        Ok(v) => v.parse().map_err(|_| ConfigError::Invalid { key: "PORT", problem: format!("{v:?} is not a port number") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn a_missing_secret_is_named() {
        let err = from_lookup(lookup(&[])).unwrap_err().to_string();
        assert!(err.contains("LINE_CHANNEL_SECRET"), "{err}");
    }

    #[test]
    fn a_bad_retention_is_named() {
        let err = from_lookup(lookup(&[("LINE_CHANNEL_SECRET", "s"), ("RETENTION_DAYS", "forever")])).unwrap_err();
        assert!(err.to_string().contains("RETENTION_DAYS"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let c = from_lookup(lookup(&[("LINE_CHANNEL_SECRET", "topsecret"), ("LINE_CHANNEL_ACCESS_TOKEN", "tok3n")])).unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("topsecret") && !dbg.contains("tok3n"), "{dbg}");
    }
}
