//! The outgoing notification webhook: POSTs the notice's JSON payload, signed with
//! HMAC-SHA256 over `<timestamp>.<body>`; retries 5xx and timeouts with backoff, never 4xx.
//!
//! Receivers recompute the signature over the exact bytes received, compare in constant time,
//! reject timestamps too far from their clock (a replayed request carries an old one), and
//! de-duplicate by `X-LineOA-Delivery`, which is the same on every retry of one notice.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::{Notifier, NotifyError};
use crate::domain::notice::StaffNotice;

/// `sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-LineOA-Signature";
/// Unix seconds when this attempt was sent; part of the signed bytes.
pub const TIMESTAMP_HEADER: &str = "X-LineOA-Timestamp";
/// The notice's delivery id (a UUID), stable across retries.
pub const DELIVERY_HEADER: &str = "X-LineOA-Delivery";
pub const SIGNATURE_PREFIX: &str = "sha256=";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the webhook secret is empty")]
pub struct EmptySecret;

/// The shared signing secret. `Debug` is redacted so it never reaches a log line.
#[derive(Clone)]
pub struct WebhookSecret(SecretString);

impl WebhookSecret {
    pub fn new(secret: impl Into<String>) -> Result<Self, EmptySecret> {
        let secret: String = secret.into();
        if secret.trim().is_empty() {
            return Err(EmptySecret);
        }
        Ok(Self(SecretString::from(secret)))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` (the value of [`SIGNATURE_HEADER`]).
pub fn sign(secret: &WebhookSecret, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.expose_secret().as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("{SIGNATURE_PREFIX}{hex}")
}

#[derive(Debug, Clone)]
pub struct WebhookRetry {
    pub attempts: u32,
    pub first_backoff: Duration,
    /// Per attempt: a receiver that hangs must not hold the worker.
    pub timeout: Duration,
}

impl Default for WebhookRetry {
    fn default() -> Self {
        Self { attempts: 3, first_backoff: Duration::from_millis(500), timeout: Duration::from_secs(5) }
    }
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    pub secret: WebhookSecret,
    pub retry: WebhookRetry,
}

impl WebhookConfig {
    pub fn new(url: String, secret: WebhookSecret) -> Self {
        Self { url, secret, retry: WebhookRetry::default() }
    }
}

pub struct WebhookNotifier {
    client: reqwest::Client,
    config: WebhookConfig,
}

enum Outcome {
    Delivered,
    Retry(String),
    Refused(u16),
}

impl WebhookNotifier {
    pub fn new(config: WebhookConfig) -> Self {
        let client = reqwest::Client::builder()
            .timeout(config.retry.timeout)
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("line-oa/", env!("CARGO_PKG_VERSION")))
            // A redirect would re-send the signed notice somewhere the operator did not configure.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a TLS client with default settings builds");
        Self { client, config }
    }

    async fn attempt(&self, body: &str, delivery: &str) -> Outcome {
        let timestamp = unix_seconds();
        let signature = sign(&self.config.secret, timestamp, body.as_bytes());
        let sent = self
            .client
            .post(&self.config.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(DELIVERY_HEADER, delivery)
            .body(body.to_owned())
            .send()
            .await;
        match sent {
            // The URL may hold a token of the receiver's: keep it out of errors and logs.
            Err(e) => Outcome::Retry(e.without_url().to_string()),
            Ok(r) if r.status().is_success() => Outcome::Delivered,
            Ok(r) if r.status().is_server_error() => Outcome::Retry(format!("HTTP {}", r.status().as_u16())),
            Ok(r) => Outcome::Refused(r.status().as_u16()),
        }
    }
}

fn unix_seconds() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn notify(&self, notice: &StaffNotice) -> Result<(), NotifyError> {
        // Serialised once: every attempt sends (and signs) the very same bytes.
        let body = notice.payload_json();
        let delivery = notice.delivery_id().to_string();
        let retry = &self.config.retry;
        let mut backoff = retry.first_backoff;
        let mut last = String::new();
        for attempt in 1..=retry.attempts {
            match self.attempt(&body, &delivery).await {
                Outcome::Delivered => {
                    tracing::info!(%delivery, conversation = %notice.conversation, attempt, "staff notice delivered to the webhook");
                    return Ok(());
                }
                Outcome::Refused(status) => return Err(NotifyError::WebhookRejected { status }),
                Outcome::Retry(reason) => {
                    tracing::warn!(%delivery, attempt, %reason, "notification webhook failed; will retry");
                    last = reason;
                }
            }
            if attempt < retry.attempts {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        Err(NotifyError::WebhookUnavailable { attempts: retry.attempts, last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hex_hmac_of_timestamp_dot_body() {
        // Reference value, from OpenSSL: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec'
        let secret = WebhookSecret::new("whsec").unwrap();
        let sig = sign(&secret, 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(sig, "sha256=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032");
    }

    #[test]
    fn an_empty_secret_is_refused_and_a_secret_never_shows_in_debug() {
        assert_eq!(WebhookSecret::new(" \t").unwrap_err(), EmptySecret);
        let dbg = format!("{:?}", WebhookSecret::new("hunter2").unwrap());
        assert!(!dbg.contains("hunter2"), "{dbg}");
    }
}
