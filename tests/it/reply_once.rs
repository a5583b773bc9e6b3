//! A reply goes out once, and its record tells the truth: when LINE accepted a reply but the
//! connection dropped before its answer, the retry finds the token spent; that is "outcome
//! unknown", never "failed" and never a second copy by push. 429 waits for `Retry-After`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use line_oa::domain::conversation::{ConversationState, ReplyClaim};
use line_oa::domain::event::Event;
use line_oa::domain::ids::{ConversationId, LineId};
use line_oa::domain::outbound::OutboundMessage;
use line_oa::domain::staff::{Role, Staff};
use line_oa::line_api::http::HttpLineApi;
use line_oa::line_api::LineApi;
use line_oa::service::operator::ManualReply;
use line_oa::service::{system_clock, Clock, HandleOutcome, Service, ServiceError, ServiceParts};
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{InboundRecord, LogItem, OutboundRecord, OutboundStatus, PageRequest, SendMethod, Store};
use secrecy::SecretString;

use crate::support::apps::{parts, service, service_with_clock, test_retry, text_body_at};
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
    // before its request went out, one after LINE had accepted it. What such a run leaves is
    // its decision's write: the event applied, the reply claimed, no outcome in the log.
    let mut records = vec![];
    for (n, user) in ["Uorphan1", "Uorphan2"].iter().enumerate() {
        let body = text_body_at(&format!("ev-orphan-{n}"), user, "こんにちは", &format!("rt-orphan-{n}"), now);
        s.service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
        let conversation = ConversationId::user(user);
        let LogItem::In(record) = s.store.log(&conversation, &PageRequest { limit: 1, after: None }).await.unwrap().items.remove(0) else {
            panic!("the event is logged first")
        };
        let mut state = ConversationState::new(conversation);
        state.apply(&Event::from_raw_json(&record.raw).unwrap(), record.timestamp_ms);
        state.replies.push(ReplyClaim { event_id: record.event_id.to_string(), at_ms: record.timestamp_ms, claimed_ms: now - 1_000 });
        s.store.save_conversation(&state).await.unwrap();
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
    for record in &records {
        assert_eq!(restarted.handler.handle(record).await.unwrap(), HandleOutcome::AlreadyHandled, "resolved: nothing more");
    }
    assert_eq!(s.standin.requests().len(), requests.len());
    s.standin.assert_all_valid();
}

/// A clock a test moves on: the system's, plus what the test added.
fn movable_clock() -> (Clock, Arc<AtomicI64>) {
    let ahead = Arc::new(AtomicI64::new(0));
    let offset = ahead.clone();
    (Arc::new(move || jiff::Timestamp::now().as_millisecond() + offset.load(Ordering::SeqCst)), ahead)
}

/// The first logged event of `user`'s conversation.
async fn first_logged(store: &Arc<dyn Store>, user: &str) -> InboundRecord {
    let page = store.log(&ConversationId::user(user), &PageRequest { limit: 1, after: None }).await.unwrap();
    let Some(LogItem::In(record)) = page.items.into_iter().next() else { panic!("{user}: the event is logged first") };
    record
}

/// Two workers handle the same record at once (the stream delivering it twice, or a retry after
/// a timeout while the first still runs): the decision's versioned write claims the reply for
/// one; the other finds the claim and does not send.
async fn two_handlers_of_one_record_at_once_send_one_reply(store: Arc<dyn Store>) {
    let standin = LineStandin::start(StandinOptions { delay: Duration::from_millis(300), ..StandinOptions::default() }).await;
    let service = service(store.clone(), &standin, PUSH_FALLBACK);
    let now = jiff::Timestamp::now().as_millisecond();
    let body = text_body_at("ev-twice-1", "Utwice", "こんにちは", "rt-twice-1", now);
    service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    let record = first_logged(&store, "Utwice").await;
    let (a, b) = tokio::join!(service.handler.handle(&record), service.handler.handle(&record));
    let sent = [&a, &b].iter().filter(|r| matches!(r, Ok(HandleOutcome::Sent { .. }))).count();
    let waiting = [&a, &b].iter().filter(|r| matches!(r, Err(ServiceError::InFlight(_)))).count();
    assert_eq!((sent, waiting), (1, 1), "one sends, the other finds its claim: {a:?} {b:?}");
    assert_eq!(delivered(&standin.requests()), 1);
    // The stream tries the other again later: done.
    assert_eq!(service.handler.handle(&record).await.unwrap(), HandleOutcome::AlreadyHandled);
    assert_eq!(standin.requests().len(), 1, "one reply request in all");
    let out = outbound(&store, &record.conversation).await;
    assert_eq!(out.iter().map(|o| o.status).collect::<Vec<_>>(), [OutboundStatus::Sent]);
    // The next decision finds the outcome logged and forgets the claim in its own write.
    let body = text_body_at("ev-twice-2", "Utwice", "もう一つ", "rt-twice-2", now + 1);
    service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    let second =
        store.log(&record.conversation, &PageRequest { limit: 10, after: None }).await.unwrap().items.into_iter().find_map(|i| match i {
            LogItem::In(r) if r.event_id.as_str() == "ev-twice-2" => Some(r),
            _ => None,
        });
    assert_eq!(service.handler.handle(&second.unwrap()).await.unwrap(), HandleOutcome::Sent { method: SendMethod::Reply });
    let state = store.conversation(&record.conversation).await.unwrap().unwrap();
    assert_eq!(state.replies.iter().map(|c| c.event_id.as_str()).collect::<Vec<_>>(), ["ev-twice-2"]);
    standin.assert_all_valid();
}

/// A worker claimed the reply and stopped (killed, timed out) after LINE had accepted it, before
/// recording the outcome. A later run finds the claim: within the lease it waits; after it, it
/// tries the token once more, finds it spent and records "outcome unknown": never a second copy,
/// push fallback or not.
async fn a_handler_stopped_after_its_claim_is_not_followed_by_a_second_reply(store: Arc<dyn Store>) {
    let standin = LineStandin::start(StandinOptions { delay: Duration::from_millis(500), ..StandinOptions::default() }).await;
    let (clock, ahead) = movable_clock();
    let service = service_with_clock(store.clone(), &standin, PUSH_FALLBACK, clock);
    let now = jiff::Timestamp::now().as_millisecond();
    let body = text_body_at("ev-stopped-1", "Ustopped", "こんにちは", "rt-stopped-1", now);
    service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    let record = first_logged(&store, "Ustopped").await;
    // Stopped while its reply is at LINE (which still takes it, as LINE does).
    let stopped = tokio::time::timeout(Duration::from_millis(200), service.handler.handle(&record)).await;
    assert!(stopped.is_err(), "the handler was still sending: {stopped:?}");
    standin.wait_for_requests(1, Duration::from_secs(10)).await;
    standin.set_delay(Duration::ZERO);
    let state = store.conversation(&record.conversation).await.unwrap().unwrap();
    assert!(state.reply_claim("ev-stopped-1").is_some(), "the decision's write claimed the reply: {state:?}");
    assert!(outbound(&store, &record.conversation).await.is_empty(), "no outcome was recorded");
    // The stream retries at once: the claim is young, maybe still sending elsewhere.
    let waited = service.handler.handle(&record).await;
    assert!(matches!(waited, Err(ServiceError::InFlight(_))), "{waited:?}");
    // Retried after the lease: the token is spent, so the outcome is unknown; nothing is pushed.
    ahead.store(130_000, Ordering::SeqCst);
    let resumed = service.handler.handle(&record).await.unwrap();
    assert!(matches!(resumed, HandleOutcome::OutcomeUnknown(_)), "{resumed:?}");
    assert_eq!(service.handler.handle(&record).await.unwrap(), HandleOutcome::AlreadyHandled);
    let requests = standin.requests();
    assert_eq!(delivered(&requests), 1, "the customer got one reply: {requests:?}");
    assert_eq!(pushes(&requests), 0, "a spent token after an interrupted attempt is never followed by a push");
    let out = outbound(&store, &record.conversation).await;
    assert_eq!(out.iter().map(|o| o.status).collect::<Vec<_>>(), [OutboundStatus::Unknown], "{out:?}");
    standin.assert_all_valid();
}

/// A claim no run ever came back to (a stream record given up on): a day on, the
/// conversation's next decision records it "outcome unknown" and forgets it, sending nothing
/// for it; a late run of its event finds that outcome.
async fn a_claim_abandoned_for_a_day_is_recorded_unknown_by_the_next_decision(store: Arc<dyn Store>) {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let service = service(store.clone(), &standin, PUSH_FALLBACK);
    let now = jiff::Timestamp::now().as_millisecond();
    let day = 24 * 3_600_000;
    let body = text_body_at("ev-abandoned-1", "Uabandoned", "こんにちは", "rt-abandoned-1", now - day - 60_000);
    service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    let first = first_logged(&store, "Uabandoned").await;
    let mut state = ConversationState::new(first.conversation.clone());
    state.apply(&Event::from_raw_json(&first.raw).unwrap(), first.timestamp_ms);
    state.replies.push(ReplyClaim { event_id: first.event_id.to_string(), at_ms: first.timestamp_ms, claimed_ms: now - day - 1 });
    store.save_conversation(&state).await.unwrap();
    let body = text_body_at("ev-abandoned-2", "Uabandoned", "まだですか", "rt-abandoned-2", now);
    let second = service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap().logged.remove(0);
    assert_eq!(service.handler.handle(&second).await.unwrap(), HandleOutcome::Sent { method: SendMethod::Reply });
    let out = outbound(&store, &first.conversation).await;
    let statuses: Vec<_> = out.iter().map(|o| (o.id.as_str(), o.status)).collect();
    assert_eq!(statuses, [("ev-abandoned-1", OutboundStatus::Unknown), ("ev-abandoned-2", OutboundStatus::Sent)], "{out:?}");
    let state = store.conversation(&first.conversation).await.unwrap().unwrap();
    assert_eq!(state.replies.iter().map(|c| c.event_id.as_str()).collect::<Vec<_>>(), ["ev-abandoned-2"]);
    assert_eq!(service.handler.handle(&first).await.unwrap(), HandleOutcome::AlreadyHandled);
    assert_eq!(delivered(&standin.requests()), 1, "only the second message was answered");
    standin.assert_all_valid();
}

macro_rules! reply_once_suite {
    ($adapter:ident, $make:path) => {
        mod $adapter {
            #[tokio::test]
            async fn two_handlers_of_one_record_at_once_send_one_reply() {
                super::two_handlers_of_one_record_at_once_send_one_reply($make().await).await
            }
            #[tokio::test]
            async fn a_claim_abandoned_for_a_day_is_recorded_unknown_by_the_next_decision() {
                super::a_claim_abandoned_for_a_day_is_recorded_unknown_by_the_next_decision($make().await).await
            }
            #[tokio::test]
            async fn a_handler_stopped_after_its_claim_is_not_followed_by_a_second_reply() {
                super::a_handler_stopped_after_its_claim_is_not_followed_by_a_second_reply($make().await).await
            }
        }
    };
}

reply_once_suite!(embedded, crate::contract::embedded_store);
reply_once_suite!(dynamodb, crate::contract::dynamo_store);
