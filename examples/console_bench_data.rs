//! Seeds a store for the console benchmark (`bench/console/run.sh`), and measures what the
//! console's idle poll costs in DynamoDB requests.
//!
//! The data: `--conversations` conversations (users, a few groups and rooms) with realistic
//! states: LINE profile names (Japanese), a staff-given name now and then, Japanese previews,
//! a mix of unread, needs attention (with a reason), resolved and spam, activity spread over 90
//! days; each has its last message (and for some an automatic reply) in its log. One more
//! conversation, the newest activity of all (the list's first row), holds `--messages` log
//! items: inbound texts and stickers, automatic and manual replies, about 7 minutes apart. All
//! of it goes straight through the Store port (`save_conversation`, `put_inbound`,
//! `claim_outbound`) with many writes in flight: the embedded store group-commits them.
//! Deterministic apart from "now", which the times are relative to.
//!
//!     console_bench_data --data-dir DIR [--conversations 10000] [--messages 5000]
//!     console_bench_data --dynamo-endpoint http://127.0.0.1:PORT --table NAME [--create-table]
//!                        [--conversations 10000] [--messages 5000] [--logs all|long] [--no-seed] [--measure]
//!
//! `--logs long` writes the short conversations' states but not their one or two log items:
//! no measured read touches those partitions, and moto takes minutes for them.
//!
//! Prints one JSON object on stdout: the long conversation's id and its newest message, and,
//! with `--measure` (DynamoDB only), every DynamoDB request each of these made, counted
//! in-process by an interceptor on the SDK client (`read_before_transmit`: one per request
//! sent, named by its `X-Amz-Target`; `read_after_deserialization`: the response's size and
//! the items it carried):
//! - the Store port: `inbox()` (what `GET /api/inbox` reads), the tail read of the open
//!   conversation (`log` after its newest sort key, limit 100), and a naive poll
//!   (`conversations_by_activity`, limit 50: the list's first page again);
//! - the operator API in-process (the real router over the same store): `GET /api/inbox`,
//!   `GET /api/conversations/{id}/messages?after=<newest cursor>&limit=50` (the console's tail
//!   poll), `GET /api/me` (every sixth inbox poll) and `GET /api/conversations?limit=50`.
//!
//! Read capacity is worked out from the items read, as DynamoDB bills it (moto's
//! ConsumedCapacity is a constant per operation): item size by DynamoDB's rules (names + values,
//! numbers by significant digits, 3 bytes per map or list plus 1 per element); a GetItem costs
//! its item rounded up to 4 KB, a Query the sum of its items rounded up to 4 KB, at least one
//! unit; eventually consistent reads (GSI queries always) half a unit per 4 KB, strongly
//! consistent a whole one.
//!
//! On the embedded store, seeded inbound events are marked handled (as the worker would), so the
//! server started on the directory has no events to handle; it archives the seeded log on its
//! first pass, and run.sh waits until that is done before measuring.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::{AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::AttributeValue;
use line_oa::domain::conversation::{ConversationState, UserProfile};
use line_oa::domain::event::Mode;
use line_oa::domain::ids::{ConversationId, EventId};
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{
    log_sort_key, Conversations, EventLog, InboundRecord, LogItem, OutboundRecord, OutboundStatus, PageRequest, SendMethod, Store,
    StoreError, WorkQueue,
};
use serde_json::{json, Value};
use tokio::task::JoinSet;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const FAMILY: &[&str] = &[
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
];
const GIVEN: &[&str] =
    &["陽菜", "結衣", "さくら", "美咲", "葵", "凛", "大翔", "蓮", "悠真", "湊", "健太", "翔太", "あかり", "ゆき", "Yuki", "Ken"];
const TEXTS: &[&str] = &[
    "こんにちは！予約をお願いしたいのですが、明日の午後は空いていますか？",
    "営業時間は何時までですか",
    "ありがとうございました。また利用します😊",
    "駐車場はありますか？車で伺う予定です。",
    "キャンセルしたいです。すみません、急用ができてしまって…",
    "クーポンは併用できますか？\n店頭で見せればいいですか",
    "商品がまだ届いていません。注文番号は48213です。確認していただけますか？",
    "了解です",
    "土曜日に予約を変更できますか？",
    "祝日も営業していますか？",
    "4名で今夜19時に席はありますか？",
    "領収書を発行していただくことは可能でしょうか。宛名は株式会社サンプルでお願いします。",
    "担当者と話したいです",
    "Hi, do you have any tables for 4 people tonight at 7pm?",
];
const AUTO_REPLIES: &[&str] = &[
    "お問い合わせありがとうございます。担当者より折り返しご連絡いたします。",
    "営業時間は10:00〜20:00です（水曜定休）。",
    "ただいま営業時間外です。明日10時以降に順次ご返信いたします。",
];
const MANUAL_REPLIES: &[&str] = &[
    "お待たせしました。明日の14時でご予約をお取りしました。",
    "確認いたします。少々お待ちください。",
    "ご不便をおかけして申し訳ございません。本日中に発送いたします。",
    "はい、併用いただけます。店頭でこの画面をお見せください。",
];
const STAFF: &[&str] = &["佐藤", "alice", "田中"];
const ATTENTION: &[&str] = &["keyword: 担当者", "out of hours", "complaint: 届いていません", "unanswered for 30 minutes"];
const DAY_MS: i64 = 86_400_000;
const SPREAD_MS: i64 = 90 * DAY_MS;
/// Time between two items of the long conversation.
const STEP_MS: i64 = 7 * 60_000;
const TTL_S: i64 = 400 * 86_400;

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.below(of.len() as u64) as usize]
    }
    /// True with probability `percent` %.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(1000) < percent * 10
    }
}

/// One conversation's state and its log.
struct Seeded {
    state: ConversationState,
    inbound: Vec<InboundRecord>,
    outbound: Vec<OutboundRecord>,
}

fn event_id(conv: u64, n: u64) -> String {
    format!("01CB{conv:010}{n:012}")
}

fn inbound(id: &ConversationId, user: &str, ev: String, ts: i64, rng: &mut Rng) -> (InboundRecord, String) {
    let sticker = rng.chance(8);
    let text = rng.pick(TEXTS);
    let message = if sticker {
        json!({"type": "sticker", "id": format!("m{ev}"), "quoteToken": format!("q{ev}"), "packageId": "446", "stickerId": "1988", "stickerResourceType": "STATIC"})
    } else {
        json!({"type": "text", "id": format!("m{ev}"), "quoteToken": format!("q{ev}"), "text": text})
    };
    let source = match id.as_str().split_once(':') {
        Some(("group", g)) => json!({"type": "group", "groupId": g, "userId": user}),
        Some(("room", r)) => json!({"type": "room", "roomId": r, "userId": user}),
        _ => json!({"type": "user", "userId": user}),
    };
    let raw = json!({
        "type": "message", "mode": "active", "timestamp": ts, "webhookEventId": ev,
        "deliveryContext": {"isRedelivery": false}, "replyToken": format!("rt{ev}"),
        "source": source, "message": message,
    });
    let record = InboundRecord {
        conversation: id.clone(),
        event_id: EventId::new(ev),
        timestamp_ms: ts,
        received_ms: ts + 40,
        event_type: "message".into(),
        message_type: Some(if sticker { "sticker" } else { "text" }.into()),
        user_id: Some(user.to_owned()),
        mode: Mode::Active,
        is_redelivery: false,
        raw: raw.to_string(),
        expires_at: Some(ts / 1000 + TTL_S),
    };
    (record, if sticker { "[sticker]".to_owned() } else { text.to_owned() })
}

fn reply(id: &ConversationId, reply_id: String, ts: i64, manual: bool, rng: &mut Rng) -> (OutboundRecord, String) {
    let (text, reason) = if manual {
        (rng.pick(MANUAL_REPLIES), format!("manual reply by {}", rng.pick(STAFF)))
    } else {
        (rng.pick(AUTO_REPLIES), "auto_response: text message: keyword \"営業時間\"".to_owned())
    };
    let record = OutboundRecord {
        conversation: id.clone(),
        id: reply_id,
        timestamp_ms: ts,
        created_ms: ts + 900,
        method: if manual { SendMethod::Push } else { SendMethod::Reply },
        messages: json!([{"type": "text", "text": text}]).to_string(),
        status: OutboundStatus::Sent,
        reason,
        expires_at: Some(ts / 1000 + TTL_S),
    };
    (record, text.to_owned())
}

fn profile(rng: &mut Rng, at_ms: i64) -> UserProfile {
    UserProfile { display_name: Some(format!("{} {}", rng.pick(FAMILY), rng.pick(GIVEN))), picture_url: None, fetched_ms: at_ms }
}

/// Conversation `i` (1..=n) of the many short ones.
fn short_conversation(i: u64, now: i64) -> Seeded {
    let mut rng = Rng::new(i);
    let kind = rng.below(100);
    // 32 hex digits like LINE's ids, unique by `i`.
    let hex = format!("{:016x}{i:016x}", Rng::new(i ^ 0x5EED).next());
    let user = format!("U{hex}");
    let id = match kind {
        0..=1 => ConversationId::group(&format!("C{hex}")),
        2 => ConversationId::room(&format!("R{hex}")),
        _ => ConversationId::user(&user),
    };
    let last = now - 5 * 60_000 - rng.below(SPREAD_MS as u64) as i64;
    let first = last - rng.below(180 * DAY_MS as u64) as i64;
    let mut state = ConversationState::new(id.clone());
    let (message, text) = inbound(&id, &user, event_id(i, 1), last, &mut rng);
    let mut outbound = Vec::new();
    if rng.chance(35) {
        outbound.push(reply(&id, message.event_id.as_str().to_owned(), last, false, &mut rng).0);
    }
    state.first_inbound_ms = Some(first);
    state.last_inbound_ms = Some(last);
    state.last_activity_ms = last;
    state.last_text = Some(text);
    state.has_written = true;
    state.following = Some(!rng.chance(3));
    state.follow_count = 1;
    if id.is_user() && !rng.chance(5) {
        state.profile = Some(profile(&mut rng, first));
        state.profile_checked_ms = Some(first);
    }
    if rng.chance(3) {
        state.staff_name = Some(format!("{}様", rng.pick(FAMILY)));
    }
    // The mix: 8 % unread, 6 % needs attention (a third of them unread too), 1 % spam, a
    // third of the rest resolved; everything else read and open.
    let roll = rng.below(1000);
    state.last_read_ms = if roll < 80 { last - 1 } else { last + 60_000 };
    if (60..120).contains(&roll) {
        state.flag(rng.pick(ATTENTION));
    } else if (120..130).contains(&roll) {
        state.spam = true;
    } else if roll >= 130 && rng.chance(33) {
        state.resolve(last + 120_000);
    }
    Seeded { state, inbound: vec![message], outbound }
}

/// The long conversation: `messages` log items, the newest a minute ago.
fn long_conversation(messages: u64, now: i64) -> Seeded {
    // Built twice, the same way: the first pass finds where the timeline ends.
    let (_, end) = long_conversation_from(messages, now, 0);
    long_conversation_from(messages, now, now - 60_000 - end).0
}

/// The long conversation with its first item at `start`, and the time of its last item.
fn long_conversation_from(messages: u64, now: i64, start: i64) -> (Seeded, i64) {
    let mut rng = Rng::new(0xB16);
    let user = format!("U{:032x}", 0xC0BE_4C11_AB0E_7C4A_1F2D_3E4F_5A6B_7C8Du128);
    let id = ConversationId::user(&user);
    let (mut inbound_items, mut outbound_items) = (Vec::new(), Vec::new());
    let mut ts = start - STEP_MS;
    let (mut n, mut written, mut last_text, mut last_in) = (0u64, 0u64, String::new(), 0);
    while written < messages {
        n += 1;
        ts += STEP_MS;
        let (message, text) = inbound(&id, &user, event_id(0, n), ts, &mut rng);
        let ev = message.event_id.as_str().to_owned();
        inbound_items.push(message);
        (written, last_text, last_in) = (written + 1, text, ts);
        if written < messages && rng.chance(45) {
            let (r, t) = reply(&id, ev, ts, false, &mut rng);
            outbound_items.push(r);
            (written, last_text) = (written + 1, t);
        }
        if written < messages && rng.chance(20) {
            ts += STEP_MS / 2;
            let (r, t) = reply(&id, format!("manual-{n:012}"), ts, true, &mut rng);
            outbound_items.push(r);
            (written, last_text) = (written + 1, t);
        }
    }
    let mut state = ConversationState::new(id);
    state.first_inbound_ms = inbound_items.first().map(|r| r.timestamp_ms);
    state.last_inbound_ms = Some(last_in);
    state.last_activity_ms = ts;
    state.last_text = Some(last_text);
    state.has_written = true;
    state.following = Some(true);
    state.follow_count = 1;
    state.profile = Some(UserProfile { display_name: Some("常連 さくら".into()), picture_url: None, fetched_ms: now - SPREAD_MS });
    state.profile_checked_ms = Some(now - SPREAD_MS);
    state.staff_name = Some("山田様（常連）".into());
    // Read: opening it changes no count, so the console idles afterwards.
    state.last_read_ms = ts + 1;
    (Seeded { state, inbound: inbound_items, outbound: outbound_items }, ts)
}

fn newest_item(s: &Seeded) -> (String, String) {
    let newest_in = s.inbound.iter().max_by_key(|r| log_sort_key(r.timestamp_ms, true, r.event_id.as_str()));
    let newest_out = s.outbound.iter().max_by_key(|r| log_sort_key(r.timestamp_ms, false, &r.id));
    let a = newest_in.map(|r| (log_sort_key(r.timestamp_ms, true, r.event_id.as_str()), r.event_id.as_str().to_owned()));
    let b = newest_out.map(|r| (log_sort_key(r.timestamp_ms, false, &r.id), r.id.clone()));
    a.into_iter().chain(b).max().expect("a log item")
}

// ---------------------------------------------------------------- seeding

enum Target {
    Embedded(EmbeddedStore),
    Dynamo(DynamoStore),
}

impl Target {
    fn store(&self) -> Arc<dyn Store> {
        match self {
            Target::Embedded(s) => Arc::new(s.clone()),
            Target::Dynamo(s) => Arc::new(s.clone()),
        }
    }
}

async fn run_all<F>(in_flight: usize, jobs: Vec<F>) -> Result<(), BoxError>
where
    F: std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for job in jobs {
        tasks.spawn(job);
        if tasks.len() >= in_flight {
            tasks.join_next().await.expect("a task")??;
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

async fn seed(target: &Target, conversations: u64, messages: u64, short_logs: bool, now: i64) -> Result<Value, BoxError> {
    let started = Instant::now();
    let store = target.store();
    let in_flight = match target {
        Target::Embedded(_) => 512,
        Target::Dynamo(_) => 16,
    };
    let long = long_conversation(messages, now);
    let (newest_cursor, newest_id) = newest_item(&long);
    let big = long.state.id.to_string();
    let mut all: Vec<Seeded> = (1..=conversations).map(|i| short_conversation(i, now)).collect();
    if !short_logs {
        for s in &mut all {
            s.inbound.clear();
            s.outbound.clear();
        }
    }
    all.push(long);
    let (mut unread, mut attention, mut log_items) = (0u64, 0u64, 0u64);
    for s in &all {
        let flags = s.state.inbox_flags();
        unread += u64::from(flags.unread);
        attention += u64::from(flags.needs_attention);
        log_items += (s.inbound.len() + s.outbound.len()) as u64;
    }
    // States first, those that change the inbox counts before the rest: on DynamoDB each of
    // them is a transaction (the state and the counter item), and moto copies the whole table
    // for every transaction, so they go while the table is still small.
    let mut states: Vec<ConversationState> = all.iter().map(|s| s.state.clone()).collect();
    states.sort_by_key(|s| s.inbox_flags() == Default::default());
    let jobs = states
        .into_iter()
        .map(|state| {
            let store = store.clone();
            async move { store.save_conversation(&state).await }
        })
        .collect();
    run_all(in_flight, jobs).await?;
    eprintln!("{} conversation states in {:.1?}", all.len(), started.elapsed());
    let embedded = match target {
        Target::Embedded(s) => Some(s.clone()),
        Target::Dynamo(_) => None,
    };
    type Job = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send>>;
    let mut jobs: Vec<Job> = Vec::new();
    for s in all {
        for record in s.inbound {
            let (store, embedded) = (store.clone(), embedded.clone());
            jobs.push(Box::pin(async move {
                store.put_inbound(&record).await?;
                // Handled already: the local worker finds no backlog.
                if let Some(e) = embedded {
                    e.done(&record).await?;
                }
                Ok(())
            }));
        }
        for record in s.outbound {
            let store = store.clone();
            jobs.push(Box::pin(async move { store.claim_outbound(&record).await.map(|_| ()) }));
        }
    }
    run_all(in_flight, jobs).await?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("{log_items} log items, {conversations}+1 conversations in {seconds:.1} s");
    Ok(json!({
        "conversations": conversations + 1,
        "log_items": log_items,
        "unread": unread,
        "needs_attention": attention,
        "big_conversation": big,
        "big_messages": messages,
        "newest_id": newest_id,
        "newest_cursor": newest_cursor,
        "seed_seconds": seconds,
    }))
}

// ---------------------------------------------------------------- DynamoDB

/// One DynamoDB request as the interceptor saw it.
#[derive(Debug, Clone, Default)]
struct Call {
    op: String,
    index: Option<String>,
    consistent: bool,
    request_bytes: usize,
    response_bytes: usize,
    items: usize,
    item_bytes: usize,
    read_units: f64,
}

#[derive(Debug, Default)]
struct Counter {
    calls: Mutex<Vec<Call>>,
}

impl Counter {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().expect("counter lock"))
    }
}

/// Counts requests as they are sent, and reads the answers' sizes. The measured calls run one
/// at a time, so an answer belongs to the last request counted.
#[derive(Debug)]
struct Counting(Arc<Counter>);

impl Intercept for Counting {
    fn name(&self) -> &'static str {
        "console-bench-dynamodb-counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let op = request.headers().get("x-amz-target").unwrap_or("?").rsplit('.').next().unwrap_or("?").to_owned();
        let body = request.body().bytes().unwrap_or_default();
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        self.0.calls.lock().expect("counter lock").push(Call {
            op,
            index: parsed.get("IndexName").and_then(Value::as_str).map(str::to_owned),
            consistent: parsed.get("ConsistentRead").and_then(Value::as_bool).unwrap_or(false),
            request_bytes: body.len(),
            ..Call::default()
        });
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let bytes =
            response.body().bytes().map(<[u8]>::len).or_else(|| response.headers().get("content-length").and_then(|v| v.parse().ok()));
        let mut sizes = Vec::new();
        if let Ok(output) = context.output_or_error() {
            if let Some(out) = output.downcast_ref::<aws_sdk_dynamodb::operation::get_item::GetItemOutput>() {
                sizes.extend(out.item().map(item_size));
            } else if let Some(out) = output.downcast_ref::<aws_sdk_dynamodb::operation::query::QueryOutput>() {
                sizes.extend(out.items().iter().map(item_size));
            }
        }
        let mut calls = self.0.calls.lock().expect("counter lock");
        if let Some(call) = calls.last_mut() {
            call.response_bytes = bytes.unwrap_or(0);
            call.items = sizes.len();
            call.item_bytes = sizes.iter().sum();
            let unit = if call.consistent { 1.0 } else { 0.5 };
            call.read_units = match call.op.as_str() {
                // A missing item still costs the minimum.
                "GetItem" | "Query" => unit * call.item_bytes.div_ceil(4096).max(1) as f64,
                _ => 0.0,
            };
        }
        Ok(())
    }
}

/// DynamoDB's size of a number: 1 byte per two significant digits, plus 1.
fn number_size(n: &str) -> usize {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len().max(1);
    significant.div_ceil(2) + 1
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
        AttributeValue::Ns(s) => s.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(s) => s.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, e)| 1 + k.len() + value_size(e)).sum::<usize>(),
        _ => 0,
    }
}

fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn dynamo_client(endpoint: &str, counter: Option<Arc<Counter>>) -> aws_sdk_dynamodb::Client {
    let creds = aws_sdk_dynamodb::config::Credentials::new("bench", "bench", None, None, "console-bench");
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_dynamodb::config::Region::new("ap-northeast-1"))
        .credentials_provider(creds)
        .endpoint_url(endpoint);
    if let Some(counter) = counter {
        config = config.interceptor(Counting(counter));
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// A table shaped like template.yaml's (as tests/it/support's `create_table` makes it).
async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), BoxError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    use line_oa::store::dynamodb::{ACTIVITY_INDEX, CONVERSATIONS_INDEX, SHARD_ATTRIBUTE};
    let key = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build();
    let attr = |n: &str| AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build();
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .attribute_definitions(attr("list")?)
        .attribute_definitions(attr("activity")?)
        .attribute_definitions(attr(SHARD_ATTRIBUTE)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(ACTIVITY_INDEX)
                .key_schema(key("list", KeyType::Hash)?)
                .key_schema(key("activity", KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()?,
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(CONVERSATIONS_INDEX)
                .key_schema(key(SHARD_ATTRIBUTE, KeyType::Hash)?)
                .key_schema(key("pk", KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
                .build()?,
        )
        .send()
        .await?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(TimeToLiveSpecification::builder().enabled(true).attribute_name("expires_at").build()?)
        .send()
        .await?;
    Ok(())
}

fn summarize(calls: &[Call]) -> Value {
    let ops: Vec<Value> = calls
        .iter()
        .map(|c| {
            json!({
                "op": c.op, "index": c.index, "consistent": c.consistent, "items": c.items, "item_bytes": c.item_bytes,
                "read_units": c.read_units, "request_bytes": c.request_bytes, "response_bytes": c.response_bytes,
            })
        })
        .collect();
    json!({
        "requests": calls.len(),
        "items": calls.iter().map(|c| c.items).sum::<usize>(),
        "item_bytes": calls.iter().map(|c| c.item_bytes).sum::<usize>(),
        "read_units": calls.iter().map(|c| c.read_units).sum::<f64>(),
        "request_bytes": calls.iter().map(|c| c.request_bytes).sum::<usize>(),
        "response_bytes": calls.iter().map(|c| c.response_bytes).sum::<usize>(),
        "calls": ops,
    })
}

/// An operator API router over `store`, fresh (a cold settings cache, as an instance has after
/// `live_settings::REFRESH`), and the bearer token it accepts.
fn api(store: &DynamoStore, scratch: &std::path::Path) -> Result<(axum::Router, String), BoxError> {
    use line_oa::http::operator::{router, Authenticator};
    let token = "loa_consolebenchconsolebenchconsolebench".to_owned();
    let tokens = format!("bench:admin:{}", line_oa::domain::staff::hash_token(&token));
    let lookup = |k: &str| match k {
        "LINE_CHANNEL_SECRET" => Some("bench-secret".to_owned()),
        "OPERATOR_TOKENS" => Some(tokens.clone()),
        "SETTINGS_TOML" => Some("account_name = \"ベンチ商店\"\n".to_owned()),
        _ => None,
    };
    let config = line_oa::config::from_lookup(lookup)?;
    let dynamo = store;
    let store: Arc<dyn Store> = Arc::new(store.clone());
    let operator = line_oa::service::ServiceParts::new(
        config.verifier.clone(),
        store.clone(),
        line_oa::line_api::from_config(&config, line_oa::line_api::http::RetryPolicy::default()),
        config.settings.clone(),
        config.retention_days,
        line_oa::service::system_clock(),
    )
    .build()
    .operator;
    let exports = line_oa::service::export::jobs::ExportJobs::local(
        store,
        scratch.to_path_buf(),
        config.settings.rules.timezone.clone(),
        line_oa::service::system_clock(),
    );
    let media = line_oa::service::operator::MediaCopies::new(Arc::new(line_oa::blob::dir::DirBlobStore::new(scratch.join("archive"))));
    // Staff actions are audited into the same table, as on the operator function (reads are not actions).
    let trail = line_oa::service::audit::AuditTrail::new(Arc::new(dynamo.clone()), line_oa::service::system_clock(), config.retention_days);
    Ok((router(operator, Authenticator::Tokens(config.operator_tokens.clone()), exports, media, trail), token))
}

async fn get(router: axum::Router, token: &str, uri: &str) -> Result<(u16, usize), BoxError> {
    use tower::ServiceExt;
    let request =
        axum::http::Request::builder().uri(uri).header("authorization", format!("Bearer {token}")).body(axum::body::Body::empty())?;
    let response = router.oneshot(request).await?;
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    if status != 200 {
        return Err(format!("GET {uri}: {status} {}", String::from_utf8_lossy(&body)).into());
    }
    Ok((status, body.len()))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn measure(endpoint: &str, table: &str, big: &ConversationId) -> Result<Value, BoxError> {
    let counter = Arc::new(Counter::default());
    let store = DynamoStore::new(dynamo_client(endpoint, Some(counter.clone())), table);
    // The open conversation's newest item: the tail poll reads after it.
    let newest = store.log_newest(big, &PageRequest { limit: 1, after: None }).await?;
    let (newest_sk, newest_id) = match newest.items.first() {
        Some(LogItem::In(r)) => (log_sort_key(r.timestamp_ms, true, r.event_id.as_str()), r.event_id.as_str().to_owned()),
        Some(LogItem::Out(r)) => (log_sort_key(r.timestamp_ms, false, &r.id), r.id.clone()),
        None => return Err(format!("{big} has no log: seed it first").into()),
    };
    counter.take();

    let inbox = store.inbox().await?;
    let store_inbox = summarize(&counter.take());
    let tail = store.log(big, &PageRequest { limit: 100, after: Some(newest_sk.clone()) }).await?;
    let store_tail = summarize(&counter.take());
    let first_page = store.conversations_by_activity(&PageRequest { limit: 50, after: None }).await?;
    let store_naive = summarize(&counter.take());
    let opened = store.log_newest(big, &PageRequest { limit: 50, after: None }).await?;
    let store_open = summarize(&counter.take());

    let scratch = std::env::temp_dir().join(format!("console-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let mut http = serde_json::Map::new();
    let tail_uri = format!("/api/conversations/{}/messages?after={}&limit=50", encode(big.as_str()), encode(&newest_sk));
    for (name, uri) in [
        ("inbox", "/api/inbox".to_owned()),
        ("tail", tail_uri),
        ("me", "/api/me".to_owned()),
        ("first_page", "/api/conversations?limit=50".to_owned()),
    ] {
        let (router, token) = api(&store, &scratch)?;
        let (_, body_bytes) = get(router, &token, &uri).await?;
        let mut summary = summarize(&counter.take());
        summary["uri"] = json!(uri);
        summary["http_body_bytes"] = json!(body_bytes);
        http.insert(name.to_owned(), summary);
    }
    let _ = std::fs::remove_dir_all(&scratch);

    // One idle minute of an open console: 6 inbox polls (10 s), 12 tail polls (5 s), one /api/me.
    let per = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
    let minute = |k: &str| 6.0 * per(&http["inbox"], k) + 12.0 * per(&http["tail"], k) + per(&http["me"], k);
    let naive_minute = |k: &str| 6.0 * per(&http["first_page"], k) + 12.0 * per(&http["tail"], k) + per(&http["me"], k);
    let idle_minute = json!({
        "requests": minute("requests"), "read_units": minute("read_units"), "response_bytes": minute("response_bytes"),
        "naive_requests": naive_minute("requests"), "naive_read_units": naive_minute("read_units"),
        "naive_response_bytes": naive_minute("response_bytes"),
    });
    Ok(json!({
        "table": table,
        "inbox_answer": inbox,
        "tail_items": tail.items.len(),
        "first_page_items": first_page.items.len(),
        "opened_items": opened.items.len(),
        "newest_id": newest_id,
        "store": {"inbox": store_inbox, "tail": store_tail, "naive_first_page": store_naive, "open_newest_50": store_open},
        "http": Value::Object(http),
        "idle_minute": idle_minute,
    }))
}

// ---------------------------------------------------------------- main

struct Args {
    data_dir: Option<PathBuf>,
    endpoint: Option<String>,
    table: Option<String>,
    create_table: bool,
    conversations: u64,
    messages: u64,
    seed: bool,
    measure: bool,
    /// Write the short conversations' logs too (false: their states only).
    short_logs: bool,
}

const USAGE: &str =
    "usage: console_bench_data (--data-dir DIR | --dynamo-endpoint URL --table NAME [--create-table] [--measure] [--no-seed]) \
                     [--conversations 10000] [--messages 5000]";

fn args() -> Result<Args, BoxError> {
    let mut a = Args {
        data_dir: None,
        endpoint: None,
        table: None,
        create_table: false,
        conversations: 10_000,
        messages: 5_000,
        seed: true,
        measure: false,
        short_logs: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--data-dir" => a.data_dir = Some(value()?.into()),
            "--dynamo-endpoint" => a.endpoint = Some(value()?),
            "--table" => a.table = Some(value()?),
            "--conversations" => a.conversations = value()?.parse()?,
            "--messages" => a.messages = value()?.parse()?,
            "--create-table" => a.create_table = true,
            "--no-seed" => a.seed = false,
            "--measure" => a.measure = true,
            "--logs" => {
                a.short_logs = match value()?.as_str() {
                    "all" => true,
                    "long" => false,
                    other => return Err(format!("--logs {other:?}: all or long").into()),
                }
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    if a.data_dir.is_some() == a.endpoint.is_some() || a.endpoint.is_some() != a.table.is_some() {
        return Err(USAGE.into());
    }
    if a.messages == 0 {
        return Err("--messages must be at least 1".into());
    }
    if let Some(endpoint) = &a.endpoint {
        if !endpoint.starts_with("http://127.0.0.1:") {
            return Err(format!("--dynamo-endpoint {endpoint:?}: the bench talks to 127.0.0.1 only").into());
        }
    }
    Ok(a)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let a = args()?;
    let now = jiff::Timestamp::now().as_millisecond();
    let mut out = serde_json::Map::new();
    if let Some(dir) = &a.data_dir {
        let target = Target::Embedded(EmbeddedStore::open(dir)?);
        out.insert("seed".into(), seed(&target, a.conversations, a.messages, a.short_logs, now).await?);
    } else {
        let (endpoint, table) = (a.endpoint.as_deref().unwrap_or_default(), a.table.as_deref().unwrap_or_default());
        if a.create_table {
            create_table(&dynamo_client(endpoint, None), table).await?;
        }
        if a.seed {
            let target = Target::Dynamo(DynamoStore::new(dynamo_client(endpoint, None), table));
            out.insert("seed".into(), seed(&target, a.conversations, a.messages, a.short_logs, now).await?);
        }
        if a.measure {
            let big = long_conversation(1, now).state.id;
            out.insert("measure".into(), measure(endpoint, table, &big).await?);
        }
    }
    println!("{}", Value::Object(out));
    Ok(())
}
