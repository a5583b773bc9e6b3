//! The real LINE Messaging API over HTTPS: bearer token, retry of 5xx and timeouts with
//! backoff (the shared `crate::retry` policy), never of 4xx.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::{Content, LineApi, LineApiError, Profile};
use crate::config::DEFAULT_LINE_DATA_API_BASE_URL;
use crate::domain::ids::{ConversationId, LineId, ReplyToken};
use crate::domain::outbound::OutboundMessage;
/// The policy `HttpLineApi::new` takes (its home is `crate::retry`).
pub use crate::retry::RetryPolicy;
use crate::retry::{self, Failure, Stopped};

const RETRY_KEY_HEADER: &str = "X-Line-Retry-Key";
const ACCEPTED_REQUEST_ID_HEADER: &str = "x-line-accepted-request-id";
/// Largest media content kept in memory; LINE allows bigger files, which are flagged instead
/// of exhausting a 256 MB Lambda.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct HttpLineApi {
    client: reqwest::Client,
    base_url: String,
    /// LINE serves message content from a separate host (api-data.line.me).
    data_base_url: String,
    token: SecretString,
    retry: RetryPolicy,
}

/// Why an attempt did not succeed: worth another try (possibly acted on by LINE, or refused
/// before anything was done), or not.
type Outcome = Failure<LineApiError>;

impl HttpLineApi {
    pub fn new(base_url: &str, token: SecretString, retry: RetryPolicy) -> Self {
        let client = retry.http_client().build().expect("a TLS client with default settings builds");
        let base_url = base_url.trim_end_matches('/').to_owned();
        Self { client, base_url, data_base_url: DEFAULT_LINE_DATA_API_BASE_URL.to_owned(), token, retry }
    }

    pub fn with_data_base_url(mut self, data_base_url: &str) -> Self {
        self.data_base_url = data_base_url.trim_end_matches('/').to_owned();
        self
    }

    /// One content download: 202 means LINE is still preparing a video or audio (retry later).
    async fn content_attempt(&self, url: &str) -> Result<Content, Outcome> {
        let response = match self.client.get(url).bearer_auth(self.token.expose_secret()).send().await {
            Ok(r) => r,
            Err(e) => return Err(Outcome::interrupted(e.to_string())),
        };
        let status = response.status().as_u16();
        if status == 202 {
            return Err(Outcome::interrupted("202: content still being prepared"));
        }
        if status != 200 {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let message = body.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
            return Err(if status >= 500 {
                Outcome::interrupted(format!("{status}: {message}"))
            } else {
                Outcome::GiveUp(LineApiError::Rejected { status, message })
            });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let mut response = response;
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() > MAX_CONTENT_BYTES => {
                    let message = format!("content larger than {MAX_CONTENT_BYTES} bytes");
                    return Err(Outcome::GiveUp(LineApiError::Rejected { status, message }));
                }
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => return Ok(Content { bytes, content_type }),
                Err(e) => return Err(Outcome::interrupted(e.to_string())),
            }
        }
    }

    async fn attempt(&self, request: reqwest::RequestBuilder) -> Result<Value, Outcome> {
        let response = match request.bearer_auth(self.token.expose_secret()).send().await {
            Ok(r) => r,
            // Never connected: LINE saw nothing.
            Err(e) if e.is_connect() => return Err(Outcome::refused(e.to_string(), None)),
            Err(e) => return Err(Outcome::interrupted(e.to_string())),
        };
        let status = response.status();
        let accepted_id = response.headers().get(ACCEPTED_REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let retry_after = retry::retry_after(response.headers());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let message = body.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
        match status.as_u16() {
            200..=299 => Ok(body),
            409 if accepted_id.is_some() => {
                Err(Outcome::GiveUp(LineApiError::AlreadyAccepted { request_id: accepted_id.unwrap_or_default() }))
            }
            400 if message.to_ascii_lowercase().contains("reply token") => Err(Outcome::GiveUp(LineApiError::InvalidReplyToken)),
            // Rate limited: try again after the wait LINE asks for, if it is short enough.
            429 => match retry_after {
                Some(wait) => Err(Outcome::refused(format!("429: {message}"), Some(wait))),
                None => Err(Outcome::GiveUp(LineApiError::Rejected { status: 429, message })),
            },
            s if s >= 500 => Err(Outcome::interrupted(format!("{s}: {message}"))),
            s => Err(Outcome::GiveUp(LineApiError::Rejected { status: s, message })),
        }
    }

    /// Sends with retries; `build` makes a fresh request each attempt.
    async fn send(&self, build: impl Fn() -> reqwest::RequestBuilder) -> Result<Value, LineApiError> {
        self.with_retries(|| self.attempt(build())).await
    }

    /// Runs `once` under the retry policy. A spent reply token after an interrupted attempt is
    /// most likely that attempt's doing: whether the message went out is unknown.
    async fn with_retries<T, F: std::future::Future<Output = Result<T, Outcome>>>(&self, once: impl Fn() -> F) -> Result<T, LineApiError> {
        let log = |attempt: u32, reason: &str, interrupted: bool| match interrupted {
            true => tracing::warn!(attempt, %reason, "LINE API call failed; will retry"),
            false => tracing::warn!(attempt, %reason, "LINE API call refused; will retry"),
        };
        match retry::run(&self.retry, once, log).await {
            Ok(v) => Ok(v),
            Err(Stopped::GaveUp { error: LineApiError::InvalidReplyToken, interrupted: Some(interrupted) }) => {
                Err(LineApiError::OutcomeUnknown { interrupted })
            }
            Err(Stopped::GaveUp { error, .. }) => Err(error),
            Err(Stopped::Exhausted { attempts, last }) => Err(LineApiError::Unavailable { attempts, last }),
        }
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

    async fn reply(&self, reply_token: &ReplyToken, messages: &[OutboundMessage]) -> Result<(), LineApiError> {
        let body = json!({ "replyToken": reply_token.as_str(), "messages": wire(messages) });
        let url = self.url("/v2/bot/message/reply");
        self.send(|| self.client.post(&url).json(&body)).await.map(|_| ())
    }

    async fn push(&self, to: &LineId, messages: &[OutboundMessage], retry_key: uuid::Uuid) -> Result<(), LineApiError> {
        let body = json!({ "to": to.as_str(), "messages": wire(messages) });
        let url = self.url("/v2/bot/message/push");
        // The same retry key on every attempt: LINE sends the message at most once.
        let key = retry_key.to_string();
        self.send(|| self.client.post(&url).header(RETRY_KEY_HEADER, &key).json(&body)).await.map(|_| ())
    }

    async fn profile(&self, user_id: &LineId) -> Result<Profile, LineApiError> {
        let url = self.url(&format!("/v2/bot/profile/{user_id}"));
        let body = self.send(|| self.client.get(&url)).await?;
        let display_name = body.get("displayName").and_then(Value::as_str).unwrap_or_default().to_owned();
        // Only LINE's own CDN over https: the console shows it as an <img>.
        let picture_url = body.get("pictureUrl").and_then(Value::as_str).filter(|u| u.starts_with("https://")).map(str::to_owned);
        Ok(Profile { display_name, picture_url })
    }

    async fn group_summary(&self, group_id: &LineId) -> Result<Profile, LineApiError> {
        let url = self.url(&format!("/v2/bot/group/{group_id}/summary"));
        let body = self.send(|| self.client.get(&url)).await?;
        let display_name = body.get("groupName").and_then(Value::as_str).unwrap_or_default().to_owned();
        let picture_url = body.get("pictureUrl").and_then(Value::as_str).filter(|u| u.starts_with("https://")).map(str::to_owned);
        Ok(Profile { display_name, picture_url })
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

    async fn content(&self, message_id: &str) -> Result<Content, LineApiError> {
        let url = format!("{}/v2/bot/message/{message_id}/content", self.data_base_url);
        self.with_retries(|| self.content_attempt(&url)).await
    }
}
