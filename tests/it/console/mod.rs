//! The operator console in a real browser: Debian's headless Chromium driven through its
//! chromedriver (WebDriver, `fantoccini`), against the real local server in-process with the LINE
//! stand-in. Staff sign in with real operator tokens. Every scenario saves screenshots under
//! `target/screenshots/`, fails on SEVERE browser console entries, and the sign-in, list and
//! conversation pages pass axe-core (no serious or critical violations).
//!
//! The page is driven by the DOM contract in console/README.md: ids and accessible names
//! (aria-label, button text), not CSS structure.

use serde_json::{json, Value};

use crate::support::apps::LocalTestApp;
use crate::support::line_standin::RecordedRequest;
use crate::support::sign;

pub mod browser;
mod cognito;
mod harness;
mod scenarios;

pub use browser::{open, Browser, WAIT};

// The scenarios (bodies in scenarios/). Each starts its own server, stand-in and Chromium; the
// test binary runs them concurrently against one chromedriver.

/// 1. Sign in with an operator token; a wrong token is refused with a message.
#[tokio::test]
async fn signin_with_token_wrong_token_refused() {
    scenarios::signin::token_and_wrong_token().await;
}

/// 2. A new user's message appears in the list without a reload, under their LINE name.
#[tokio::test]
async fn list_shows_new_user_without_reload() {
    scenarios::inbox::new_user_appears_live().await;
}

/// 3. A Japanese reply with Enter is sent exactly once; an Enter confirming an IME conversion
///    sends nothing.
#[tokio::test]
async fn reply_in_japanese_ime_enter_sends_nothing() {
    scenarios::inbox::reply_japanese_ime_enter().await;
}

/// 4. A canned reply through `/`; tags and a note; needs attention, then resolved; a new
///    message reopens it, live.
#[tokio::test]
async fn workflow_canned_tags_note_status_reopen() {
    scenarios::workflow::canned_tags_note_status().await;
}

/// 5. Search finds a message and opens its conversation at that message.
#[tokio::test]
async fn search_opens_conversation_at_hit() {
    scenarios::search::opens_at_hit().await;
}

/// 6. No reply to a user who never wrote or who blocked (with the reason); a group is answered.
#[tokio::test]
async fn composer_disabled_with_reason_and_group_reply() {
    scenarios::cannot_reply::disabled_and_group().await;
}

/// 7. Operators see no admin pages; an admin's bad setting is refused naming its key.
#[tokio::test]
async fn admin_pages_and_settings_error() {
    scenarios::admin::roles_and_settings().await;
}

/// 8. The English switch: labels in English.
#[tokio::test]
async fn english_switch() {
    scenarios::english::switch().await;
}

/// 9. The FAQ: written, tried unsaved, saved and answering customers, edited, deleted; an
///    operator tries messages but has no form.
#[tokio::test]
async fn faq_write_try_save_answer_edit_delete() {
    scenarios::faq::write_try_save_answer_edit_delete().await;
}

pub const ADMIN_TOKEN: &str = crate::operator::ADMIN_TOKEN;
pub const OPERATOR_TOKEN: &str = crate::operator::OPERATOR_TOKEN;

/// Staff as the local server knows them (OPERATOR_TOKENS): alice is an admin, bob an operator.
pub const STAFF: &[(&str, &str, &str)] = &[("alice", "admin", ADMIN_TOKEN), ("bob", "operator", OPERATOR_TOKEN)];

/// The clinic of `fixtures/clinic.toml`, where staff answer by hand at all hours: nothing
/// automatic besides the greeting.
pub const CONSOLE_SETTINGS: &str = concat!(include_str!("../fixtures/clinic.toml"), "[modes]\nalways = \"chat\"\n");

/// The local server with staff tokens, and ways to play LINE's side of a conversation.
pub struct ConsoleApp {
    pub app: LocalTestApp,
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn event_id() -> String {
    format!("ev-{}", uuid::Uuid::new_v4().simple())
}

impl ConsoleApp {
    pub async fn start() -> Self {
        Self { app: LocalTestApp::start_with_staff(CONSOLE_SETTINGS, STAFF).await }
    }

    pub fn console_url(&self) -> String {
        format!("{}/console/", self.app.url)
    }

    /// Opens a fresh browser on the console.
    pub async fn open(&self, scenario: &str) -> Browser {
        open(&self.console_url(), scenario).await
    }

    /// The operator API as `token` sees it.
    pub async fn api(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.app.url);
        let mut request = self.app.client.request(method.parse().unwrap(), url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("local operator API reachable");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// LINE delivers `events` in one signed webhook; the server takes them.
    pub async fn deliver(&self, events: Vec<Value>) {
        let body = json!({ "destination": "U0000000000000000000000000000000d", "events": events }).to_string().into_bytes();
        let (status, answer) = self.app.post(&body, Some(&sign(&body))).await;
        assert_eq!(status, 200, "the webhook took the events: {answer}");
    }

    /// A user writes `text` (now, with a fresh reply token).
    pub async fn user_writes(&self, user: &str, text: &str) {
        self.deliver(vec![text_event(json!({ "type": "user", "userId": user }), text)]).await;
    }

    /// A user adds the account as a friend.
    pub async fn user_follows(&self, user: &str) {
        let mut e = event(json!({ "type": "user", "userId": user }), json!({ "type": "follow", "follow": { "isUnblocked": false } }));
        e["replyToken"] = json!(format!("token-{}", event_id()));
        self.deliver(vec![e]).await;
    }

    /// A user blocks the account (LINE sends `unfollow`, with no reply token).
    pub async fn user_blocks(&self, user: &str) {
        self.deliver(vec![event(json!({ "type": "user", "userId": user }), json!({ "type": "unfollow" }))]).await;
    }

    /// A user's messages `(text, timestamp_ms)`, in one webhook (as LINE batches them).
    pub async fn user_wrote_at(&self, user: &str, messages: &[(&str, i64)]) {
        let source = json!({ "type": "user", "userId": user });
        let events = messages.iter().map(|(text, at)| {
            let mut e = text_event(source.clone(), text);
            e["timestamp"] = json!(at);
            e
        });
        self.deliver(events.collect()).await;
    }

    /// `user` writes `text` in group `group` (`C…`), where the account is a member; returns
    /// the event's reply token.
    pub async fn group_message(&self, group: &str, user: &str, text: &str) -> String {
        let e = text_event(json!({ "type": "group", "groupId": group, "userId": user }), text);
        let token = e["replyToken"].as_str().unwrap().to_owned();
        self.deliver(vec![e]).await;
        token
    }

    /// Every push or reply the stand-in got, with its texts.
    pub fn sent(&self) -> Vec<Sent> {
        self.app.standin.requests().into_iter().filter_map(Sent::from_request).collect()
    }

    /// The pushes and replies that carried `text`.
    pub fn sent_with(&self, text: &str) -> Vec<Sent> {
        self.sent().into_iter().filter(|s| s.texts.iter().any(|t| t == text)).collect()
    }

    /// Waits until a push or reply carrying `text` reached the stand-in (the console sends it
    /// through the API, which sends it to LINE), and returns those requests.
    pub async fn wait_sent(&self, text: &str) -> Vec<Sent> {
        let what = format!("a push or reply with {text:?}");
        self.app
            .standin
            .wait_for(&what, WAIT, |requests| {
                let found: Vec<Sent> =
                    requests.iter().cloned().filter_map(Sent::from_request).filter(|s| s.texts.iter().any(|t| t == text)).collect();
                (!found.is_empty()).then_some(found)
            })
            .await
    }

    /// Creates a canned reply through the API (as admin) and returns its id.
    pub async fn canned(&self, name: &str, text: &str) -> String {
        let (status, made) = self.api(ADMIN_TOKEN, "POST", "/api/canned-replies", Some(json!({ "name": name, "text": text }))).await;
        assert_eq!(status, 201, "canned reply created: {made}");
        made["id"].as_str().unwrap().to_owned()
    }

    /// Creates a tag through the API (as admin) and returns its id.
    pub async fn tag(&self, name: &str) -> String {
        let (status, made) = self.api(ADMIN_TOKEN, "POST", "/api/tags", Some(json!({ "name": name }))).await;
        assert_eq!(status, 201, "tag created: {made}");
        made["id"].as_str().unwrap().to_owned()
    }

    /// The conversation as the API has it (admin).
    pub async fn conversation(&self, id: &str) -> Value {
        let (status, c) = self.api(ADMIN_TOKEN, "GET", &format!("/api/conversations/{id}"), None).await;
        assert_eq!(status, 200, "{id}: {c}");
        c
    }

    /// Polls the API until `check` holds for the conversation (the server's side of a UI action).
    pub async fn wait_conversation(&self, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let what = format!("conversation {id}: {what}");
        crate::support::wait::until(&what, WAIT, || async {
            let c = self.conversation(id).await;
            if check(&c) {
                Ok(c)
            } else {
                Err(c)
            }
        })
        .await
    }
}

/// A push or reply as the stand-in recorded it.
#[derive(Debug, Clone)]
pub struct Sent {
    /// `push` or `reply`.
    pub method: &'static str,
    /// The push's `to` (user, group or room id); `None` for a reply (addressed by its token).
    pub to: Option<String>,
    pub reply_token: Option<String>,
    pub texts: Vec<String>,
    pub status: u16,
    pub violations: Vec<String>,
}

impl Sent {
    fn from_request(r: RecordedRequest) -> Option<Sent> {
        let method = match r.path.as_str() {
            "/v2/bot/message/push" => "push",
            "/v2/bot/message/reply" => "reply",
            _ => return None,
        };
        let body = r.body.unwrap_or(Value::Null);
        let texts = body["messages"].as_array().into_iter().flatten().filter_map(|m| m["text"].as_str().map(str::to_owned)).collect();
        Some(Sent {
            method,
            to: body["to"].as_str().map(str::to_owned),
            reply_token: body["replyToken"].as_str().map(str::to_owned),
            texts,
            status: r.status,
            violations: r.violations,
        })
    }
}

/// A webhook event from `source`, now, with the event-specific `fields`.
fn event(source: Value, fields: Value) -> Value {
    let mut e = json!({
        "webhookEventId": event_id(),
        "deliveryContext": { "isRedelivery": false },
        "timestamp": now_ms(),
        "source": source,
        "mode": "active",
    });
    e.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    e
}

fn text_event(source: Value, text: &str) -> Value {
    let id = uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000_000_000;
    let message = json!({ "type": "text", "id": id.to_string(), "quoteToken": format!("q-{id}"), "text": text });
    let mut e = event(source, json!({ "type": "message", "message": message }));
    e["replyToken"] = json!(format!("token-{}", event_id()));
    e
}

/// An Enter pressed while an IME is composing, as Chromium delivers it (arguments: [css of the
/// field]): compositionstart, keydown `Enter` with `isComposing` and keyCode 229, compositionend.
pub const IME_ENTER: &str = r#"
const field = document.querySelector(arguments[0]);
field.focus();
field.dispatchEvent(new CompositionEvent('compositionstart', { bubbles: true, data: '' }));
const down = new KeyboardEvent('keydown', { key: 'Enter', code: 'Enter', isComposing: true, keyCode: 229, which: 229, bubbles: true, cancelable: true });
if (down.keyCode !== 229) Object.defineProperty(down, 'keyCode', { get: () => 229 });
field.dispatchEvent(down);
field.dispatchEvent(new KeyboardEvent('keyup', { key: 'Enter', code: 'Enter', isComposing: true, keyCode: 229, bubbles: true }));
field.dispatchEvent(new CompositionEvent('compositionend', { bubbles: true, data: '' }));
return true;
"#;

/// A LINE user id: `U` and 32 hex digits.
pub fn user_id(n: u32) -> String {
    format!("U{n:032x}")
}

/// A LINE group id: `C` and 32 hex digits.
pub fn group_id(n: u32) -> String {
    format!("C{n:032x}")
}

/// The console's text for `key` in `lang` (`ja`, `en`), from console/js/locales/: the tests check
/// that the right message shows, not its current wording.
pub fn text(lang: &str, key: &str) -> String {
    let path = crate::support::repo_dir().join(format!("console/js/locales/{lang}.js"));
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let prefix = format!("'{key}': ");
    let line = source.lines().map(str::trim_start).find(|l| l.starts_with(&prefix));
    let line = line.unwrap_or_else(|| panic!("{}: no key {key}", path.display()));
    let value = line[prefix.len()..].trim_end().trim_end_matches(',');
    let quote = value.chars().next().unwrap_or('\'');
    let inner = value.strip_prefix(quote).and_then(|v| v.strip_suffix(quote));
    let inner = inner.unwrap_or_else(|| panic!("{}: {key} is not one string literal: {value}", path.display()));
    inner.replace("\\'", "'").replace("\\\"", "\"").replace("\\n", "\n")
}

pub fn ja(key: &str) -> String {
    text("ja", key)
}

/// Signs in on the sign-in page with `token` and waits for the signed-in header naming `staff`.
pub async fn sign_in(b: &Browser, token: &str, staff: &str) {
    b.set_value("#signin-token", token).await;
    b.click_css("#signin-submit").await;
    b.wait_text("#header-staff", staff).await;
}

/// The list row (a link) of conversation `id` (`user:U…`), by its data attribute.
pub fn row(id: &str) -> String {
    format!("#conversation-list a[data-conversation=\"{id}\"]")
}

/// Opens conversation `id` from the list (a click, as staff do) and waits for its log.
pub async fn open_conversation(b: &Browser, id: &str) {
    // The log shown before the click must not pass for the new one.
    b.js("window.__previousLog = document.getElementById('messages')", vec![]).await;
    b.click_css(&row(id)).await;
    let loaded = "const log = document.getElementById('messages'); return log !== null && log !== window.__previousLog && log.getAttribute('aria-busy') === 'false' && location.hash.includes(arguments[0])";
    b.wait_js(&format!("conversation {id} loaded"), loaded, vec![json!(urlencoded(id))]).await;
}

pub fn urlencoded(s: &str) -> String {
    s.replace(':', "%3A")
}
