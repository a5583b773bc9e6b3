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
use crate::http::{explain_routes, router, AppState};
use crate::line_api::http::{HttpLineApi, RetryPolicy};
use crate::line_api::logging::LoggingLineApi;
use crate::line_api::LineApi;
use crate::service::{system_clock, Service};
use crate::store::embedded::EmbeddedStore;
use crate::store::StoreError;

/// How often the background task looks for unhandled events even when not woken.
const SWEEP_INTERVAL: Duration = Duration::from_secs(15);

pub struct LocalApp {
    pub router: axum::Router,
    pub store: EmbeddedStore,
    pub service: Service,
    /// Export jobs, run by a background task; files land in `DATA_DIR/exports/<job id>/`.
    pub exports: ExportJobs,
}

pub fn line_api(config: &Config, retry: RetryPolicy) -> Arc<dyn LineApi> {
    match &config.access_token {
        Some(token) => Arc::new(HttpLineApi::new(&config.line_api_base_url, token.clone(), retry)),
        None => Arc::new(LoggingLineApi),
    }
}

impl LocalApp {
    /// Opens the store and starts the background worker; the router is ready to serve.
    pub fn start(config: &Config, data_dir: &Path, retry: RetryPolicy) -> Result<Self, StoreError> {
        let store = EmbeddedStore::open(data_dir)?;
        let service = Service::new(
            config.verifier.clone(),
            Arc::new(store.clone()),
            line_api(config, retry),
            config.settings.clone(),
            config.retention_days,
            system_clock(),
        );
        let notify = Arc::new(Notify::new());
        let archiver = Archiver::new(Arc::new(DirArchive::new(data_dir.join("archive"))));
        tokio::spawn(run_worker(store.clone(), service.clone(), archiver, notify.clone()));
        let on_logged = Arc::new(move || notify.notify_one());
        let router = router(AppState { service: service.clone(), on_logged })
            .merge(explain_routes(Arc::new(config.settings.clone())));
        let exports = ExportJobs::local(
            Arc::new(store.clone()),
            data_dir.to_path_buf(),
            config.settings.rules.timezone.clone(),
            system_clock(),
        );
        Ok(Self { router, store, service, exports })
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
    loop {
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
