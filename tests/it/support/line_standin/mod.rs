//! Local stand-in for the LINE Messaging API: answers as LINE does (reply tokens spent once,
//! retry keys, content downloads, injected failures), records every call with what `spec.rs`
//! found wrong with it, and tells waiting tests when a request arrives.
// Shared test support: not every test binary uses every helper.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;

use self::spec::{has_type, header, messages, Spec, RETRY_KEY};

mod spec;

const REQUEST_ID: &str = "x-line-request-id";
const ACCEPTED_REQUEST_ID: &str = "x-line-accepted-request-id";
const DEFAULT_DISPLAY_NAME: &str = "テストユーザー";
const INVALID_REPLY_TOKEN: &str = "Invalid reply token";
const RETRY_KEY_ACCEPTED: &str = "The retry key is already accepted";
const AUTH_FAILED: &str = "Authentication failed. Confirm that the access token in the authorization header is valid.";

#[derive(Clone, Debug)]
pub struct StandinOptions {
    pub delay: Duration,
    pub spec_path: PathBuf,
}

impl Default for StandinOptions {
    fn default() -> Self {
        let spec_path = crate::support::shared_dir().join("line/openapi/messaging-api.yml");
        let delay = Duration::ZERO;
        StandinOptions { delay, spec_path }
    }
}

#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Lowercased names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Empty when the request matches the spec.
    pub violations: Vec<String>,
    /// What the stand-in answered.
    pub status: u16,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        let found = self.headers.iter().find(|(n, _)| *n == name);
        found.map(|(_, v)| v.as_str())
    }
}

pub struct LineStandin {
    addr: SocketAddr,
    inner: Arc<Inner>,
    stop: Arc<Notify>,
}

struct Inner {
    spec: Arc<Spec>,
    state: Mutex<MockState>,
    /// Woken after each request is recorded.
    arrived: Notify,
    /// Requests (lookups not counted) being answered now, and the most there ever were.
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

#[derive(Default)]
struct MockState {
    delay: Duration,
    fail: Option<(u16, usize)>,
    /// `Retry-After` seconds sent with injected 429s.
    retry_after: Option<u64>,
    /// How many more accepted requests to apply and then drop the connection of, unanswered.
    drop_after_accept: usize,
    profiles: HashMap<String, String>,
    /// User id -> the picture URL of their profile.
    pictures: HashMap<String, String>,
    used_tokens: HashSet<String>,
    /// Retry key -> (id of the request that was accepted, what it was answered).
    retry_keys: HashMap<String, (String, Value)>,
    requests: Vec<RecordedRequest>,
    counter: u64,
    /// Message id -> (content type, bytes) that `getMessageContent` serves.
    contents: HashMap<String, (String, Vec<u8>)>,
    /// Message id -> how many more times to answer 202 (video/audio still being prepared).
    preparing: HashMap<String, usize>,
    /// Message id -> (status, how many more times) to fail the content download with.
    content_failures: HashMap<String, (u16, usize)>,
}

impl LineStandin {
    pub async fn start(opts: StandinOptions) -> LineStandin {
        let (spec, state) = (Spec::cached(&opts.spec_path), Mutex::default());
        let inner =
            Arc::new(Inner { spec, state, arrived: Notify::new(), in_flight: AtomicUsize::new(0), most_in_flight: AtomicUsize::new(0) });
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("LINE stand-in: cannot bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("LINE stand-in: no address");
        let stop = Arc::new(Notify::new());
        let stopped = stop.clone();
        let app = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move {
            let server = axum::serve(listener, app);
            let _ = server.with_graceful_shutdown(async move { stopped.notified().await }).await;
        });
        let standin = LineStandin { addr, inner, stop };
        standin.set_delay(opts.delay);
        standin
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// In the order they were answered, without profile lookups (the handler looks a new
    /// user's profile up after answering; tests count what was sent).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.all_requests().into_iter().filter(|r| !is_lookup(&r.path)).collect()
    }

    /// Every request, profile and group-summary lookups too.
    pub fn all_requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().requests.clone()
    }

    /// Waits until `check` finds what it looks for in `requests()`, woken by each request that
    /// arrives; at the deadline panics with `what` and the requests there were.
    pub async fn wait_for<T>(&self, what: &str, within: Duration, check: impl Fn(&[RecordedRequest]) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            // Registered before the look, so a request recorded during it still wakes us.
            let arrived = self.inner.arrived.notified();
            let seen = self.requests();
            if let Some(found) = check(&seen) {
                return found;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let seen = self.requests();
                if let Some(found) = check(&seen) {
                    return found;
                }
                let summary: Vec<String> = seen.iter().map(|r| format!("{} {} ({})", r.method, r.path, r.status)).collect();
                panic!("waited {within:?} for {what}; the LINE stand-in got {} request(s): {summary:#?}", seen.len());
            }
        }
    }

    /// Waits until at least `n` requests (lookups not counted) have arrived, and returns them all.
    pub async fn wait_for_requests(&self, n: usize, within: Duration) -> Vec<RecordedRequest> {
        self.wait_for(&format!("{n} request(s) to LINE"), within, |seen| (seen.len() >= n).then(|| seen.to_vec())).await
    }

    /// The most requests (lookups not counted) the stand-in was answering at once: how many a
    /// client had in flight, seen from LINE's side.
    pub fn most_in_flight(&self) -> usize {
        self.inner.most_in_flight.load(Ordering::SeqCst)
    }

    pub fn set_delay(&self, d: Duration) {
        self.inner.lock().delay = d;
    }

    pub fn fail_next(&self, status: u16, count: usize) {
        StatusCode::from_u16(status).expect("fail_next: not an HTTP status");
        self.inner.lock().fail = (count > 0).then_some((status, count));
    }

    /// The next `count` requests that succeed are applied (a reply token spent, a message
    /// "delivered") and then their connection is dropped before any answer: the case where a
    /// client cannot know whether LINE acted.
    pub fn drop_after_accept(&self, count: usize) {
        self.inner.lock().drop_after_accept = count;
    }

    /// Answers the next `count` requests 429 with `Retry-After: seconds`.
    pub fn rate_limit_next(&self, count: usize, seconds: u64) {
        let mut st = self.inner.lock();
        st.fail = Some((429, count));
        st.retry_after = Some(seconds);
    }

    pub fn set_profile(&self, user_id: &str, display_name: &str) {
        let (user_id, name) = (user_id.to_owned(), display_name.to_owned());
        self.inner.lock().profiles.insert(user_id, name);
    }

    /// The `pictureUrl` of `user_id`'s profile (none unless set: a browser test would fetch it).
    pub fn set_picture(&self, user_id: &str, url: &str) {
        self.inner.lock().pictures.insert(user_id.to_owned(), url.to_owned());
    }

    /// Content that `GET /v2/bot/message/{id}/content` (api-data.line.me) serves for `message_id`.
    pub fn set_content(&self, message_id: &str, content_type: &str, bytes: &[u8]) {
        let content = (content_type.to_owned(), bytes.to_vec());
        self.inner.lock().contents.insert(message_id.to_owned(), content);
    }

    /// Answers 202 (still preparing) to the next `times` downloads of this content.
    pub fn content_preparing(&self, message_id: &str, times: usize) {
        self.inner.lock().preparing.insert(message_id.to_owned(), times);
    }

    /// Fails the next `times` downloads of this content with `status`.
    pub fn fail_content(&self, message_id: &str, status: u16, times: usize) {
        self.inner.lock().content_failures.insert(message_id.to_owned(), (status, times));
    }

    pub fn assert_all_valid(&self) {
        let mut problems = String::new();
        for r in self.requests() {
            for v in &r.violations {
                let (method, path, status) = (&r.method, &r.path, r.status);
                problems.push_str(&format!("\n  {method} {path} ({status}): {v}"));
            }
        }
        let intro = "LINE stand-in got requests that break the spec:";
        assert!(problems.is_empty(), "{intro}{problems}");
    }
}

impl Drop for LineStandin {
    fn drop(&mut self) {
        // notify_one keeps a permit, so this also stops a server that was never polled.
        self.stop.notify_one();
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, MockState> {
        // One panicking test must not hide the recorded requests from its assertions.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One request being answered, counted in `Inner::in_flight` until dropped.
struct InFlight<'a>(&'a Inner);

impl<'a> InFlight<'a> {
    fn enter(inner: &'a Inner) -> Self {
        let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        inner.most_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(inner)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A profile or group summary lookup: reads the handler makes after answering.
fn is_lookup(path: &str) -> bool {
    path.starts_with("/v2/bot/profile/") || (path.starts_with("/v2/bot/group/") && path.ends_with("/summary"))
}

async fn handle(State(inner): State<Arc<Inner>>, parts: Parts, body: Bytes) -> Response {
    // Its own task, so a client that gives up during the delay still has its request
    // recorded and applied, as at LINE (the case retry keys exist for).
    let task = tokio::spawn(respond(inner, parts, body));
    match task.await {
        Ok((response, false)) => response,
        // A panic in the connection's own task drops the connection with no response at all.
        Ok((_, true)) => panic!("LINE stand-in: dropping the connection of an accepted request, as asked"),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The answer, and whether to drop the connection instead of sending it.
async fn respond(inner: Arc<Inner>, parts: Parts, raw: Bytes) -> (Response, bool) {
    let _answering = (!is_lookup(parts.uri.path())).then(|| InFlight::enter(&inner));
    let delay = inner.lock().delay;
    tokio::time::sleep(delay).await;
    let (method, path) = (parts.method.to_string(), parts.uri.path().to_owned());
    let op = inner.spec.find(&method, &path);
    let (body, mut violations) = match op {
        Some(op) => op.check(&inner.spec.components, &parts, &raw),
        None => {
            let unknown = format!("{method} {path} is not an operation in the spec");
            (serde_json::from_slice(&raw).ok(), vec![unknown])
        }
    };
    let bearer = header(&parts.headers, "authorization").and_then(|v| v.strip_prefix("Bearer "));
    let authorized = bearer.is_some_and(|token| !token.trim().is_empty());
    if !authorized && op.is_none_or(|op| op.secured) {
        violations.push("missing or malformed `Authorization: Bearer <token>` header".into());
    }

    let mut st = inner.lock();
    st.counter += 1;
    let request_id = format!("00000000-0000-4000-8000-{:012x}", st.counter);
    let retry_key = header(&parts.headers, RETRY_KEY).map(str::to_owned);
    let mut accepted_id = None;
    let mut content = None;
    let json_body = body.as_ref().unwrap_or(&Value::Null);
    let (status, answer) = match (st.fail.take(), op) {
        (Some((status, left)), _) => {
            st.fail = (left > 1).then_some((status, left - 1));
            let text = format!("Failure injected by the stand-in ({status})");
            (status, message(&text))
        }
        (None, None) => (404, message("Not found")),
        (None, Some(op)) if op.secured && !authorized => (401, message(AUTH_FAILED)),
        (None, Some(_)) if !violations.is_empty() => {
            let mut answer = message(&format!("The request has {} error(s)", violations.len()));
            answer["details"] = violations.iter().map(|v| json!({ "message": v })).collect();
            (400, answer)
        }
        (None, Some(op)) => match (op.operation_id.as_str(), retry_key) {
            (_, Some(key)) if st.retry_keys.contains_key(&key) => {
                // LINE repeats the accepted request's sentMessages in the 409 body.
                let (id, mut answer) = st.retry_keys[&key].clone();
                accepted_id = Some(id);
                answer["message"] = json!(RETRY_KEY_ACCEPTED);
                (409, answer)
            }
            ("replyMessage", _) => {
                let token = json_body["replyToken"].as_str().unwrap_or_default();
                if token.starts_with("expired") || !st.used_tokens.insert(token.to_owned()) {
                    (400, message(INVALID_REPLY_TOKEN))
                } else {
                    (200, sent_messages(&mut st.counter, json_body))
                }
            }
            ("getMessageContent", _) => {
                let id = path.split('/').nth(4).unwrap_or_default().to_owned();
                // Each injected answer is used up once.
                let take = |left: &mut usize| {
                    *left > 0 && {
                        *left -= 1;
                        true
                    }
                };
                let failure = st.content_failures.get_mut(&id).and_then(|(status, left)| take(left).then_some(*status));
                let preparing = failure.is_none() && st.preparing.get_mut(&id).is_some_and(take);
                match (failure, preparing, st.contents.get(&id).cloned()) {
                    (Some(status), _, _) => (status, message("Failure injected by the stand-in")),
                    (None, true, _) => (202, json!({})),
                    (None, false, Some(found)) => {
                        content = Some(found);
                        (200, Value::Null)
                    }
                    (None, false, None) => (404, message("Not found")),
                }
            }
            ("getGroupSummary", _) => {
                let group_id = path.split('/').nth(4).unwrap_or_default();
                (200, json!({ "groupId": group_id, "groupName": format!("グループ{}", &group_id[group_id.len().saturating_sub(4)..]) }))
            }
            ("getProfile", _) => {
                let user_id = path.rsplit('/').next().unwrap_or_default();
                let name = st.profiles.get(user_id).map(String::as_str);
                let name = name.unwrap_or(DEFAULT_DISPLAY_NAME);
                let mut profile = json!({ "userId": user_id, "displayName": name, "language": "ja" });
                if let Some(picture) = st.pictures.get(user_id) {
                    profile["pictureUrl"] = json!(picture);
                }
                (200, profile)
            }
            (operation_id, key) => {
                let answer = match operation_id {
                    "pushMessage" => sent_messages(&mut st.counter, json_body),
                    _ => json!({}),
                };
                let accepted = (request_id.clone(), answer.clone());
                if let Some(key) = key {
                    st.retry_keys.insert(key, accepted);
                }
                (200, answer)
            }
        },
    };
    let headers = parts.headers.iter().map(|(n, v)| {
        let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
        (n.to_string(), value)
    });
    let headers = headers.collect();
    let record = RecordedRequest { method, path, headers, body, violations, status };
    st.requests.push(record);
    let drop_connection = status == 200 && st.drop_after_accept > 0;
    if drop_connection {
        st.drop_after_accept -= 1;
    }
    let retry_after = if status == 429 { st.retry_after } else { None };
    drop(st);
    inner.arrived.notify_waiters();

    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = vec![(REQUEST_ID, request_id)];
    headers.extend(accepted_id.map(|id| (ACCEPTED_REQUEST_ID, id)));
    headers.extend(retry_after.map(|s| ("retry-after", s.to_string())));
    if let Some((content_type, bytes)) = content {
        let content_type = [(axum::http::header::CONTENT_TYPE, content_type)];
        return ((status, AppendHeaders(headers), content_type, bytes).into_response(), drop_connection);
    }
    ((status, AppendHeaders(headers), Json(answer)).into_response(), drop_connection)
}

fn message(text: &str) -> Value {
    json!({ "message": text })
}

/// One id per sent message; LINE adds a quote token only for the quotable types.
fn sent_messages(counter: &mut u64, body: &Value) -> Value {
    let mut sent = vec![];
    for m in messages(body) {
        *counter += 1;
        let mut entry = json!({ "id": (500_000_000_000_000_000 + *counter).to_string() });
        if has_type(m, &["text", "textV2", "sticker"]) {
            entry["quoteToken"] = json!(format!("standin-quote-{counter}"));
        }
        sent.push(entry);
    }
    json!({ "sentMessages": sent })
}
