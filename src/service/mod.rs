//! Use cases: the only layer that orders I/O. One type per use case, each holding only the
//! ports it needs: `Ingest` logs verified events before anything is answered; `Handler` decides
//! and replies, at most once per event; `Operator` is what staff do; `StaffNotices` tells them
//! (and reminds them). `ServiceParts` names what they are built from; `Service` is the set a
//! process that runs them all (the local server, the tests) builds at once.

use std::sync::Arc;

use crate::domain::signature::{SignatureError, SignatureVerifier};
use crate::line_api::LineApi;
use crate::metrics::Metrics;
use crate::model::{GroundedModel, Unconfigured};
use crate::notify::{Disabled, Notifier, NotifyConfig};
use crate::settings::Settings;
use crate::store::{Store, StoreError};

pub mod archive;
pub mod audit;
mod conversation_writes;
pub mod expiry;
pub mod export;
mod handle;
pub mod hold;
mod ingest;
pub mod live_settings;
pub mod operator;
pub mod staff_notices;

pub use handle::{HandleOutcome, Handler};
pub use ingest::{Ingest, IngestSummary, Logged};
pub use live_settings::LiveSettings;
pub use operator::Operator;
pub use staff_notices::StaffNotices;

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

/// The clock and the retention: when is now, and when an item logged at a time expires.
#[derive(Clone)]
pub struct Retention {
    clock: Clock,
    days: u32,
}

impl Retention {
    pub fn new(clock: Clock, days: u32) -> Self {
        Self { clock, days }
    }

    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    pub fn days(&self) -> u32 {
        self.days
    }

    /// TTL of an item logged at `at_ms`: that time plus the retention, in Unix seconds.
    pub(crate) fn expires_at(&self, at_ms: i64) -> Option<i64> {
        Some(crate::domain::hold::expires_at(at_ms, self.days))
    }
}

/// What the use cases are built from, by name. `ServiceParts::new` takes what has no default;
/// the rest is set by name (`ServiceParts { bot_user_id, ..ServiceParts::new(…) }`).
pub struct ServiceParts {
    pub verifier: SignatureVerifier,
    pub store: Arc<dyn Store>,
    pub line: Arc<dyn LineApi>,
    pub settings: Settings,
    pub retention_days: u32,
    pub clock: Clock,
    /// `REPLAY_WINDOW_DAYS`; None: the default, capped at the retention (`domain::replay`).
    pub replay_window_days: Option<u32>,
    /// Where the use cases' counts go (EMF lines).
    pub metrics: Metrics,
    /// How staff are told a conversation needs them.
    pub notifier: Arc<dyn Notifier>,
    pub notify: NotifyConfig,
    /// This channel's bot user id (`LINE_BOT_USER_ID`): webhooks for another bot are refused.
    pub bot_user_id: Option<String>,
    /// When this process started, if no other process uses the store (the local server: the
    /// embedded store is locked to one process). A reply claimed before then and never finished was cut off by a
    /// crash or a stop: it is resolved at once, not waited out for its lease.
    pub started_ms: Option<i64>,
    /// The language model the worker may ask (`[ai.model]`); `Unconfigured` by default.
    pub model: Arc<dyn GroundedModel>,
}

impl ServiceParts {
    /// No notices, no metrics, the default replay window, any bot.
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
            settings,
            retention_days,
            clock,
            replay_window_days: None,
            metrics: Metrics::off(),
            notifier: Arc::new(Disabled),
            notify: NotifyConfig::default(),
            bot_user_id: None,
            started_ms: None,
            model: Arc::new(Unconfigured),
        }
    }

    /// Builds every use case; those that read the settings share one cache, so a save is in
    /// force at once for all of them.
    pub fn build(self) -> Service {
        let retention = Retention::new(self.clock, self.retention_days);
        let settings = LiveSettings::new(self.settings, self.store.clone());
        let notices = StaffNotices::new(self.store.clone(), self.notifier, &self.notify, retention.clone());
        Service {
            ingest: Ingest::new(self.verifier, self.store.clone(), retention.clone())
                .with_replay_window_days(self.replay_window_days)
                .with_bot_user_id(self.bot_user_id)
                .with_metrics(self.metrics.clone()),
            handler: Handler {
                log: self.store.clone(),
                conversations: self.store.clone(),
                line: self.line.clone(),
                settings: settings.clone(),
                notices: notices.clone(),
                retention: retention.clone(),
                started_ms: self.started_ms,
                model: self.model,
                metrics: self.metrics,
            },
            operator: Operator {
                log: self.store.clone(),
                conversations: self.store.clone(),
                documents: self.store.clone(),
                holds: self.store,
                line: self.line,
                settings,
                retention,
            },
            notices,
        }
    }
}

/// Every use case, for a process that runs them all.
#[derive(Clone)]
pub struct Service {
    pub ingest: Ingest,
    pub handler: Handler,
    pub operator: Operator,
    pub notices: StaffNotices,
}
