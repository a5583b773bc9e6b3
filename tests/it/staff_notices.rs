//! Staff notices wired into the service: who is told, when, and the one reminder; on both
//! stores, with the LINE stand-in, a capturing notifier and a clock the test moves.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use line_oa::domain::ids::ConversationId;
use line_oa::domain::notice::{NoticeKind, RenotifyDelay};
use line_oa::domain::staff::{Role, Staff};
use line_oa::line_api::http::HttpLineApi;
use line_oa::notify::NotifyConfig;
use line_oa::service::operator::ManualReply;
use line_oa::service::{Service, ServiceParts};
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{LogItem, PageRequest, Store};
use secrecy::SecretString;

use crate::support::apps::{test_config, test_retry, text_body_at};
use crate::support::captured_notices::Captured;
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::{create_table, dynamo_client, sign};

const T0: i64 = 1_795_000_000_000;
const MINUTE: i64 = 60_000;

const CHAT_ALWAYS: &str = "[modes]\nalways = \"chat\"\n";

struct Setup {
    service: Service,
    store: Arc<dyn Store>,
    notices: Arc<Captured>,
    now: Arc<AtomicI64>,
    standin: LineStandin,
    _dir: Option<tempfile::TempDir>,
}

async fn setup(store: Arc<dyn Store>, dir: Option<tempfile::TempDir>, settings: &str) -> Setup {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let config = test_config(&standin, settings);
    let now = Arc::new(AtomicI64::new(T0));
    let clock_now = now.clone();
    let notices = Arc::new(Captured::default());
    let line = HttpLineApi::new(&standin.base_url(), SecretString::from("it-access-token"), test_retry());
    let notify_config = NotifyConfig { renotify: RenotifyDelay::After { minutes: 30 }, ..Default::default() };
    let service = ServiceParts {
        notifier: notices.clone(),
        notify: notify_config,
        ..ServiceParts::new(
            config.verifier,
            store.clone(),
            Arc::new(line),
            config.settings,
            365,
            Arc::new(move || clock_now.load(Ordering::SeqCst)),
        )
    }
    .build();
    Setup { service, store, notices, now, standin, _dir: dir }
}

impl Setup {
    async fn writes(&self, user: &str, text: &str, event_id: &str, at_ms: i64) {
        let body = text_body_at(event_id, user, text, &format!("token-{event_id}"), at_ms);
        self.service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
        let page = self.store.log(&ConversationId::user(user), &PageRequest { limit: 1000, after: None }).await.unwrap();
        for item in page.items {
            if let LogItem::In(r) = item {
                if r.event_id.as_str() == event_id {
                    self.service.handler.handle(&r).await.unwrap();
                }
            }
        }
    }

    fn at(&self, ms: i64) {
        self.now.store(ms, Ordering::SeqCst);
    }
}

async fn embedded() -> (Arc<dyn Store>, Option<tempfile::TempDir>) {
    let dir = tempfile::tempdir().unwrap();
    (Arc::new(EmbeddedStore::open(dir.path()).unwrap()), Some(dir))
}

async fn dynamo() -> (Arc<dyn Store>, Option<tempfile::TempDir>) {
    let client = dynamo_client().await;
    let table = create_table(&client).await;
    (Arc::new(DynamoStore::new(client, table)), None)
}

async fn a_chat_message_notifies_once_per_need_and_reminds_once((store, dir): (Arc<dyn Store>, Option<tempfile::TempDir>)) {
    let s = setup(store, dir, CHAT_ALWAYS).await;
    s.writes("Ua", "予約の相談です", "ev-a1", T0).await;
    let first = s.notices.taken();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!((first[0].kind, first[0].reason.as_str()), (NoticeKind::NeedsAttention, "chat_hours"));
    assert_eq!(first[0].event_id.as_deref(), Some("ev-a1"));
    assert!(!first[0].payload_json().contains("予約"), "the user's text never goes into a notice");

    // More messages while the first is unanswered: no new notice.
    s.at(T0 + MINUTE);
    s.writes("Ua", "まだですか", "ev-a2", T0 + MINUTE).await;
    assert!(s.notices.taken().is_empty());

    // A redelivered stream record of the first event notifies nothing again.
    let page = s.store.log(&ConversationId::user("Ua"), &PageRequest { limit: 10, after: None }).await.unwrap();
    if let LogItem::In(r) = &page.items[0] {
        s.service.handler.handle(r).await.unwrap();
    }
    assert!(s.notices.taken().is_empty());

    // Not yet due; then due: one reminder; then never again.
    s.at(T0 + 10 * MINUTE);
    assert_eq!(s.service.notices.renotify_sweep().await.unwrap(), 0);
    s.at(T0 + 31 * MINUTE);
    assert_eq!(s.service.notices.renotify_sweep().await.unwrap(), 1);
    let reminder = s.notices.taken();
    assert_eq!((reminder.len(), reminder[0].kind), (1, NoticeKind::Renotify));
    s.at(T0 + 90 * MINUTE);
    assert_eq!(s.service.notices.renotify_sweep().await.unwrap(), 0, "reminded once only");

    // A conversation staff answered is not reminded; a new message after the answer notifies again.
    s.at(T0 + 100 * MINUTE);
    s.writes("Ub", "質問があります", "ev-b1", T0 + 100 * MINUTE).await;
    assert_eq!(s.notices.taken().len(), 1);
    s.at(T0 + 101 * MINUTE);
    let staff = Staff { name: "alice".into(), role: Role::Operator };
    let reply: ManualReply = serde_json::from_value(serde_json::json!({ "messages": [{ "type": "text", "text": "どうぞ" }] })).unwrap();
    s.service.operator.send_manual(&ConversationId::user("Ub"), &reply, &staff).await.unwrap();
    s.at(T0 + 140 * MINUTE);
    assert_eq!(s.service.notices.renotify_sweep().await.unwrap(), 0, "answered: no reminder");
    s.writes("Ub", "追加の質問です", "ev-b2", T0 + 141 * MINUTE).await;
    assert_eq!(s.notices.taken().len(), 1, "a new need after the answer");
    s.standin.assert_all_valid();
}

#[tokio::test]
async fn a_chat_message_notifies_once_per_need_and_reminds_once_on_the_embedded_store() {
    a_chat_message_notifies_once_per_need_and_reminds_once(embedded().await).await;
}

#[tokio::test]
async fn a_chat_message_notifies_once_per_need_and_reminds_once_on_dynamodb() {
    a_chat_message_notifies_once_per_need_and_reminds_once(dynamo().await).await;
}

#[tokio::test]
async fn a_failed_automatic_reply_and_a_complaint_notify_staff() {
    let (store, dir) = embedded().await;
    let settings = "[modes]\nalways = \"auto_response\"\n[default_response]\nonce_per = \"every_message\"\nmessages = [{ type = \"text\", text = \"確認します\" }]\n";
    let s = setup(store, dir, settings).await;
    // LINE refuses the reply (a 400 other than an invalid token): flagged and notified.
    s.standin.fail_next(400, 1);
    s.writes("Uf", "こんにちは", "ev-f1", T0).await;
    let notices = s.notices.taken();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].reason, "reply_failed");

    let (store, dir) = embedded().await;
    let s = setup(store, dir, "[modes]\nalways = \"ai_response\"\n").await;
    s.writes("Uc", "対応がひどすぎます。責任者を出してください。", "ev-c1", T0).await;
    let notices = s.notices.taken();
    assert_eq!(notices.iter().map(|n| n.reason.as_str()).collect::<Vec<_>>(), ["complaint"]);
}

#[tokio::test]
async fn the_worker_runs_the_scheduled_reminder_task_and_refuses_unknown_input() {
    let (store, dir) = embedded().await;
    let s = setup(store, dir, CHAT_ALWAYS).await;
    s.writes("Uw", "もしもし", "ev-w1", T0).await;
    s.notices.taken();
    s.at(T0 + 31 * MINUTE);
    let worker = crate::support::apps::worker(s.service.clone(), line_oa::metrics::Metrics::off());
    let out = line_oa::lambda::worker::handle_worker_event(&worker, serde_json::json!({ "task": "renotify" })).await.unwrap();
    assert_eq!(out["reminders"], 1);
    assert_eq!(s.notices.taken()[0].kind, NoticeKind::Renotify);
    let err = line_oa::lambda::worker::handle_worker_event(&worker, serde_json::json!({ "hello": 1 })).await.unwrap_err();
    assert!(err.to_string().contains("not a DynamoDB Stream batch"), "{err}");
    let empty = line_oa::lambda::worker::handle_worker_event(&worker, serde_json::json!({ "Records": [] })).await.unwrap();
    assert_eq!(empty["batchItemFailures"], serde_json::json!([]));
}
