//! The response-rule settings in force: the file's, unless an admin saved others through the
//! operator API. Saved settings live in the store, so every Lambda instance picks them up
//! within `REFRESH` without a redeploy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

use crate::settings::{Settings, SettingsError};
use crate::store::{collections, Doc, Documents, StoreError};

/// How stale an instance's settings may be after an admin saves new ones.
pub const REFRESH: Duration = Duration::from_secs(10);
const SETTINGS_DOC: &str = "settings";

struct Cached {
    settings: Arc<Settings>,
    /// Version of the stored document these came from; 0 = the file's.
    version: u64,
    checked: Option<Instant>,
}

#[derive(Clone)]
pub struct LiveSettings {
    cached: Arc<RwLock<Cached>>,
    /// Where saved settings are kept.
    store: Arc<dyn Documents>,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveSettingsError {
    #[error(transparent)]
    Invalid(#[from] SettingsError),
    #[error("the settings changed since version {0}; read them again")]
    Stale(u64),
    #[error(transparent)]
    Store(StoreError),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredSettings {
    toml: String,
    by: String,
    at_ms: i64,
}

impl LiveSettings {
    pub fn new(from_file: Settings, store: Arc<dyn Documents>) -> Self {
        Self { cached: Arc::new(RwLock::new(Cached { settings: Arc::new(from_file), version: 0, checked: None })), store }
    }

    /// The settings to decide with; re-reads the store at most every `REFRESH`. A store that
    /// cannot be read keeps the last known settings (answering beats failing).
    pub async fn current(&self) -> Arc<Settings> {
        {
            let cached = self.cached.read().await;
            if cached.checked.is_some_and(|t| t.elapsed() < REFRESH) {
                return cached.settings.clone();
            }
        }
        let mut cached = self.cached.write().await;
        if cached.checked.is_some_and(|t| t.elapsed() < REFRESH) {
            return cached.settings.clone();
        }
        match self.store.doc(collections::META, SETTINGS_DOC).await {
            Ok(Some(doc)) if doc.version != cached.version => match parse(&doc) {
                Ok(settings) => {
                    cached.settings = Arc::new(settings);
                    cached.version = doc.version;
                    tracing::info!(version = doc.version, "settings saved through the operator API are in force");
                }
                Err(e) => tracing::error!(error = %e, version = doc.version, "stored settings are invalid; keeping the previous ones"),
            },
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read stored settings; keeping the previous ones"),
        }
        cached.checked = Some(Instant::now());
        cached.settings.clone()
    }

    /// The settings in force and their version (0 = from the file), re-read now.
    pub async fn read(&self) -> (Arc<Settings>, u64) {
        self.cached.write().await.checked = None;
        let settings = self.current().await;
        (settings, self.cached.read().await.version)
    }

    /// Validates exactly as the file is validated, then saves if `expected_version` is still current.
    pub async fn save(&self, toml: &str, expected_version: u64, by: &str, at_ms: i64) -> Result<u64, SaveSettingsError> {
        let settings = Settings::from_toml(toml)?;
        let body = serde_json::to_string(&StoredSettings { toml: toml.to_owned(), by: by.to_owned(), at_ms }).expect("settings serialise");
        let doc = Doc { id: SETTINGS_DOC.into(), body, version: expected_version };
        match self.store.put_doc(collections::META, &doc).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(SaveSettingsError::Stale(expected_version)),
            Err(e) => return Err(SaveSettingsError::Store(e)),
        }
        let mut cached = self.cached.write().await;
        cached.settings = Arc::new(settings);
        cached.version = expected_version + 1;
        cached.checked = Some(Instant::now());
        Ok(expected_version + 1)
    }
}

fn parse(doc: &Doc) -> Result<Settings, String> {
    let stored: StoredSettings = serde_json::from_str(&doc.body).map_err(|e| e.to_string())?;
    Settings::from_toml(&stored.toml).map_err(|e| e.to_string())
}
