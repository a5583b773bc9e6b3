//! The local runtime: embedded store, a background task that handles logged events after the
//! webhook has answered, and recovery of events left unhandled by a crash or restart.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::archive::dir::DirArchive;
use crate::archive::Archiver;
use crate::config::Config;
use crate::export::jobs::ExportJobs;
use crate::store::{log_cursor_from, InboundRecord, PageRequest, Store};
use crate::http::operator::{self, Authenticator};
use crate::notify::{Disabled, Notifier, NotifyConfig};
use crate::http::{explain_routes, router, AppState};
use crate::line_api::http::{HttpLineApi, RetryPolicy};
use crate::line_api::logging::LoggingLineApi;
use crate::line_api::LineApi;
use crate::service::{system_clock, Service};
use crate::store::embedded::EmbeddedStore;
use crate::store::StoreError;

/// How often the background task looks for unhandled events even when not woken.
const SWEEP_INTERVAL: Duration = Duration::from_secs(15);
/// How often expired log items are archived-checked and removed (a full scan of the log).
const EXPIRY_INTERVAL: Duration = Duration::from_secs(600);
/// How often the local server looks for unanswered conversations to remind staff of.
const RENOTIFY_INTERVAL: Duration = Duration::from_secs(60);

pub struct LocalApp {
    pub router: axum::Router,
    pub store: EmbeddedStore,
    pub service: Service,
    /// Export jobs, run by a background task; files land in `DATA_DIR/exports/<job id>/`.
    pub exports: ExportJobs,
}

pub fn line_api(config: &Config, retry: RetryPolicy) -> Arc<dyn LineApi> {
    match &config.access_token {
        Some(token) => Arc::new(
            HttpLineApi::new(&config.line_api_base_url, token.clone(), retry).with_data_base_url(&config.line_data_api_base_url),
        ),
        None => Arc::new(LoggingLineApi),
    }
}

impl LocalApp {
    /// Opens the store and starts the background worker; the router is ready to serve.
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
        let store = EmbeddedStore::open(data_dir)?;
        let line = line_api(config, retry);
        let service = Service::new(
            config.verifier.clone(),
            Arc::new(store.clone()),
            line.clone(),
            config.settings.clone(),
            config.retention_days,
            system_clock(),
        )
        .with_notices(notifier, notices);
        tokio::spawn(run_renotify(service.clone()));
        let notify = Arc::new(Notify::new());
        let archiver = Archiver::new(Arc::new(DirArchive::new(data_dir.join("archive"))));
        // Without an access token there is no content to fetch: transcripts only.
        let archiver = if line.sends() { archiver.with_media(line) } else { archiver };
        tokio::spawn(run_worker(store.clone(), service.clone(), archiver, notify.clone()));
        let on_logged = Arc::new(move || notify.notify_one());
        if config.operator_tokens.is_empty() {
            tracing::warn!("OPERATOR_TOKENS is not set: the operator API (/api) refuses every request; see `line-oa operator-token`");
        }
        let exports = ExportJobs::local(
            Arc::new(store.clone()),
            data_dir.to_path_buf(),
            config.settings.rules.timezone.clone(),
            system_clock(),
        );
        let router = router(AppState { service: service.clone(), on_logged })
            .merge(explain_routes(service.clone()))
            .merge(operator::router(service.clone(), Authenticator::Tokens(config.operator_tokens.clone()), exports.clone()));
        Ok(Self { router, store, service, exports })
    }
}

/// Reminds staff of unanswered conversations, as the schedule does on AWS.
async fn run_renotify(service: Service) {
    loop {
        tokio::time::sleep(RENOTIFY_INTERVAL).await;
        match service.renotify_sweep().await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "staff reminded of unanswered conversations"),
            Err(e) => tracing::error!(error = %e, "re-notify sweep failed; will retry"),
        }
    }
}

/// Archives what changed around a handled event: its conversation's log from a day before it.
/// The archiver skips what it already has, so the overlap costs nothing but a read.
async fn archive_around(store: &EmbeddedStore, archiver: &Archiver, record: &InboundRecord) -> Result<usize, String> {
    let from = log_cursor_from(record.timestamp_ms - 86_400_000);
    let page = store
        .log(&record.conversation, &PageRequest { limit: 1000, after: Some(from) })
        .await
        .map_err(|e| e.to_string())?;
    archiver.archive(page.items).await.map_err(|e| e.to_string())
}

async fn run_worker(store: EmbeddedStore, service: Service, archiver: Archiver, notify: Arc<Notify>) {
    let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
    // The first sweep waits one interval: events left from before a restart are handled first.
    let mut last_expiry = tokio::time::Instant::now();
    loop {
        if last_expiry.elapsed() >= EXPIRY_INTERVAL {
            last_expiry = tokio::time::Instant::now();
            match crate::expiry::expire(&store, &archiver, jiff::Timestamp::now().as_second()).await {
                Ok(report) if report.removed > 0 => tracing::info!(removed = report.removed, "expired log items removed"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "expiry sweep failed; will retry"),
            }
        }
        match store.pending().await {
            Ok(records) => {
                for record in records {
                    let key = format!("{}/{}", record.conversation, record.event_id);
                    if !in_flight.lock().expect("lock").insert(key.clone()) {
                        continue;
                    }
                    let (store, service, in_flight) = (store.clone(), service.clone(), in_flight.clone());
                    let archiver = archiver.clone();
                    // One task per event, so a slow LINE API for one user does not hold up the rest.
                    tokio::spawn(async move {
                        match service.handle(&record).await {
                            Ok(outcome) => {
                                tracing::info!(event_id = %record.event_id, ?outcome, "handled");
                                // Archived before it is marked done: a crash here archives again on restart.
                                if let Err(e) = archive_around(&store, &archiver, &record).await {
                                    tracing::error!(error = %e, "archiving failed; will retry");
                                    in_flight.lock().expect("lock").remove(&key);
                                    return;
                                }
                                if let Err(e) = store.done(&record).await {
                                    tracing::error!(error = %e, "could not mark event handled");
                                }
                            }
                            Err(e) => tracing::error!(error = %e, event_id = %record.event_id, "handling failed; will retry"),
                        }
                        in_flight.lock().expect("lock").remove(&key);
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read pending events"),
        }
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep(SWEEP_INTERVAL) => {}
        }
    }
}
