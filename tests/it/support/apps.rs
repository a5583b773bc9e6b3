//! Builders for the app under test: the in-process local server (and waiting for it to
//! settle), a service over any store, and signed webhook bodies. The real `line-oa` binary as a
//! user runs it is `binary.rs`.

use std::sync::Arc;
use std::time::Duration;

use line_oa::config::{self, Config};
use line_oa::domain::staff::{hash_token, TokenTable};
use line_oa::lambda::worker::Worker;
use line_oa::line_api::http::{HttpLineApi, RetryPolicy};
use line_oa::local::{Backlog, LocalApp, Settle};
use line_oa::metrics::Metrics;
use line_oa::service::{system_clock, Clock, Service, ServiceParts};
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::Store;
use secrecy::SecretString;

use super::line_standin::{LineStandin, StandinOptions};
use super::TEST_SECRET;

/// Short backoffs so retry tests run fast; the 10 s timeout still outlasts a 5 s slow LINE.
pub fn test_retry() -> RetryPolicy {
    RetryPolicy { attempts: 3, first_backoff: Duration::from_millis(50), timeout: Duration::from_secs(10) }
}

pub fn test_config(standin: &LineStandin, settings_toml: &str) -> Config {
    let base = standin.base_url();
    let settings = settings_toml.to_owned();
    config::from_lookup(move |key| match key {
        "LINE_CHANNEL_SECRET" => Some(TEST_SECRET.into()),
        "LINE_CHANNEL_ACCESS_TOKEN" => Some("it-access-token".into()),
        "LINE_API_BASE_URL" | "LINE_DATA_API_BASE_URL" => Some(base.clone()),
        "SETTINGS_TOML" => Some(settings.clone()),
        // The bodies here carry fixed times from 2025 (and LINE's fixtures older ones), so the
        // replay window (a week by default) and the retention it may not outlast are widened
        // to a century; `replays.rs` proves the window as deployed.
        "RETENTION_DAYS" | "REPLAY_WINDOW_DAYS" => Some(WIDE_WINDOW_DAYS.into()),
        _ => None,
    })
    .expect("test config")
}

/// The test servers' retention and replay window (see `test_config`).
pub const WIDE_WINDOW_DAYS: &str = "36500";

/// The clinic most tests run as: a greeting on follow, one default reply (`fixtures/clinic.toml`).
pub const SETTINGS: &str = include_str!("../fixtures/clinic.toml");

/// How long a test waits for the local server to settle: the archive batches for 2 s, and a
/// 2-core machine may be building meanwhile.
pub const SETTLE_WITHIN: Duration = Duration::from_secs(30);

pub struct LocalTestApp {
    pub url: String,
    pub store: EmbeddedStore,
    pub settle: Settle,
    pub standin: LineStandin,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl LocalTestApp {
    pub async fn start(settings_toml: &str) -> Self {
        Self::start_with_retry(settings_toml, test_retry()).await
    }

    pub async fn start_with_retry(settings_toml: &str, retry: RetryPolicy) -> Self {
        let standin = LineStandin::start(StandinOptions::default()).await;
        let config = test_config(&standin, settings_toml);
        Self::serve(standin, &config, retry).await
    }

    /// As `start`, with staff who sign in with operator tokens (as `OPERATOR_TOKENS` lists
    /// them): `(name, role, token)`, role `admin` or `operator`.
    pub async fn start_with_staff(settings_toml: &str, staff: &[(&str, &str, &str)]) -> Self {
        let standin = LineStandin::start(StandinOptions::default()).await;
        let mut config = test_config(&standin, settings_toml);
        let spec: Vec<String> = staff.iter().map(|(name, role, token)| format!("{name}:{role}:{}", hash_token(token))).collect();
        config.operator_tokens = Arc::new(TokenTable::parse(&spec.join(",")).expect("operator tokens"));
        Self::serve(standin, &config, test_retry()).await
    }

    async fn serve(standin: LineStandin, config: &Config, retry: RetryPolicy) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = LocalApp::start(config, dir.path(), retry).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app.router).await.unwrap() });
        Self { url, store: app.store, settle: app.settle, standin, client: reqwest::Client::new(), _dir: dir }
    }

    /// The local server's DATA_DIR (its archive is `archive/` in it).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub async fn post(&self, body: &[u8], signature: Option<&str>) -> (u16, serde_json::Value) {
        post_webhook(&self.client, &self.url, body, signature).await
    }

    /// Waits until the stand-in has seen at least `n` requests (the background worker is
    /// asynchronous), and returns them; fails if they do not come `within`.
    pub async fn wait_for_requests(&self, n: usize, within: Duration) -> Vec<super::line_standin::RecordedRequest> {
        self.standin.wait_for_requests(n, within).await
    }

    /// Waits until every event logged so far is handled, and the archive has it (see `settled`).
    pub async fn settled(&self) -> Backlog {
        settled(&self.settle).await
    }

    /// Waits until every event logged so far is handled; not for the archive.
    pub async fn handled(&self) -> Backlog {
        handled(&self.settle).await
    }
}

/// Waits until the stand-in has seen at least `n` requests; fails if they do not come `within`.
pub async fn wait_for_requests(standin: &LineStandin, n: usize, within: Duration) -> Vec<super::line_standin::RecordedRequest> {
    standin.wait_for_requests(n, within).await
}

/// Waits until the local server has settled: nothing pending, nothing in flight, the archive
/// caught up. Fails, with what is still owed, after `SETTLE_WITHIN`.
pub async fn settled(settle: &Settle) -> Backlog {
    wait_settle(settle, "settle", settle.settled()).await
}

/// Waits until every event the local server logged is handled (replies sent or given up on).
pub async fn handled(settle: &Settle) -> Backlog {
    wait_settle(settle, "handle every event logged", settle.handled()).await
}

async fn wait_settle(
    settle: &Settle,
    what: &str,
    wait: impl std::future::Future<Output = Result<Backlog, line_oa::store::StoreError>>,
) -> Backlog {
    match tokio::time::timeout(SETTLE_WITHIN, wait).await {
        Ok(Ok(backlog)) => backlog,
        Ok(Err(e)) => panic!("cannot tell whether the local server has settled: {e}"),
        Err(_) => {
            let left = settle.backlog().await.map_or_else(|e| format!("(cannot read it: {e})"), |b| b.to_string());
            panic!("the local server did not {what} within {SETTLE_WITHIN:?}: {left}")
        }
    }
}

/// Starts the local server over `data_dir`, once the store a previous app or process had open
/// there has been let go of.
pub async fn start_local_app(config: &Config, data_dir: &std::path::Path) -> LocalApp {
    let what = format!("the store at {} to be let go of, to start the local server", data_dir.display());
    super::wait::until(&what, Duration::from_secs(10), || async {
        match LocalApp::start(config, data_dir, test_retry()) {
            Ok(app) => Ok(app),
            Err(e) if e.to_string().contains("already open") => Err(e.to_string()),
            Err(e) => panic!("the local server does not start over {}: {e}", data_dir.display()),
        }
    })
    .await
}

pub async fn post_webhook(client: &reqwest::Client, url: &str, body: &[u8], signature: Option<&str>) -> (u16, serde_json::Value) {
    let mut request = client.post(format!("{url}/webhook")).header("content-type", "application/json").body(body.to_vec());
    if let Some(sig) = signature {
        request = request.header("X-Line-Signature", sig);
    }
    let response = request.send().await.expect("webhook reachable");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// The use cases over any store, talking to the stand-in over HTTP.
pub fn service(store: Arc<dyn Store>, standin: &LineStandin, settings_toml: &str) -> Service {
    parts(store, standin, settings_toml, system_clock()).build()
}

/// The same, on `clock`'s time.
pub fn service_with_clock(store: Arc<dyn Store>, standin: &LineStandin, settings_toml: &str, clock: Clock) -> Service {
    parts(store, standin, settings_toml, clock).build()
}

/// What `service` builds from, to change a part by name first.
pub fn parts(store: Arc<dyn Store>, standin: &LineStandin, settings_toml: &str, clock: Clock) -> ServiceParts {
    let config = test_config(standin, settings_toml);
    let line = HttpLineApi::new(&standin.base_url(), SecretString::from("it-access-token"), test_retry());
    ServiceParts {
        replay_window_days: Some(config.replay_window_days),
        ..ServiceParts::new(config.verifier, store, Arc::new(line), config.settings, config.retention_days, clock)
    }
}

/// The worker function over `service`'s handler and reminders.
pub fn worker(service: Service, metrics: Metrics) -> Worker {
    Worker { handler: service.handler, notices: service.notices, metrics }
}

/// A one-event body from a user, as LINE sends it, with the event-specific `fields` merged in.
fn user_event_body(event_id: &str, user: &str, reply_token: &str, timestamp_ms: i64, fields: serde_json::Value) -> Vec<u8> {
    let mut event = serde_json::json!({
        "webhookEventId": event_id,
        "deliveryContext": { "isRedelivery": false },
        "timestamp": timestamp_ms,
        "source": { "type": "user", "userId": user },
        "replyToken": reply_token,
        "mode": "active"
    });
    event.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    serde_json::json!({ "destination": "U0000000000000000000000000000000d", "events": [event] }).to_string().into_bytes()
}

/// A text message event body.
pub fn text_body(event_id: &str, user: &str, text: &str, reply_token: &str) -> Vec<u8> {
    text_body_at(event_id, user, text, reply_token, 1_764_000_000_000)
}

/// The same, sent at `timestamp_ms`.
pub fn text_body_at(event_id: &str, user: &str, text: &str, reply_token: &str, timestamp_ms: i64) -> Vec<u8> {
    let message = serde_json::json!({ "type": "text", "id": "468789577898262530", "quoteToken": "q1", "text": text });
    user_event_body(event_id, user, reply_token, timestamp_ms, serde_json::json!({ "type": "message", "message": message }))
}

/// An image message event body; LINE hosts the content under `message_id`.
pub fn image_body(event_id: &str, user: &str, message_id: &str, reply_token: &str) -> Vec<u8> {
    let message = serde_json::json!({ "type": "image", "id": message_id, "quoteToken": "q2", "contentProvider": { "type": "line" } });
    user_event_body(event_id, user, reply_token, 1_764_000_000_000, serde_json::json!({ "type": "message", "message": message }))
}

pub fn follow_body(event_id: &str, user: &str, reply_token: &str) -> Vec<u8> {
    let fields = serde_json::json!({ "type": "follow", "follow": { "isUnblocked": false } });
    user_event_body(event_id, user, reply_token, 1_764_000_000_000, fields)
}
