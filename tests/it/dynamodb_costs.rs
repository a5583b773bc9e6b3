//! What one inbound message costs on DynamoDB, counted by the DynamoDB-protocol server's request
//! log (`support::request_log`, billed by AWS's rules), through the real use cases and the
//! DynamoDB adapter: the webhook's `Ingest`, then the worker's `Handler` on the record the
//! stream would hand it. Asserted exactly, request by request, so any change in cost shows here
//! and in the README's table ("What DynamoDB costs").

use std::sync::Arc;

use line_oa::domain::ids::ConversationId;
use line_oa::domain::staff::{Role, Staff};
use line_oa::line_api::logging::LoggingLineApi;
use line_oa::line_api::LineApi;
use line_oa::service::operator::PinRequest;
use line_oa::service::{system_clock, HandleOutcome, Service, ServiceParts};
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::{InboundRecord, SendMethod, Store};

use crate::support::apps::{parts, SETTINGS};
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::request_log::{Bill, Meter};
use crate::support::{create_table, dynamo_client, sign};

struct Costs {
    service: Service,
    meter: Meter,
    standin: LineStandin,
}

/// A fresh table; LINE is the stand-in (`sends`), or the logging adapter (no access token).
async fn costs(sends: bool) -> Costs {
    let client = dynamo_client().await;
    let table = create_table(&client).await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client, table.clone()));
    let standin = LineStandin::start(StandinOptions::default()).await;
    let mut parts = parts(store, &standin, SETTINGS, system_clock());
    if !sends {
        parts = ServiceParts { line: Arc::new(LoggingLineApi) as Arc<dyn LineApi>, ..parts };
    }
    let service = parts.build();
    // The settings document is read at most every 10 s per instance, not per message: read now.
    service.operator.settings().await;
    Costs { service, meter: Meter::start(&table).await, standin }
}

/// A text message event shaped as LINE sends it (`events/bodies/text.json`): ids of LINE's
/// lengths, a 64-character quote token, sent just now.
fn line_text(user: &str, n: u32, text: &str) -> Vec<u8> {
    let now = jiff::Timestamp::now().as_millisecond();
    let event = serde_json::json!({
        "type": "message",
        "message": { "type": "text", "id": format!("5604003191418{n:05}"), "quoteToken": format!("{:0<64}", format!("k4sTvy8GEOIbGK4SUPqSeK95GlQU0LkXZZkV_y592xq2_{n}")), "text": text },
        "webhookEventId": format!("01JWQ3AF7CY3Z0WW1W996C{n:04}"),
        "deliveryContext": { "isRedelivery": false },
        "timestamp": now + i64::from(n),
        "source": { "type": "user", "userId": user },
        "replyToken": format!("582b46c6838b3c6db22cbe602af8{n:04}"),
        "mode": "active"
    });
    serde_json::json!({ "destination": "U34137fbc8684fb119f3edea63d23879a", "events": [event] }).to_string().into_bytes()
}

const USER: &str = "Ua10269a8b07da3f27e6e41e18dc2a743";

/// `bill` is exactly these requests, and these totals (so a change in cost fails here).
#[track_caller]
fn assert_bill(what: &str, bill: &Bill, lines: &[&str], wru: f64, rru: f64) {
    assert_eq!(bill.lines(), lines, "{what}:\n{bill}");
    assert_eq!((bill.wru(), bill.rru()), (wru, rru), "{what}:\n{bill}");
}

/// What the worker costs for a message answered automatically (logged or sent alike), in a
/// conversation whose last reply was automatic too.
const ANSWERED: [&str; 5] = [
    "GetItem STATE 1 RRU",
    // The last reply's claim: its outcome is logged, so this decision's write forgets it.
    "GetItem MSG#O 1 RRU",
    // The event, the decision and the claim of its reply in one versioned write. A new message
    // moves the conversation in the activity list: an index delete and put.
    "PutItem STATE 1 WRU + by_activity delete 1 + put 1",
    // The outcome, then the legal-hold check.
    "PutItem MSG#O 1 WRU",
    "GetItem HOLD 1 RRU",
];

/// What the webhook costs for every new event: the conditional put, the legal-hold check.
const WEBHOOK: [&str; 2] = ["PutItem MSG#I 1 WRU", "GetItem HOLD 1 RRU"];

impl Costs {
    /// The webhook logs the body: its bill, and the record the stream hands the worker.
    async fn webhook(&mut self, body: &[u8]) -> (Bill, Option<InboundRecord>) {
        let summary = self.service.ingest.ingest(body, Some(&sign(body))).await.unwrap();
        (self.meter.take().await, summary.logged.into_iter().next())
    }

    /// The worker handles the record: its outcome and bill.
    async fn worker(&mut self, record: &InboundRecord) -> (HandleOutcome, Bill) {
        let outcome = self.service.handler.handle(record).await.unwrap();
        (outcome, self.meter.take().await)
    }

    /// A conversation with one message handled already (the user wrote before).
    async fn established(&mut self) {
        let (_, record) = self.webhook(&line_text(USER, 1, "こんにちは")).await;
        self.worker(&record.unwrap()).await;
    }
}

#[tokio::test]
async fn costs_of_a_first_message_from_a_new_user() {
    let mut c = costs(true).await;
    let (webhook, record) = c.webhook(&line_text(USER, 1, "予約の変更をお願いします")).await;
    let (outcome, worker) = c.worker(&record.unwrap()).await;
    assert_eq!(outcome, HandleOutcome::Sent { method: SendMethod::Reply });
    assert_bill("webhook", &webhook, &WEBHOOK, 1.0, 1.0);
    let worker_lines = [
        "GetItem STATE 1 RRU",
        // A new conversation is unread: its first state changes the inbox counts too, in one
        // transaction (2 units an item), and enters both indexes.
        "TransactWriteItems.Put STATE 2 WRU + by_activity put 1 + conversations put 1",
        "TransactWriteItems.Update INBOX 2 WRU",
        "PutItem MSG#O 1 WRU",
        "GetItem HOLD 1 RRU",
        // The LINE profile, fetched at first contact after the reply, saved.
        "GetItem STATE 1 RRU",
        "PutItem STATE 1 WRU + by_activity update 1",
    ];
    assert_bill("worker", &worker, &worker_lines, 9.0, 3.0);
    c.standin.assert_all_valid();
}

#[tokio::test]
async fn costs_of_a_message_left_to_staff() {
    let mut c = costs(true).await;
    c.established().await;
    let pin: PinRequest = serde_json::from_value(serde_json::json!({ "mode": "chat" })).unwrap();
    let staff = Staff { name: "alice".into(), role: Role::Operator };
    c.service.operator.pin(&ConversationId::user(USER), &pin, &staff).await.unwrap();
    c.meter.take().await;
    let (webhook, record) = c.webhook(&line_text(USER, 2, "予約の変更をお願いします")).await;
    let (outcome, worker) = c.worker(&record.unwrap()).await;
    assert!(matches!(outcome, HandleOutcome::NoReply(_)), "{outcome:?}");
    assert_bill("webhook", &webhook, &WEBHOOK, 1.0, 1.0);
    let worker_lines = ["GetItem STATE 1 RRU", "GetItem MSG#O 1 RRU", "PutItem STATE 1 WRU + by_activity delete 1 + put 1"];
    assert_bill("worker", &worker, &worker_lines, 3.0, 2.0);
}

#[tokio::test]
async fn costs_of_a_message_answered_automatically_and_logged() {
    let mut c = costs(false).await;
    c.established().await;
    let (webhook, record) = c.webhook(&line_text(USER, 2, "予約の変更をお願いします")).await;
    let (outcome, worker) = c.worker(&record.unwrap()).await;
    assert_eq!(outcome, HandleOutcome::Logged);
    assert_bill("webhook", &webhook, &WEBHOOK, 1.0, 1.0);
    assert_bill("worker", &worker, &ANSWERED, 4.0, 3.0);
}

#[tokio::test]
async fn costs_of_a_message_answered_automatically_and_sent() {
    let mut c = costs(true).await;
    c.established().await;
    let (webhook, record) = c.webhook(&line_text(USER, 2, "予約の変更をお願いします")).await;
    let (outcome, worker) = c.worker(&record.unwrap()).await;
    assert_eq!(outcome, HandleOutcome::Sent { method: SendMethod::Reply });
    assert_bill("webhook", &webhook, &WEBHOOK, 1.0, 1.0);
    assert_bill("worker", &worker, &ANSWERED, 4.0, 3.0);
    c.standin.assert_all_valid();
}

#[tokio::test]
async fn costs_of_a_message_answered_automatically_after_staff_read_the_conversation() {
    let mut c = costs(true).await;
    c.established().await;
    c.service.operator.mark_read(&ConversationId::user(USER)).await.unwrap();
    c.meter.take().await;
    let (webhook, record) = c.webhook(&line_text(USER, 2, "予約の変更をお願いします")).await;
    let (outcome, worker) = c.worker(&record.unwrap()).await;
    assert_eq!(outcome, HandleOutcome::Sent { method: SendMethod::Reply });
    assert_bill("webhook", &webhook, &WEBHOOK, 1.0, 1.0);
    let worker_lines = [
        "GetItem STATE 1 RRU",
        "GetItem MSG#O 1 RRU",
        // Unread again: the inbox counts change, in one transaction with the state.
        "TransactWriteItems.Put STATE 2 WRU + by_activity delete 1 + put 1",
        "TransactWriteItems.Update INBOX 2 WRU",
        "PutItem MSG#O 1 WRU",
        "GetItem HOLD 1 RRU",
    ];
    assert_bill("worker", &worker, &worker_lines, 7.0, 3.0);
}

/// A customer's message as long as many are: 56 characters of Japanese (168 bytes).
const BUSY_TEXT: &str = "明日の午後三時に予約をしていたのですが、仕事の都合で行けなくなってしまいました。来週の同じ時間は空いていますか？";

#[tokio::test]
async fn costs_of_a_message_answered_automatically_in_a_busy_conversation() {
    let mut c = costs(true).await;
    c.standin.set_profile(USER, "佐藤 花子");
    // As long as LINE's picture URLs are: they are most of a stored profile.
    c.standin
        .set_picture(USER, "https://profile.line-scdn.net/0hH1DzrT7kGVsOFg4XqEpmDDJTFzZ5OB8TdnEDO3sUEz8tLw8NMHQEPnsRFG0hdVYINHUGOy8WTmwi");
    // Enough messages that the conversation remembers as many events as it keeps, with a LINE
    // profile (a picture URL) and a long last message: a state as big as they commonly get.
    for n in 1..=20 {
        let (_, record) = c.webhook(&line_text(USER, n, BUSY_TEXT)).await;
        c.worker(&record.unwrap()).await;
    }
    let (webhook, record) = c.webhook(&line_text(USER, 21, BUSY_TEXT)).await;
    let (outcome, worker) = c.worker(&record.unwrap()).await;
    assert_eq!(outcome, HandleOutcome::Sent { method: SendMethod::Reply });
    assert_bill("webhook", &webhook, &WEBHOOK, 1.0, 1.0);
    assert_bill("worker", &worker, &ANSWERED, 4.0, 3.0);
    // Under 1 KB, so each of the three writes of the state is one unit (over, each is two).
    let state = worker.0.iter().find(|r| r.op == "PutItem" && r.key.get("sk").is_some_and(|sk| sk == "STATE")).unwrap();
    assert!(state.size <= 1024, "{worker}");
}

#[tokio::test]
async fn costs_of_a_redelivered_duplicate() {
    let mut c = costs(true).await;
    c.established().await;
    let body = line_text(USER, 2, "予約の変更をお願いします");
    let (_, record) = c.webhook(&body).await;
    let record = record.unwrap();
    c.worker(&record).await;
    let (webhook, again) = c.webhook(&body).await;
    assert!(again.is_none(), "a duplicate is not logged again");
    // LINE redelivers: the failed condition costs a write unit, the hold check is repeated.
    assert_bill("webhook", &webhook, &["PutItem MSG#I (ConditionalCheckFailed) 1 WRU", "GetItem HOLD 1 RRU"], 1.0, 1.0);
    // The stream redelivers: the state says it was decided, the log that its reply went out;
    // the outcome is written again, so a legal hold's TTL drop that failed is made good.
    let (outcome, worker) = c.worker(&record).await;
    assert_eq!(outcome, HandleOutcome::AlreadyHandled);
    let worker_lines = ["GetItem STATE 1 RRU", "GetItem MSG#O 1 RRU", "PutItem MSG#O 1 WRU", "GetItem HOLD 1 RRU"];
    assert_bill("worker", &worker, &worker_lines, 1.0, 3.0);
}
