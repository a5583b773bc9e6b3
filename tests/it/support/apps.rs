//! Builders for the app under test: in-process local server, a service over any store, and
//! the real `line-oa` binary as a user runs it.

use std::sync::Arc;
use std::time::Duration;

use line_oa::config::{self, Config};
use line_oa::domain::staff::{hash_token, TokenTable};
use line_oa::line_api::http::{HttpLineApi, RetryPolicy};
use line_oa::local::LocalApp;
use line_oa::service::{system_clock, Service};
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

pub const SETTINGS: &str = r#"
account_name = "テスト歯科"
[greeting]
messages = [{ type = "text", text = "{nickname}さん、友だち追加ありがとうございます。{account_name}です。" }]
[default_response]
messages = [{ type = "text", text = "ただいま確認しております。" }]
"#;

pub struct LocalTestApp {
    pub url: String,
    pub store: EmbeddedStore,
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
        let dir = tempfile::tempdir().unwrap();
        let app = LocalApp::start(&test_config(&standin, settings_toml), dir.path(), retry).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app.router).await.unwrap() });
        Self { url, store: app.store, standin, client: reqwest::Client::new(), _dir: dir }
    }

    /// As `start`, with staff who sign in with operator tokens (as `OPERATOR_TOKENS` lists
    /// them): `(name, role, token)`, role `admin` or `operator`.
    pub async fn start_with_staff(settings_toml: &str, staff: &[(&str, &str, &str)]) -> Self {
        let standin = LineStandin::start(StandinOptions::default()).await;
        let mut config = test_config(&standin, settings_toml);
        let spec: Vec<String> = staff.iter().map(|(name, role, token)| format!("{name}:{role}:{}", hash_token(token))).collect();
        config.operator_tokens = Arc::new(TokenTable::parse(&spec.join(",")).expect("operator tokens"));
        let dir = tempfile::tempdir().unwrap();
        let app = LocalApp::start(&config, dir.path(), test_retry()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app.router).await.unwrap() });
        Self { url, store: app.store, standin, client: reqwest::Client::new(), _dir: dir }
    }

    /// The local server's DATA_DIR (its archive is `archive/` in it).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub async fn post(&self, body: &[u8], signature: Option<&str>) -> (u16, serde_json::Value) {
        post_webhook(&self.client, &self.url, body, signature).await
    }

    /// Waits until the stand-in has seen `n` requests (the background worker is asynchronous).
    pub async fn wait_for_requests(&self, n: usize, within: Duration) -> Vec<super::line_standin::RecordedRequest> {
        wait_for_requests(&self.standin, n, within).await
    }
}

pub async fn wait_for_requests(standin: &LineStandin, n: usize, within: Duration) -> Vec<super::line_standin::RecordedRequest> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let seen = standin.requests();
        if seen.len() >= n || tokio::time::Instant::now() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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

/// The service over any store, talking to the stand-in over HTTP.
pub fn service(store: Arc<dyn Store>, standin: &LineStandin, settings_toml: &str) -> Service {
    let config = test_config(standin, settings_toml);
    let line = HttpLineApi::new(&standin.base_url(), SecretString::from("it-access-token"), test_retry());
    Service::new(config.verifier, store, Arc::new(line), config.settings, config.retention_days, system_clock())
        .with_replay_window_days(config.replay_window_days)
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
