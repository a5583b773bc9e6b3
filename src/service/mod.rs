//! Use cases: the only layer that orders I/O. Ingest logs verified events before anything is
//! answered; `handle` decides and replies, at most once per event.

use std::sync::Arc;

use crate::domain::signature::{SignatureError, SignatureVerifier};
use crate::line_api::LineApi;
use crate::settings::Settings;
use crate::store::{Store, StoreError};

use self::live_settings::LiveSettings;

pub mod archive;
pub mod audit;
pub mod expiry;
pub mod export;
mod handle;
pub mod hold;
mod ingest;
pub mod live_settings;
pub mod operator;
pub mod staff_notices;

pub use handle::HandleOutcome;
pub use ingest::{IngestSummary, Logged};

pub use crate::clock::{system_clock, Clock};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("malformed webhook body: {0}")]
    Malformed(#[source] crate::domain::event::ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The body is for another bot (`destination` is not this channel's bot user id).
    #[error("webhook for {got}, not this channel's bot")]
    Destination { got: String },
    /// Another worker is sending this reply right now; try again later.
    #[error("reply to {0} is being sent by another worker")]
    InFlight(String),
}

#[derive(Clone)]
pub struct Service {
    verifier: SignatureVerifier,
    store: Arc<dyn Store>,
    line: Arc<dyn LineApi>,
    settings: LiveSettings,
    retention_days: u32,
    /// Events older than this many days (by their own time) are ignored: `domain::replay`.
    replay_window_days: u32,
    clock: Clock,
    metrics: crate::metrics::Metrics,
    notices: staff_notices::Notices,
    /// This channel's bot user id (`destination` of its webhooks), when known.
    bot_user_id: Option<String>,
}

impl Service {
    pub fn new(
        verifier: SignatureVerifier,
        store: Arc<dyn Store>,
        line: Arc<dyn LineApi>,
        settings: Settings,
        retention_days: u32,
        clock: Clock,
    ) -> Self {
        Self {
            verifier,
            store,
            line,
            settings: LiveSettings::new(settings),
            retention_days,
            replay_window_days: crate::domain::replay::window_days(None, retention_days),
            clock,
            metrics: crate::metrics::Metrics::off(),
            notices: Default::default(),
            bot_user_id: None,
        }
    }

    /// Refuses webhooks addressed to another bot (`LINE_BOT_USER_ID`).
    pub fn with_bot_user_id(mut self, id: Option<String>) -> Self {
        self.bot_user_id = id.filter(|i| !i.is_empty());
        self
    }

    /// The replay window (`REPLAY_WINDOW_DAYS`), capped at the retention.
    pub fn with_replay_window_days(mut self, days: u32) -> Self {
        self.replay_window_days = crate::domain::replay::window_days(Some(days), self.retention_days);
        self
    }

    /// Where the use cases' counts go (EMF lines); none unless given.
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Where this service's counts go (the worker's glue counts into it too).
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn line(&self) -> &Arc<dyn LineApi> {
        &self.line
    }

    pub fn live_settings(&self) -> &LiveSettings {
        &self.settings
    }

    /// The settings in force now, read fresh from the store, and their stored version (0 = the
    /// file's): what staff edit.
    pub async fn settings_for_editing(&self) -> (Arc<Settings>, u64) {
        self.settings.read(self.store.as_ref()).await
    }

    /// Replaces the settings if their stored version is still `expected_version`; in force at once.
    pub async fn save_settings(&self, toml: &str, expected_version: u64, by: &str) -> Result<u64, live_settings::SaveSettingsError> {
        self.settings.save(self.store.as_ref(), toml, expected_version, by, self.now_ms()).await
    }

    /// The settings in force now (the file's, or the last saved through the operator API).
    pub async fn settings(&self) -> Arc<Settings> {
        self.settings.current(self.store.as_ref()).await
    }

    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// TTL of an item logged at `at_ms`: that time plus the retention, in Unix seconds.
    pub(crate) fn expires_at(&self, at_ms: i64) -> Option<i64> {
        Some(crate::domain::hold::expires_at(at_ms, self.retention_days))
    }
}
