//! Local stand-in for the LINE Messaging API: records calls and checks them against the spec.
// Shared test support: not every test binary uses every helper.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::{Json, Router};
use jsonschema::{Draft, Validator};
use serde_json::{json, Map, Value};
use tokio::sync::Notify;

const SCHEMA_REF: &str = "#/components/schemas/";
/// Copy of a discriminated base schema without its dispatch, for the subtypes that `allOf` it.
const BASE_SUFFIX: &str = "__base";
const RETRY_KEY: &str = "x-line-retry-key";
const REQUEST_ID: &str = "x-line-request-id";
const ACCEPTED_REQUEST_ID: &str = "x-line-accepted-request-id";
const DEFAULT_DISPLAY_NAME: &str = "テストユーザー";
/// LINE's documented limit, counted in UTF-16 code units; the spec itself has no maxLength.
const MAX_TEXT_UTF16: usize = 5000;
const MAX_VIOLATION_CHARS: usize = 300;
const INVALID_REPLY_TOKEN: &str = "Invalid reply token";
const RETRY_KEY_ACCEPTED: &str = "The retry key is already accepted";
const AUTH_FAILED: &str = "Authentication failed. Confirm that the access token in the authorization header is valid.";
const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

#[derive(Clone, Debug)]
pub struct StandinOptions {
    pub delay: Duration,
    pub spec_path: PathBuf,
}

impl Default for StandinOptions {
    fn default() -> Self {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let spec_path = manifest_dir.join("../shared/line/openapi/messaging-api.yml");
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
        let inner = Arc::new(Inner { spec, state });
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
                let profile = json!({ "userId": user_id, "displayName": name, "language": "ja" });
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

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name.to_ascii_lowercase());
    value.and_then(|v| v.to_str().ok())
}

fn messages(body: &Value) -> &[Value] {
    body["messages"].as_array().map_or(&[], Vec::as_slice)
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

fn text_length_violations(body: &Value) -> Vec<String> {
    let mut out = vec![];
    for (i, m) in messages(body).iter().enumerate() {
        let units = m["text"].as_str().map_or(0, |t| t.encode_utf16().count());
        if has_type(m, &["text", "textV2"]) && units > MAX_TEXT_UTF16 {
            let limit = MAX_TEXT_UTF16;
            out.push(format!("/messages/{i}/text: {units} UTF-16 units, over {limit}"));
        }
    }
    out
}

fn has_type(message: &Value, types: &[&str]) -> bool {
    types.contains(&message["type"].as_str().unwrap_or_default())
}

struct Spec {
    ops: Vec<Op>,
    /// `{"schemas": ...}` translated to JSON Schema; every compiled schema carries a copy.
    components: Value,
}

struct Op {
    method: String,
    operation_id: String,
    /// `None` marks a `{param}` segment.
    segments: Vec<Option<String>>,
    /// Header parameters (names lowercased); path ones are matched by `Spec::find`.
    headers: Vec<Param>,
    takes_body: bool,
    body_required: bool,
    /// `None` also for non-JSON bodies (images, multipart), which are not checked.
    body_schema: Option<LazySchema>,
    secured: bool,
}

struct Param {
    name: String,
    required: bool,
    schema: Option<LazySchema>,
}

/// Compiled on first use: compiling every operation up front costs seconds in a debug build.
struct LazySchema(Value, OnceLock<Result<Validator, String>>);

impl LazySchema {
    fn new(schema: &Value) -> LazySchema {
        LazySchema(schema.clone(), OnceLock::new())
    }

    /// Violations named by JSON pointer, or by `at` for the instance itself.
    fn violations(&self, components: &Value, instance: &Value, at: &str) -> Vec<String> {
        let compiled = self.1.get_or_init(|| {
            let mut root = self.0.as_object().cloned().unwrap_or_default();
            root.insert("components".into(), components.clone());
            jsonschema::options()
                .with_draft(Draft::Draft7)
                .should_validate_formats(true)
                // Draft 7 has no `uuid` format, and the spec gives it to X-Line-Retry-Key.
                .with_format("uuid", is_uuid)
                .build(&Value::Object(root))
                .map_err(|e| e.to_string())
        });
        let validator = match compiled {
            Ok(validator) => validator,
            Err(e) => return vec![format!("the stand-in cannot compile the schema: {e}")],
        };
        let mut out = vec![];
        for error in validator.iter_errors(instance) {
            let place = error.instance_path().as_str().to_owned();
            let place = if place.is_empty() { at } else { &place };
            // jsonschema quotes the whole offending instance, which can run to kilobytes.
            let text = error.to_string();
            let cut = text.char_indices().nth(MAX_VIOLATION_CHARS).map(|(i, _)| i);
            let text = cut.map_or(text.clone(), |i| format!("{}…", &text[..i]));
            out.push(format!("{place}: {text}"));
        }
        out
    }
}

impl Spec {
    /// One parse per spec file per test binary.
    fn cached(path: &Path) -> Arc<Spec> {
        static SPECS: OnceLock<Mutex<HashMap<PathBuf, Arc<Spec>>>> = OnceLock::new();
        let specs = SPECS.get_or_init(Mutex::default);
        let mut specs = specs.lock().unwrap_or_else(|e| e.into_inner());
        let load = || Arc::new(Spec::load(path));
        specs.entry(path.to_owned()).or_insert_with(load).clone()
    }

    fn load(path: &Path) -> Spec {
        let fail = |why: String| -> ! { panic!("LINE stand-in: spec {}: {why}", path.display()) };
        let text = std::fs::read_to_string(path);
        let text = text.unwrap_or_else(|e| fail(format!("cannot read the spec: {e}")));
        let doc = serde_norway::from_str::<Value>(&text);
        let doc = doc.unwrap_or_else(|e| fail(format!("invalid YAML: {e}")));
        let schemas = doc.pointer("/components/schemas").cloned();
        let schemas = schemas.and_then(|s| serde_json::from_value(s).ok());
        let mut schemas: Map<_, _> = schemas.unwrap_or_else(|| fail("no schemas".into()));
        openapi_to_json_schema(&mut schemas);
        let paths = doc["paths"].as_object();
        let paths = paths.unwrap_or_else(|| fail("no paths".into()));
        let secured = |security: &Value| security.as_array().is_some_and(|s| !s.is_empty());
        let mut ops = vec![];
        for (template, item) in paths {
            let shared_params = item["parameters"].as_array().cloned().unwrap_or_default();
            for (method, op) in item.as_object().into_iter().flatten() {
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                let params = op["parameters"].as_array().into_iter().flatten();
                let params = shared_params.iter().chain(params);
                let headers = params.filter(|p| p["in"] == "header").map(|p| Param {
                    name: p["name"].as_str().unwrap_or_default().to_ascii_lowercase(),
                    required: p["required"].as_bool().unwrap_or(false),
                    schema: p.get("schema").map(LazySchema::new),
                });
                let body = op.get("requestBody");
                let json = op.pointer("/requestBody/content/application~1json/schema");
                let is_param = |s: &str| s.starts_with('{') && s.ends_with('}');
                let segments = template.split('/').map(|s| (!is_param(s)).then(|| s.into()));
                ops.push(Op {
                    method: method.to_uppercase(),
                    operation_id: op["operationId"].as_str().unwrap_or_default().to_owned(),
                    segments: segments.collect(),
                    headers: headers.collect(),
                    takes_body: body.is_some(),
                    body_required: body.is_some_and(|b| b["required"] == true),
                    body_schema: json.map(LazySchema::new),
                    secured: secured(op.get("security").unwrap_or(&doc["security"])),
                });
            }
        }
        let components = json!({ "schemas": schemas });
        Spec { ops, components }
    }

    /// Literal segments win over `{param}` ones: `/richmenu/list` is not `/richmenu/{richMenuId}`.
    fn find(&self, method: &str, path: &str) -> Option<&Op> {
        let parts: Vec<&str> = path.split('/').collect();
        let fits = |op: &&Op| {
            op.method == method
                && op.segments.len() == parts.len()
                && op.segments.iter().zip(&parts).all(|(seg, part)| match seg {
                    Some(literal) => literal == part,
                    None => !part.is_empty(),
                })
        };
        let literals = |op: &&Op| op.segments.iter().filter(|s| s.is_some()).count();
        self.ops.iter().filter(fits).max_by_key(literals)
    }
}

impl Op {
    fn check(&self, components: &Value, parts: &Parts, raw: &[u8]) -> (Option<Value>, Vec<String>) {
        let mut out = vec![];
        for p in &self.headers {
            let here = format!("header {}", p.name);
            match (header(&parts.headers, &p.name), &p.schema) {
                (None, _) if p.required => out.push(format!("{here}: required but missing")),
                (Some(v), Some(schema)) => out.extend(schema.violations(components, &json!(v), &here)),
                _ => {}
            }
        }
        // LINE answers 400 when a retry key goes to an endpoint that does not take one.
        let takes_retry_key = self.headers.iter().any(|p| p.name == RETRY_KEY);
        if parts.headers.contains_key(RETRY_KEY) && !takes_retry_key {
            let id = &self.operation_id;
            out.push(format!("{RETRY_KEY} sent to {id}, which does not take it"));
        }
        let parsed: Option<Value> = serde_json::from_slice(raw).ok();
        if raw.is_empty() && self.body_required {
            out.push("request body is required".into());
        } else if !raw.is_empty() && !self.takes_body {
            out.push("this operation takes no request body".into());
        }
        let Some(schema) = self.body_schema.as_ref().filter(|_| !raw.is_empty()) else {
            return (parsed, out);
        };
        let content_type = header(&parts.headers, "content-type").unwrap_or_default();
        if !content_type.starts_with("application/json") {
            out.push(format!("content-type is {content_type:?}, not application/json"));
        }
        match &parsed {
            None => out.push("request body is not valid JSON".into()),
            Some(body) => {
                out.extend(schema.violations(components, body, "body"));
                out.extend(text_length_violations(body));
            }
        }
        (parsed, out)
    }
}

/// Rewrites the OpenAPI 3.0 dialect (`nullable`, `discriminator`) into JSON Schema draft 7.
fn openapi_to_json_schema(schemas: &mut Map<String, Value>) {
    schemas.values_mut().for_each(translate_nullable);
    let mut discriminated = vec![];
    for (name, schema) in schemas.iter() {
        let d = &schema["discriminator"];
        if let (Some(property), Some(mapping)) = (d["propertyName"].as_str(), d["mapping"].as_object()) {
            discriminated.push((name.clone(), property.to_owned(), mapping.clone()));
        }
    }
    // Subtypes `allOf` their base; pointing them at a dispatch-free copy of it keeps
    // base -> subtype -> base from recursing forever on the same instance.
    for (base, _, mapping) in &discriminated {
        let (base_ref, plain_ref) = (json!(format!("{SCHEMA_REF}{base}")), plain_ref(base));
        for target in mapping.values().filter_map(Value::as_str) {
            let subtype = target.strip_prefix(SCHEMA_REF).and_then(|t| schemas.get_mut(t));
            let all_of = subtype.and_then(|t| t.get_mut("allOf")?.as_array_mut());
            for part in all_of.into_iter().flatten().filter(|p| p["$ref"] == base_ref) {
                part["$ref"] = plain_ref.clone();
            }
        }
    }
    // The base alone checks little more than `type`: validate against the schema the
    // discriminator names, and refuse values the mapping does not know.
    for (base, property, mapping) in discriminated {
        let mut plain = schemas.remove(&base).unwrap_or_default();
        if let Some(obj) = plain.as_object_mut() {
            obj.remove("discriminator");
        }
        schemas.insert(format!("{base}{BASE_SUFFIX}"), plain);
        let known: Vec<&String> = mapping.keys().collect();
        let mut all_of = vec![json!({ "$ref": plain_ref(&base) }), json!({ "properties": { property.as_str(): { "enum": known } } })];
        for (value, target) in &mapping {
            let when = json!({ "properties": { property.as_str(): { "const": value } } });
            let when = json!({ "allOf": [when, { "required": [property] }] });
            all_of.push(json!({ "if": when, "then": { "$ref": target } }));
        }
        schemas.insert(base, json!({ "allOf": all_of }));
    }
}

fn is_uuid(s: &str) -> bool {
    let groups = s.split('-').map(str::len).eq([8, 4, 4, 4, 12]);
    groups && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

fn plain_ref(base: &str) -> Value {
    json!(format!("{SCHEMA_REF}{base}{BASE_SUFFIX}"))
}

fn translate_nullable(schema: &mut Value) {
    if let Some(obj) = schema.as_object_mut() {
        if obj.get("nullable") == Some(&json!(true)) {
            obj.remove("nullable");
            if let Some(t) = obj.get("type").filter(|t| t.is_string()).cloned() {
                obj.insert("type".into(), json!([t, "null"]));
            }
            if let Some(values) = obj.get_mut("enum").and_then(Value::as_array_mut) {
                values.push(Value::Null);
            }
        }
    }
    match schema {
        Value::Object(obj) => obj.values_mut().for_each(translate_nullable),
        Value::Array(items) => items.iter_mut().for_each(translate_nullable),
        _ => {}
    }
}
