//! The local runtime: embedded store, a background worker that handles logged events after the
//! webhook has answered (fed in-process, recovering whatever a crash or restart left), a
//! batching archiver that also runs the TTL expiry sweep, and the re-notify timer; `Settle`
//! tells when all of it has caught up.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use crate::blob::dir::DirBlobStore;
use crate::config::Config;
use crate::http::console::{self, ConsoleConfig};
use crate::http::operator::{self, Authenticator};
use crate::http::{explain_routes, router, AppState, Logged};
use crate::notify::{Disabled, Notifier, NotifyConfig};
use crate::retry::RetryPolicy;
use crate::service::archive::Archiver;
use crate::service::audit::AuditTrail;
use crate::service::export::jobs::ExportJobs;
use crate::service::operator::MediaCopies;
use crate::service::{system_clock, Service, ServiceParts, StaffNotices};
use crate::store::embedded::EmbeddedStore;
use crate::store::StoreError;

mod archive;
mod settle;
mod worker;

pub use self::settle::{Backlog, Settle};
use self::worker::Work;

/// How often the local server looks for unanswered conversations to remind staff of.
const RENOTIFY_INTERVAL: Duration = Duration::from_secs(60);

pub struct LocalApp {
    pub router: axum::Router,
    pub store: EmbeddedStore,
    pub service: Service,
    /// Export jobs, run by a background task; files land in `DATA_DIR/exports/<job id>/`.
    pub exports: ExportJobs,
    /// Whether the worker and the archiver have caught up with what the webhook logged.
    pub settle: Settle,
}

impl LocalApp {
    /// Opens the store and starts the background worker and archiver; the router is ready to serve.
    pub fn start(config: &Config, data_dir: &Path, retry: RetryPolicy) -> Result<Self, StoreError> {
        Self::start_with_notices(config, data_dir, retry, Arc::new(Disabled), &NotifyConfig::default())
    }

    /// As `start`, telling staff through `notifier` (see `notify::from_config`).
    pub fn start_with_notices(
        config: &Config,
        data_dir: &Path,
        retry: RetryPolicy,
        notifier: Arc<dyn Notifier>,
        notices: &NotifyConfig,
    ) -> Result<Self, StoreError> {
        let store = EmbeddedStore::open_with(data_dir, config.store_memory)?;
        let line = crate::line_api::from_config(config, retry);
        let clock = system_clock();
        let service = ServiceParts {
            notifier,
            notify: notices.clone(),
            bot_user_id: config.bot_user_id.clone(),
            replay_window_days: Some(config.replay_window_days),
            metrics: crate::metrics::Metrics::default(),
            // The store is open, so no other process has it: claims older than now are orphans.
            started_ms: Some(clock()),
            // Asked only when the settings enable `[ai.model]`; AWS credentials are looked for then.
            model: Arc::new(crate::model::BedrockModel::from_env_when_used()),
            ..ServiceParts::new(
                config.verifier.clone(),
                Arc::new(store.clone()),
                line.clone(),
                config.settings.clone(),
                config.retention_days,
                clock,
            )
        }
        .build();
        tokio::spawn(run_renotify(service.notices.clone()));
        let archive = Arc::new(DirBlobStore::new(data_dir.join("archive")));
        let archiver = Archiver::new(archive.clone());
        // Without an access token there is no content to fetch: transcripts only.
        let archiver = if line.sends() { archiver.with_media(line).with_media_retries(Arc::new(store.clone())) } else { archiver };
        let handled = Arc::new(Notify::new());
        let settle = Settle::new(store.clone());
        tokio::spawn(archive::run(store.clone(), archiver, handled.clone(), settle.clone()));
        // Bounded: under overload the webhook keeps answering (events are durable in the pending
        // table) and the worker's sweep picks up what did not fit, instead of memory growing.
        let (queue, work) = mpsc::channel(worker::QUEUE_CAPACITY);
        tokio::spawn(worker::run(Arc::new(store.clone()), service.handler.clone(), work, handled, settle.clone()));
        // The webhook hands over what it logged, so the worker never re-reads the store for it.
        let on_logged = Arc::new(move |logged: Logged<'_>| {
            let work = match logged {
                Logged::New(records) => Work::Handle(records.to_vec()),
                Logged::Unknown => Work::Rescan,
            };
            if queue.try_send(work).is_err() {
                tracing::debug!("worker queue full; the pending sweep will pick the events up");
            }
        });
        if config.operator_tokens.is_empty() {
            tracing::warn!("OPERATOR_TOKENS is not set: the operator API (/api) refuses every request; see `line-oa operator-token`");
        }
        let exports =
            ExportJobs::local(Arc::new(store.clone()), data_dir.to_path_buf(), config.settings.rules.timezone.clone(), system_clock());
        // What the last run left queued or running is run (again) now, not left waiting forever.
        let (resume_store, resume_jobs) = (store.clone(), exports.clone());
        tokio::spawn(async move {
            let resumed = match resume_store.unfinished_export_jobs().await {
                Ok(jobs) => resume_jobs.resume(jobs).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = resumed {
                tracing::error!(error = %e, "could not resume the export jobs of the last run");
            }
        });
        let router = router(AppState { ingest: service.ingest.clone(), on_logged })
            .merge(explain_routes(service.operator.clone()))
            .merge(operator::router(
                service.operator.clone(),
                Authenticator::Tokens(config.operator_tokens.clone()),
                exports.clone(),
                MediaCopies::new(archive),
                AuditTrail::new(Arc::new(store.clone()), system_clock(), config.retention_days),
            ))
            .merge(console::router(ConsoleConfig::Token));
        Ok(Self { router, store, service, exports, settle })
    }
}

/// Reminds staff of unanswered conversations, as the schedule does on AWS.
async fn run_renotify(notices: StaffNotices) {
    loop {
        tokio::time::sleep(RENOTIFY_INTERVAL).await;
        match notices.renotify_sweep().await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "staff reminded of unanswered conversations"),
            Err(e) => tracing::error!(error = %e, "re-notify sweep failed; will retry"),
        }
    }
}
