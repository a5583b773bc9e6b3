//! Local stand-in for Amazon Bedrock's Converse API (`POST /model/{modelId}/converse`, JSON as
//! the Bedrock API reference gives it), on 127.0.0.1 only. It checks each request's shape
//! (SigV4 `Authorization`, `messages`, `system`, `inferenceConfig`), records it with what was
//! wrong with it, and answers by script: a grounded answer, one without a citation, a handoff,
//! a slow one (never answered), a 500 or a throttling error. Waiting tests are woken by each
//! request that arrives.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;

/// What the stand-in answers to the next request.
#[derive(Debug, Clone)]
pub enum Script {
    /// The model's text, as it would write it (JSON or not), with `stopReason: end_turn`.
    Text(String),
    /// The text, cut short: `stopReason: max_tokens`.
    CutShort(String),
    /// Never answers (until the stand-in stops): a model slower than any timeout.
    Slow,
    /// An error as Bedrock sends it: the status, `x-amzn-ErrorType` and a `message`.
    Error { status: u16, error_type: &'static str },
}

impl Script {
    /// `{"answer": .., "citations": [..]}`.
    pub fn answer(text: &str, citations: &[&str]) -> Self {
        Self::Text(json!({ "answer": text, "citations": citations }).to_string())
    }

    pub fn uncited(text: &str) -> Self {
        Self::Text(json!({ "answer": text, "citations": [] }).to_string())
    }

    pub fn handoff(reason: &str) -> Self {
        Self::Text(json!({ "handoff": reason }).to_string())
    }

    pub fn internal_error() -> Self {
        Self::Error { status: 500, error_type: "InternalServerException" }
    }

    pub fn throttled() -> Self {
        Self::Error { status: 429, error_type: "ThrottlingException" }
    }
}

/// One Converse request as it arrived.
#[derive(Debug, Clone)]
pub struct ConverseRequest {
    /// Percent-decoded, as Bedrock reads it.
    pub model_id: String,
    pub body: Value,
    /// Empty when the request has the Converse API's shape.
    pub violations: Vec<String>,
}

impl ConverseRequest {
    /// The text of every system block, in order.
    pub fn system(&self) -> Vec<String> {
        self.body["system"].as_array().into_iter().flatten().filter_map(|b| b["text"].as_str().map(str::to_owned)).collect()
    }

    /// The text of every message's content blocks, in order, with its role.
    pub fn messages(&self) -> Vec<(String, String)> {
        let messages = self.body["messages"].as_array().into_iter().flatten();
        messages
            .flat_map(|m| {
                let role = m["role"].as_str().unwrap_or_default().to_owned();
                let blocks = m["content"].as_array().into_iter().flatten();
                blocks.filter_map(move |b| b["text"].as_str().map(|t| (role.clone(), t.to_owned())))
            })
            .collect()
    }

    /// Every character the request sends to the model (system blocks and messages).
    pub fn sent_text(&self) -> String {
        let mut all = self.system();
        all.extend(self.messages().into_iter().map(|(_, t)| t));
        all.concat()
    }
}

pub struct BedrockStandin {
    addr: SocketAddr,
    inner: Arc<Inner>,
    stop: Arc<Notify>,
}

struct Inner {
    state: Mutex<StandinState>,
    arrived: Notify,
}

#[derive(Default)]
struct StandinState {
    /// Used in order; when empty, `fallback` answers.
    scripts: VecDeque<Script>,
    fallback: Option<Script>,
    requests: Vec<ConverseRequest>,
}

impl BedrockStandin {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner { state: Mutex::default(), arrived: Notify::new() });
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("Bedrock stand-in: cannot bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("Bedrock stand-in: no address");
        let stop = Arc::new(Notify::new());
        let stopped = stop.clone();
        let app = Router::new().route("/model/{model_id}/converse", post(converse)).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(async move { stopped.notified().await }).await;
        });
        Self { addr, inner, stop }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The adapter's client pointed here, signed with test credentials, as the SDK would be on
    /// AWS with `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` set.
    pub fn model(&self) -> line_oa::model::BedrockModel {
        use aws_sdk_bedrockruntime::config::{Builder, Credentials, Region};
        let conf = Builder::new()
            .behavior_version_latest()
            .region(Region::new("ap-northeast-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .endpoint_url(self.base_url());
        line_oa::model::BedrockModel::from_conf(conf)
    }

    /// The next request is answered by `script`, then the next by the next one queued.
    pub fn then(&self, script: Script) -> &Self {
        self.lock().scripts.push_back(script);
        self
    }

    /// What answers once the queue is empty (by default: an error saying no script was set).
    pub fn always(&self, script: Script) {
        self.lock().fallback = Some(script);
    }

    pub fn requests(&self) -> Vec<ConverseRequest> {
        self.lock().requests.clone()
    }

    /// Waits until `n` requests have arrived, woken by each; fails loudly at the deadline.
    pub async fn wait_for_requests(&self, n: usize, within: Duration) -> Vec<ConverseRequest> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.inner.arrived.notified();
            let seen = self.requests();
            if seen.len() >= n {
                return seen;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() && self.requests().len() < n {
                panic!("waited {within:?} for {n} Converse request(s); the Bedrock stand-in got {}", self.requests().len());
            }
        }
    }

    pub fn assert_all_valid(&self) {
        let problems: Vec<String> = self.requests().iter().flat_map(|r| r.violations.clone()).collect();
        assert!(problems.is_empty(), "Converse requests that break the API's shape: {problems:#?}");
    }

    fn lock(&self) -> MutexGuard<'_, StandinState> {
        self.inner.lock()
    }
}

impl Drop for BedrockStandin {
    fn drop(&mut self) {
        self.stop.notify_one();
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, StandinState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn converse(State(inner): State<Arc<Inner>>, Path(model_id): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (body, violations) = check(&headers, &body);
    let request = ConverseRequest { model_id, body, violations };
    let script = {
        let mut st = inner.lock();
        st.requests.push(request.clone());
        st.scripts.pop_front().or_else(|| st.fallback.clone())
    };
    inner.arrived.notify_waiters();
    if !request.violations.is_empty() {
        return error(400, "ValidationException", &request.violations.join("; "));
    }
    match script {
        None => error(500, "InternalServerException", "the stand-in has no script for this request"),
        Some(Script::Slow) => std::future::pending::<Response>().await,
        Some(Script::Error { status, error_type }) => error(status, error_type, "Failure injected by the stand-in"),
        Some(Script::Text(text)) => answer(&request, &text, "end_turn"),
        Some(Script::CutShort(text)) => answer(&request, &text, "max_tokens"),
    }
}

/// The request's JSON and what is wrong with it, per the Converse API reference: `messages`
/// (role user|assistant, text content), `system` text blocks, `inferenceConfig` with a positive
/// `maxTokens`; no field the API does not know; a SigV4 signature.
fn check(headers: &HeaderMap, raw: &str) -> (Value, Vec<String>) {
    let mut problems = Vec::new();
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !auth.starts_with("AWS4-HMAC-SHA256 Credential=") {
        problems.push("no SigV4 Authorization header".to_owned());
    }
    let Ok(body) = serde_json::from_str::<Value>(raw) else {
        problems.push("the body is not JSON".to_owned());
        return (Value::Null, problems);
    };
    const FIELDS: [&str; 12] = [
        "messages",
        "system",
        "inferenceConfig",
        "toolConfig",
        "guardrailConfig",
        "additionalModelRequestFields",
        "additionalModelResponseFieldPaths",
        "promptVariables",
        "requestMetadata",
        "performanceConfig",
        "serviceTier",
        "outputConfig",
    ];
    for key in body.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
        if !FIELDS.contains(&key.as_str()) {
            problems.push(format!("unknown field {key:?}"));
        }
    }
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    if messages.is_empty() {
        problems.push("`messages` is missing or empty".to_owned());
    }
    for (i, m) in messages.iter().enumerate() {
        if !matches!(m["role"].as_str(), Some("user" | "assistant")) {
            problems.push(format!("messages[{i}].role is not user or assistant"));
        }
        let content = m["content"].as_array().cloned().unwrap_or_default();
        if content.is_empty() || content.iter().any(|b| b["text"].as_str().is_none_or(str::is_empty)) {
            problems.push(format!("messages[{i}].content is not non-empty text blocks"));
        }
    }
    if messages.first().is_some_and(|m| m["role"] != "user") {
        problems.push("the first message is not the user's".to_owned());
    }
    if let Some(system) = body.get("system") {
        let blocks = system.as_array().cloned().unwrap_or_default();
        if blocks.is_empty() || blocks.iter().any(|b| b["text"].as_str().is_none_or(str::is_empty)) {
            problems.push("`system` is not non-empty text blocks".to_owned());
        }
    }
    match body.get("inferenceConfig") {
        Some(config) => {
            if config["maxTokens"].as_i64().is_none_or(|n| n < 1) {
                problems.push("inferenceConfig.maxTokens is not a positive integer".to_owned());
            }
            if let Some(t) = config.get("temperature") {
                if !t.as_f64().is_some_and(|t| (0.0..=1.0).contains(&t)) {
                    problems.push("inferenceConfig.temperature is not in 0..=1".to_owned());
                }
            }
        }
        None => problems.push("no inferenceConfig: the answer's length would be the model's default".to_owned()),
    }
    (body, problems)
}

/// A Converse response; its token counts by the rule the README's cost section states: a
/// character outside ASCII is a token, four ASCII characters are one.
fn answer(request: &ConverseRequest, text: &str, stop_reason: &str) -> Response {
    let (input, output) = (estimated_tokens(&request.sent_text()), estimated_tokens(text));
    let body = json!({
        "output": { "message": { "role": "assistant", "content": [{ "text": text }] } },
        "stopReason": stop_reason,
        "usage": { "inputTokens": input, "outputTokens": output, "totalTokens": input + output },
        "metrics": { "latencyMs": 120 }
    });
    let mut response = Json(body).into_response();
    response.headers_mut().insert("x-amzn-requestid", "00000000-0000-4000-8000-standin00001".parse().unwrap());
    response
}

/// Tokens by the README's rule (an estimate; the real count is the model's tokenizer's).
pub fn estimated_tokens(text: &str) -> u64 {
    let ascii = text.chars().filter(char::is_ascii).count() as u64;
    let other = text.chars().count() as u64 - ascii;
    other + ascii.div_ceil(4)
}

fn error(status: u16, error_type: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(json!({ "message": message }))).into_response();
    response
        .headers_mut()
        .insert("x-amzn-errortype", format!("{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/").parse().unwrap());
    response
}
