//! The real LINE Messaging API over HTTPS: bearer token, retry of 5xx and timeouts with
//! backoff, never of 4xx.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::{LineApi, LineApiError, Profile};
use crate::domain::ids::ConversationId;
use crate::domain::outbound::OutboundMessage;

const RETRY_KEY_HEADER: &str = "X-Line-Retry-Key";
const ACCEPTED_REQUEST_ID_HEADER: &str = "x-line-accepted-request-id";

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    /// Per attempt; LINE is usually fast, but a slow answer must not be taken for a failure.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 4, first_backoff: Duration::from_millis(500), timeout: Duration::from_secs(10) }
    }
}

#[derive(Debug, Clone)]
pub struct HttpLineApi {
    client: reqwest::Client,
    base_url: String,
    token: SecretString,
    retry: RetryPolicy,
}

enum Outcome {
    Done(Value),
    Retry(String),
    Fail(LineApiError),
}

impl HttpLineApi {
    pub fn new(base_url: &str, token: SecretString, retry: RetryPolicy) -> Self {
        let client = reqwest::Client::builder()
            .timeout(retry.timeout)
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("line-oa/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS client with default settings builds");
        Self { client, base_url: base_url.trim_end_matches('/').to_owned(), token, retry }
    }

    async fn attempt(&self, request: reqwest::RequestBuilder) -> Outcome {
        let response = match request.bearer_auth(self.token.expose_secret()).send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let status = response.status();
        let accepted_id = response.headers().get(ACCEPTED_REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let message = body.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
        match status.as_u16() {
            200..=299 => Outcome::Done(body),
            409 if accepted_id.is_some() => {
                Outcome::Fail(LineApiError::AlreadyAccepted { request_id: accepted_id.unwrap_or_default() })
            }
            400 if message.to_ascii_lowercase().contains("reply token") => Outcome::Fail(LineApiError::InvalidReplyToken),
            429 => Outcome::Fail(LineApiError::Rejected { status: 429, message }),
            s if s >= 500 => Outcome::Retry(format!("{s}: {message}")),
            s => Outcome::Fail(LineApiError::Rejected { status: s, message }),
        }
    }

    /// Sends with retries; `build` makes a fresh request each attempt.
    async fn send(&self, build: impl Fn() -> reqwest::RequestBuilder) -> Result<Value, LineApiError> {
        let mut backoff = self.retry.first_backoff;
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts {
            match self.attempt(build()).await {
                Outcome::Done(v) => return Ok(v),
                Outcome::Fail(e) => return Err(e),
                Outcome::Retry(reason) => {
                    tracing::warn!(attempt, %reason, "LINE API call failed; will retry");
                    last = reason;
                }
            }
            if attempt < self.retry.attempts {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        Err(LineApiError::Unavailable { attempts: self.retry.attempts, last })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

fn wire(messages: &[OutboundMessage]) -> Vec<Value> {
    messages.iter().map(OutboundMessage::to_line_json).collect()
}

#[async_trait]
impl LineApi for HttpLineApi {
    fn sends(&self) -> bool {
        true
    }

    async fn reply(&self, reply_token: &str, messages: &[OutboundMessage]) -> Result<(), LineApiError> {
        let body = json!({ "replyToken": reply_token, "messages": wire(messages) });
        let url = self.url("/v2/bot/message/reply");
        self.send(|| self.client.post(&url).json(&body)).await.map(|_| ())
    }

    async fn push(&self, to: &str, messages: &[OutboundMessage], retry_key: uuid::Uuid) -> Result<(), LineApiError> {
        let body = json!({ "to": to, "messages": wire(messages) });
        let url = self.url("/v2/bot/message/push");
        // The same retry key on every attempt: LINE sends the message at most once.
        let key = retry_key.to_string();
        self.send(|| self.client.post(&url).header(RETRY_KEY_HEADER, &key).json(&body)).await.map(|_| ())
    }

    async fn profile(&self, user_id: &str) -> Result<Profile, LineApiError> {
        let url = self.url(&format!("/v2/bot/profile/{user_id}"));
        let body = self.send(|| self.client.get(&url)).await?;
        let display_name = body.get("displayName").and_then(Value::as_str).unwrap_or_default().to_owned();
        Ok(Profile { display_name })
    }

    async fn leave(&self, conversation: &ConversationId) -> Result<(), LineApiError> {
        let (kind, id) = conversation.as_str().split_once(':').unwrap_or_default();
        let url = match kind {
            "group" => self.url(&format!("/v2/bot/group/{id}/leave")),
            "room" => self.url(&format!("/v2/bot/room/{id}/leave")),
            _ => return Err(LineApiError::Rejected { status: 0, message: format!("cannot leave {conversation}") }),
        };
        self.send(|| self.client.post(&url)).await.map(|_| ())
    }
}
