//! A reply goes out once, and its record tells the truth: when LINE accepted a reply but the
//! connection dropped before its answer, the retry finds the token spent; that is "outcome
//! unknown", never "failed" and never a second copy by push. 429 waits for `Retry-After`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use line_oa::domain::ids::{ConversationId, LineId};
use line_oa::domain::outbound::OutboundMessage;
use line_oa::domain::staff::{Role, Staff};
use line_oa::line_api::http::HttpLineApi;
use line_oa::line_api::LineApi;
use line_oa::service::operator::ManualReply;
use line_oa::service::{system_clock, HandleOutcome, Service, ServiceParts};
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{LogItem, OutboundRecord, OutboundStatus, PageRequest, SendMethod, Store};
use secrecy::SecretString;

use crate::support::apps::{parts, service, test_retry, text_body_at};
use crate::support::line_standin::{LineStandin, RecordedRequest, StandinOptions};
use crate::support::sign;

/// The clinic (`fixtures/clinic.toml`), falling back to a push when a reply token is refused.
const PUSH_FALLBACK: &str = concat!(include_str!("fixtures/clinic.toml"), "[reply]\npush_fallback = true\n");

struct Setup {
    service: Service,
    store: Arc<dyn Store>,
    standin: LineStandin,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    Setup { service: service(store.clone(), &standin, PUSH_FALLBACK), store, standin, _dir: dir }
}

/// Message requests LINE accepted: what the customer received.
fn delivered(requests: &[RecordedRequest]) -> usize {
    requests.iter().filter(|r| r.status == 200 && r.path.starts_with("/v2/bot/message/")).count()
}

fn pushes(requests: &[RecordedRequest]) -> usize {
    requests.iter().filter(|r| r.path == "/v2/bot/message/push").count()
}

async fn outbound(store: &Arc<dyn Store>, conversation: &ConversationId) -> Vec<OutboundRecord> {
    let page = store.log(conversation, &PageRequest { limit: 100, after: None }).await.unwrap();
    page.items.into_iter().filter_map(|i| if let LogItem::Out(o) = i { Some(o) } else { None }).collect()
}

#[tokio::test]
async fn an_automatic_reply_whose_answer_was_lost_is_recorded_unknown_and_never_pushed() {
    let s = setup().await;
    let now = jiff::Timestamp::now().as_millisecond();
    let body = text_body_at("ev-lost-1", "Ulost1", "こんにちは", "rt-lost-1", now);
    s.service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    let conversation = ConversationId::user("Ulost1");
    let LogItem::In(record) = s.store.log(&conversation, &PageRequest { limit: 1, after: None }).await.unwrap().items.remove(0) else {
        panic!("the event is logged first")
    };
    s.standin.drop_after_accept(1);
    let outcome = s.service.handler.handle(&record).await.unwrap();
    assert!(matches!(outcome, HandleOutcome::OutcomeUnknown(_)), "{outcome:?}");
    let requests = s.standin.requests();
    assert_eq!(delivered(&requests), 1, "the customer got exactly one message: {requests:?}");
    assert_eq!(pushes(&requests), 0, "push fallback is on, and still nothing is pushed");
    let out = outbound(&s.store, &conversation).await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, OutboundStatus::Unknown, "{out:?}");
    assert!(out[0].reason.contains("outcome unknown"), "{}", out[0].reason);
    // Handled again (a redelivered stream record): nothing more goes out.
    assert_eq!(s.service.handler.handle(&record).await.unwrap(), HandleOutcome::AlreadyHandled);
    assert_eq!(delivered(&s.standin.requests()), 1);
    s.standin.assert_all_valid();
}

#[tokio::test]
async fn a_manual_reply_whose_answer_was_lost_is_recorded_unknown_and_never_pushed() {
    let s = setup().await;
    let now = jiff::Timestamp::now().as_millisecond();
    // A user writes while the bot is pinned off: the reply token stays for staff.
    let conversation = ConversationId::user("Ulost2");
    let body = text_body_at("ev-lost-2", "Ulost2", "予約の変更をお願いします", "rt-lost-2", now);
    s.service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    let pin: line_oa::service::operator::PinRequest = serde_json::from_value(serde_json::json!({ "mode": "chat" })).unwrap();
    let staff = Staff { name: "alice".into(), role: Role::Operator };
    let LogItem::In(record) = s.store.log(&conversation, &PageRequest { limit: 1, after: None }).await.unwrap().items.remove(0) else {
        panic!("the event is logged first")
    };
    // Handle it first (creating the conversation), then pin, as staff would before answering.
    s.service.handler.handle(&record).await.unwrap();
    s.service.operator.pin(&conversation, &pin, &staff).await.unwrap();
    let before = s.standin.requests().len();
    // A second message, answered by nobody: its token is open for staff.
    let body = text_body_at("ev-lost-3", "Ulost2", "いつ空いてますか", "rt-lost-3", now + 1);
    s.service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    let page = s.store.log(&conversation, &PageRequest { limit: 100, after: None }).await.unwrap();
    let second = page.items.into_iter().find_map(|i| match i {
        LogItem::In(r) if r.event_id.as_str() == "ev-lost-3" => Some(r),
        _ => None,
    });
    s.service.handler.handle(&second.unwrap()).await.unwrap();
    assert_eq!(s.standin.requests().len(), before, "pinned to chat: no automatic reply");

    s.standin.drop_after_accept(1);
    let request: ManualReply = serde_json::from_value(
        serde_json::json!({ "messages": [{ "type": "text", "text": "明日の10時はいかがですか" }], "client_id": "m-1" }),
    )
    .unwrap();
    let record = s.service.operator.send_manual(&conversation, &request, &staff).await.unwrap();
    assert_eq!((record.status, record.method.as_str()), (OutboundStatus::Unknown, "push"), "{record:?}");
    let requests = &s.standin.requests()[before..];
    let replies: Vec<_> = requests.iter().filter(|r| r.path == "/v2/bot/message/reply").collect();
    assert_eq!(replies.len(), 2, "the first was accepted, its answer lost; the retry found the token spent: {requests:?}");
    assert_eq!(delivered(requests), 1, "exactly one message reached the customer");
    assert_eq!(pushes(requests), 0, "no second copy by push");
    // The same request again (a double click, a retry): the record, nothing sent.
    let again = s.service.operator.send_manual(&conversation, &request, &staff).await.unwrap();
    assert_eq!(again.status, OutboundStatus::Unknown);
    assert_eq!(s.standin.requests().len(), before + 2);
    s.standin.assert_all_valid();
}

#[tokio::test]
async fn a_429_is_retried_after_the_wait_line_asks_for() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let line = HttpLineApi::new(&standin.base_url(), SecretString::from("it-access-token"), test_retry());
    standin.rate_limit_next(1, 1);
    let started = Instant::now();
    line.push(&LineId::new("U429"), &[OutboundMessage::text("こんにちは")], uuid::Uuid::new_v4()).await.expect("sent after the wait");
    assert!(started.elapsed() >= Duration::from_secs(1), "waited for Retry-After: {:?}", started.elapsed());
    let requests = standin.requests();
    assert_eq!(requests.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 200]);
    // A wait longer than a reply token lives is not waited for: the 429 is the answer.
    standin.rate_limit_next(1, 3600);
    let refused = line.push(&LineId::new("U429"), &[OutboundMessage::text("again")], uuid::Uuid::new_v4()).await.unwrap_err();
    assert!(refused.to_string().contains("429"), "{refused}");
    assert_eq!(standin.requests().len(), 3);
}

#[tokio::test]
async fn a_claim_left_by_an_earlier_run_of_the_local_server_is_resolved_at_once_not_waited_out() {
    let s = setup().await;
    let now = jiff::Timestamp::now().as_millisecond();
    // Two events whose replies a run claimed a second ago and was killed before finishing: one
    // before its request went out, one after LINE had accepted it.
    let mut records = vec![];
    for (n, user) in ["Uorphan1", "Uorphan2"].iter().enumerate() {
        let body = text_body_at(&format!("ev-orphan-{n}"), user, "こんにちは", &format!("rt-orphan-{n}"), now);
        s.service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
        let conversation = ConversationId::user(user);
        let LogItem::In(record) = s.store.log(&conversation, &PageRequest { limit: 1, after: None }).await.unwrap().items.remove(0) else {
            panic!("the event is logged first")
        };
        let claim = OutboundRecord {
            conversation,
            id: record.event_id.to_string(),
            timestamp_ms: record.timestamp_ms,
            created_ms: now - 1_000,
            method: SendMethod::Reply,
            messages: "[]".into(),
            status: OutboundStatus::Sending,
            reason: "default response".into(),
            expires_at: None,
        };
        s.store.claim_outbound(&claim).await.unwrap();
        records.push(record);
    }
    let line = HttpLineApi::new(&s.standin.base_url(), SecretString::from("it-access-token"), test_retry());
    line.reply(&line_oa::domain::ids::ReplyToken::new("rt-orphan-1"), &[OutboundMessage::text("ただいま確認しております。")])
        .await
        .unwrap();
    // Anywhere else (Lambda) a young claim may be another worker's, sending now: waited out.
    let waited = s.service.handler.handle(&records[0]).await;
    assert!(matches!(waited, Err(line_oa::service::ServiceError::InFlight(_))), "{waited:?}");
    // The local server is the store's only process: a claim from before it started is an orphan.
    let restarted = ServiceParts { started_ms: Some(now), ..parts(s.store.clone(), &s.standin, PUSH_FALLBACK, system_clock()) }.build();
    let sent = restarted.handler.handle(&records[0]).await.unwrap();
    assert_eq!(sent, HandleOutcome::Sent { method: SendMethod::Reply });
    let spent = restarted.handler.handle(&records[1]).await.unwrap();
    assert!(matches!(spent, HandleOutcome::OutcomeUnknown(_)), "{spent:?}");
    let requests = s.standin.requests();
    assert_eq!(delivered(&requests), 2, "each customer got one reply: {requests:?}");
    assert_eq!(pushes(&requests), 0, "the spent token is not followed by a push");
    s.standin.assert_all_valid();
}
