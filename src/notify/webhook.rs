//! The outgoing notification webhook: POSTs the notice's JSON payload, signed with
//! HMAC-SHA256 over `<timestamp>.<body>`; retries 5xx and timeouts with backoff (the shared
//! `crate::retry` policy), never 4xx.
//!
//! Receivers recompute the signature over the exact bytes received, compare in constant time,
//! reject timestamps too far from their clock (a replayed request carries an old one), and
//! de-duplicate by `X-LineOA-Delivery`, which is the same on every retry of one notice.

use crate::clock::{system_clock, Clock};
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Notifier, NotifyError};
use crate::domain::notice::StaffNotice;
use crate::domain::secret::Secret;
use crate::retry::{self, Failure, RetryPolicy, Stopped};

/// `sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-LineOA-Signature";
/// Unix seconds when this attempt was sent; part of the signed bytes.
pub const TIMESTAMP_HEADER: &str = "X-LineOA-Timestamp";
/// The notice's delivery id (a UUID), stable across retries.
pub const DELIVERY_HEADER: &str = "X-LineOA-Delivery";
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// `sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` (the value of [`SIGNATURE_HEADER`]).
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("{SIGNATURE_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: String,
    pub secret: Secret,
    pub retry: RetryPolicy,
}

impl WebhookConfig {
    pub fn new(url: String, secret: Secret) -> Self {
        Self { url, secret, retry: RetryPolicy::WEBHOOK }
    }
}

pub struct WebhookNotifier {
    client: reqwest::Client,
    config: WebhookConfig,
    /// Dates each attempt's signature.
    clock: Clock,
}

impl WebhookNotifier {
    pub fn new(config: WebhookConfig) -> Self {
        let client = config
            .retry
            .http_client()
            // A redirect would re-send the signed notice somewhere the operator did not configure.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a TLS client with default settings builds");
        Self { client, config, clock: system_clock() }
    }

    /// Signs with the time `clock` gives instead of the system's.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// One signed POST; a 4xx is final (the status), anything else that is not a 2xx is retried.
    async fn attempt(&self, body: &str, delivery: &str) -> Result<(), Failure<u16>> {
        let timestamp = (self.clock)().div_euclid(1000);
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
            Err(e) => Err(Failure::interrupted(e.without_url().to_string())),
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) if r.status().is_server_error() => Err(Failure::interrupted(format!("HTTP {}", r.status().as_u16()))),
            Ok(r) => Err(Failure::GiveUp(r.status().as_u16())),
        }
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn notify(&self, notice: &StaffNotice) -> Result<(), NotifyError> {
        // Serialised once: every attempt sends (and signs) the very same bytes.
        let body = notice.payload_json();
        let delivery = notice.delivery_id().to_string();
        let log = |attempt: u32, reason: &str, _| tracing::warn!(%delivery, attempt, %reason, "notification webhook failed; will retry");
        let tries = AtomicU32::new(0);
        let once = || {
            tries.fetch_add(1, Ordering::Relaxed);
            self.attempt(&body, &delivery)
        };
        match retry::run(&self.config.retry, once, log).await {
            Ok(()) => {
                let attempt = tries.load(Ordering::Relaxed);
                tracing::info!(%delivery, conversation = %notice.conversation, attempt, "staff notice delivered to the webhook");
                Ok(())
            }
            Err(Stopped::GaveUp { error: status, .. }) => Err(NotifyError::WebhookRejected { status }),
            Err(Stopped::Exhausted { attempts, last }) => Err(NotifyError::WebhookUnavailable { attempts, last }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::secret::EmptySecret;

    #[test]
    fn the_signature_is_hex_hmac_of_timestamp_dot_body() {
        // Reference value, from OpenSSL: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec'
        let secret = Secret::new("whsec").unwrap();
        let sig = sign(&secret, 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(sig, "sha256=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032");
    }

    #[test]
    fn an_empty_secret_is_refused_and_a_secret_never_shows_in_debug() {
        assert_eq!(Secret::new(" \t").unwrap_err(), EmptySecret);
        let config = WebhookConfig::new("https://hooks.example.com/".into(), Secret::new("hunter2").unwrap());
        let dbg = format!("{config:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert_eq!(config.retry.attempts, 3, "the webhook's own policy");
    }
}
