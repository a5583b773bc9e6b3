//! The optional model path end to end: the worker's `Handler` on the embedded store, LINE's
//! stand-in, and the Bedrock adapter over HTTP to the Converse stand-in. A cited answer goes out
//! once; an uncited one, a handoff, a slow model, an error or a cut-short answer leave the
//! message to staff with a notice; complaints, long messages and a model that is off never
//! reach it; what it is given is only the shop's knowledge, the instructions and the message.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::civil::date;
use jiff::tz::TimeZone;
use line_oa::domain::conversation::{ConversationState, ReplyClaim};
use line_oa::domain::event::Event;
use line_oa::domain::ids::ConversationId;
use line_oa::metrics::{KeptLines, Metrics};
use line_oa::service::{system_clock, HandleOutcome, Service, ServiceParts};
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{InboundRecord, LogItem, OutboundRecord, PageRequest, SendMethod, Store};

use crate::support::apps::{parts, text_body_at, LocalTestApp};
use crate::support::bedrock_standin::{estimated_tokens, BedrockStandin, Script};
use crate::support::captured_notices::Captured;
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::sign;

const MODEL_ID: &str = "apac.amazon.nova-lite-v1:0";
/// A message the classifier is unsure of and no FAQ answers: today it goes to staff.
const UNSURE: &str = "予約したいです";
const EXAMPLE: &str = include_str!("../../settings.example.toml");

/// The example clinic with AI response out of hours and the model on, `extra` in `[ai.model]`.
fn with_model(extra: &str) -> String {
    let toml = EXAMPLE.replace("out_of_hours = \"auto_response\"", "out_of_hours = \"ai_response\"");
    format!("{toml}\n[ai.model]\nenabled = true\nmodel_id = \"{MODEL_ID}\"\n{extra}\n")
}

/// Monday 2026-11-30 at `h:min` in Tokyo (the clinic closes at 18:00).
fn monday_ms(h: i8, min: i8) -> i64 {
    date(2026, 11, 30).at(h, min, 0, 0).to_zoned(TimeZone::get("Asia/Tokyo").unwrap()).unwrap().timestamp().as_millisecond()
}

struct Setup {
    service: Service,
    store: Arc<dyn Store>,
    line: LineStandin,
    bedrock: BedrockStandin,
    metrics: KeptLines,
    notices: Arc<Captured>,
    settings: String,
    _dir: tempfile::TempDir,
}

async fn setup(settings: &str) -> Setup {
    let line = LineStandin::start(StandinOptions::default()).await;
    let bedrock = BedrockStandin::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let (metrics, kept) = Metrics::kept("line-oa/test", "worker");
    let notices = Arc::new(Captured::default());
    let service = ServiceParts {
        model: Arc::new(bedrock.model()),
        metrics,
        notifier: notices.clone(),
        ..parts(store.clone(), &line, settings, system_clock())
    }
    .build();
    Setup { service, store, line, bedrock, metrics: kept, notices, settings: settings.to_owned(), _dir: dir }
}

impl Setup {
    /// `user` writes `text` on Monday at 21:30 (closed: AI response); the event as logged.
    async fn writes(&self, user: &str, text: &str) -> InboundRecord {
        let id = format!("ev-{user}");
        let body = text_body_at(&id, user, text, &format!("rt-{user}"), monday_ms(21, 30));
        self.service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
        let page = self.store.log(&ConversationId::user(user), &PageRequest { limit: 100, after: None }).await.unwrap();
        page.items
            .into_iter()
            .find_map(|i| match i {
                LogItem::In(r) if r.event_id.as_str() == id => Some(r),
                _ => None,
            })
            .expect("the event is logged first")
    }

    async fn handled(&self, user: &str, text: &str) -> HandleOutcome {
        let record = self.writes(user, text).await;
        self.service.handler.handle(&record).await.unwrap()
    }

    fn replies(&self) -> Vec<String> {
        let replies = self.line.requests().into_iter().filter(|r| r.path == "/v2/bot/message/reply");
        replies.map(|r| r.body.unwrap()["messages"][0]["text"].as_str().unwrap_or_default().to_owned()).collect()
    }

    async fn state(&self, user: &str) -> ConversationState {
        self.store.conversation(&ConversationId::user(user)).await.unwrap().expect("a conversation")
    }

    async fn outbound(&self, user: &str) -> Vec<OutboundRecord> {
        let page = self.store.log(&ConversationId::user(user), &PageRequest { limit: 100, after: None }).await.unwrap();
        page.items.into_iter().filter_map(|i| if let LogItem::Out(o) = i { Some(o) } else { None }).collect()
    }

    fn notice_reasons(&self) -> Vec<String> {
        self.notices.taken().into_iter().map(|n| n.reason).collect()
    }

    /// Left to staff: no reply, the conversation flagged `cannot_answer`, staff told once.
    async fn assert_left_to_staff(&self, user: &str, outcome: &HandleOutcome, why: &str) {
        let HandleOutcome::NoReply(reason) = outcome else { panic!("{user}: {outcome:?}") };
        assert!(reason.contains(&format!("the model's answer was not used: {why}")), "{user}: {reason}");
        let state = self.state(user).await;
        assert!(state.needs_attention && state.attention_reason.as_deref() == Some("cannot_answer"), "{user}: {state:?}");
        assert_eq!(self.notice_reasons(), ["cannot_answer"], "{user}: staff are told");
        assert!(self.outbound(user).await.is_empty(), "{user}: nothing sent");
    }
}

#[tokio::test]
async fn a_question_no_faq_answers_gets_the_models_cited_answer_once() {
    let s = setup(&with_model("")).await;
    let answer = "ご予約はお電話（03-1234-5678）で承っております。";
    s.bedrock.then(Script::answer(answer, &["business:phone"]));
    assert_eq!(s.handled("Uask", UNSURE).await, HandleOutcome::Sent { method: SendMethod::Reply });
    assert_eq!(s.replies(), [answer]);
    let out = s.outbound("Uask").await;
    assert_eq!(out.len(), 1);
    assert!(out[0].reason.ends_with(&format!("model {MODEL_ID} answered, citing business:phone")), "{}", out[0].reason);
    let state = s.state("Uask").await;
    assert!(!state.needs_attention, "answered: nothing for staff");
    assert!(s.notice_reasons().is_empty());

    // What the model was given: the instructions, the shop's knowledge, the message; no more.
    let requests = s.bedrock.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.model_id, MODEL_ID, "the id as configured, percent-decoded");
    assert_eq!(request.messages(), [("user".to_owned(), UNSURE.to_owned())], "the customer's message alone");
    let system = request.system();
    assert_eq!(system.len(), 2, "instructions, then knowledge");
    assert!(system[0].contains("Use only the KNOWLEDGE") && system[0].contains("さくら歯科"), "{}", system[0]);
    for fact in
        ["[faq:parking]", "[faq:card]", "[business:address]", "[business:phone]", "[business:website]", "[hours:today]", "[hours:week]"]
    {
        assert!(system[1].contains(fact), "{fact} missing from:\n{}", system[1]);
    }
    for not_given in ["ご予約はこちらから承ります", "友だち追加ありがとうございます", "ただいま診療時間外です", "Uask", "rt-Uask"]
    {
        assert!(!request.sent_text().contains(not_given), "{not_given:?} was sent to the model");
    }
    assert_eq!(request.body["inferenceConfig"]["maxTokens"], 700);

    // Its tokens are counted, as the stand-in reported them.
    assert_eq!(s.metrics.total("ModelAsked"), 1);
    assert_eq!(s.metrics.total("ModelAnswered"), 1);
    assert_eq!(s.metrics.total("ModelInputTokens"), estimated_tokens(&request.sent_text()));
    assert!(s.metrics.total("ModelOutputTokens") > 0);

    // Handled again (a redelivered stream record): not asked again, not sent again.
    let record = s.writes("Uask", UNSURE).await;
    assert_eq!(s.service.handler.handle(&record).await.unwrap(), HandleOutcome::AlreadyHandled);
    assert_eq!((s.bedrock.requests().len(), s.replies().len()), (1, 1));
    s.bedrock.assert_all_valid();
    s.line.assert_all_valid();
}

#[tokio::test]
async fn an_uncited_answer_a_handoff_and_a_cut_short_answer_go_to_staff_with_a_notice() {
    let s = setup(&with_model("")).await;
    s.bedrock.then(Script::uncited("はい、ご予約いただけます。"));
    let outcome = s.handled("Uuncited", UNSURE).await;
    s.assert_left_to_staff("Uuncited", &outcome, "the answer cites no fact").await;

    s.bedrock.then(Script::handoff("booking request"));
    let outcome = s.handled("Uhandoff", UNSURE).await;
    s.assert_left_to_staff("Uhandoff", &outcome, "the model handed the message to staff").await;

    s.bedrock.then(Script::answer("ご予約は https://booking.example.net から", &["business:website"]));
    let outcome = s.handled("Ulink", UNSURE).await;
    s.assert_left_to_staff("Ulink", &outcome, "the answer names a link the knowledge does not hold").await;

    s.bedrock.then(Script::CutShort("{\"answer\": \"ご予約は".into()));
    let outcome = s.handled("Ucut", UNSURE).await;
    s.assert_left_to_staff("Ucut", &outcome, "the model stopped early (max_tokens)").await;

    assert!(s.replies().is_empty());
    assert_eq!(s.metrics.total("ModelNotUsed"), 4);
    s.bedrock.assert_all_valid();
}

#[tokio::test]
async fn a_slow_model_goes_to_staff_and_holds_the_worker_no_longer_than_the_timeout() {
    let s = setup(&with_model("timeout_ms = 300")).await;
    s.bedrock.then(Script::Slow);
    let started = Instant::now();
    let outcome = s.handled("Uslow", UNSURE).await;
    let took = started.elapsed();
    s.assert_left_to_staff("Uslow", &outcome, "no answer within 300 ms").await;
    assert!(took >= Duration::from_millis(300), "waited for the model first: {took:?}");
    // The rest of the handling is the store's and LINE's: well under a second here.
    assert!(took < Duration::from_millis(300) + Duration::from_secs(2), "held past the timeout: {took:?}");
    // The next message is handled at once, the slow request still open at the stand-in.
    s.bedrock.then(Script::answer("お電話でどうぞ。", &["business:phone"]));
    assert_eq!(s.handled("Unext", UNSURE).await, HandleOutcome::Sent { method: SendMethod::Reply });
    assert_eq!(s.replies(), ["お電話でどうぞ。"]);
}

#[tokio::test]
async fn a_model_error_or_throttling_goes_to_staff_after_one_retry() {
    let s = setup(&with_model("")).await;
    s.bedrock.then(Script::internal_error()).then(Script::internal_error());
    let outcome = s.handled("Uerror", UNSURE).await;
    s.assert_left_to_staff("Uerror", &outcome, "model error: the model service is unavailable: InternalServerException").await;
    assert_eq!(s.bedrock.requests().len(), 2, "retried once, then given up");

    s.bedrock.then(Script::throttled()).then(Script::throttled());
    let outcome = s.handled("Uthrottled", UNSURE).await;
    s.assert_left_to_staff("Uthrottled", &outcome, "model error: throttled by the model service").await;

    // A throttled first try and an answer on the retry: answered.
    s.bedrock.then(Script::throttled()).then(Script::answer("お電話でどうぞ。", &["business:phone"]));
    assert_eq!(s.handled("Uretried", UNSURE).await, HandleOutcome::Sent { method: SendMethod::Reply });
    assert_eq!(s.bedrock.requests().len(), 6);
}

#[tokio::test]
async fn complaints_long_messages_and_what_the_rules_answer_never_reach_the_model() {
    let s = setup(&with_model("")).await;
    s.bedrock.always(Script::answer("お電話でどうぞ。", &["business:phone"]));
    let HandleOutcome::NoReply(reason) = s.handled("Uangry", "対応がひどすぎます。返金してください").await else {
        panic!()
    };
    assert!(reason.contains("complaint"), "{reason}");
    assert_eq!(s.state("Uangry").await.attention_reason.as_deref(), Some("complaint"));
    s.handled("Ulong", &"歯が痛くて".repeat(70)).await;
    s.handled("Uparking", "駐車場はありますか").await;
    assert!(s.bedrock.requests().is_empty(), "{:?}", s.bedrock.requests());
    assert_eq!(s.metrics.total("ModelAsked"), 0);
    let replies = s.replies();
    assert_eq!(replies.len(), 2, "the long message's template and the FAQ's answer: {replies:?}");
    assert!(replies.contains(&"医院の裏に無料駐車場が3台分ございます。".to_owned()), "{replies:?}");
}

#[tokio::test]
async fn with_the_model_off_nothing_calls_it() {
    let off = EXAMPLE.replace("out_of_hours = \"auto_response\"", "out_of_hours = \"ai_response\"");
    let disabled = format!("{off}\n[ai.model]\nenabled = false\nmodel_id = \"{MODEL_ID}\"\n");
    for settings in [off, disabled] {
        let s = setup(&settings).await;
        s.bedrock.always(Script::answer("お電話でどうぞ。", &["business:phone"]));
        let HandleOutcome::NoReply(reason) = s.handled("Uoff", UNSURE).await else { panic!() };
        assert!(reason.contains("below the threshold") && !reason.contains("model"), "{reason}");
        assert!(s.bedrock.requests().is_empty());
        assert_eq!(s.notice_reasons(), ["cannot_answer"], "to staff as before");
    }
}

#[tokio::test]
async fn a_model_reply_cut_off_by_a_crash_is_asked_again_and_sent_with_its_token_never_pushed() {
    let s = setup(&with_model("").replace("push_fallback = false", "push_fallback = true")).await;
    // An earlier run asked, claimed the reply and stopped before sending: the state it wrote.
    let record = s.writes("Ucrash", UNSURE).await;
    let now = jiff::Timestamp::now().as_millisecond();
    let mut state = ConversationState::new(ConversationId::user("Ucrash"));
    state.apply(&Event::from_raw_json(&record.raw).unwrap(), record.timestamp_ms);
    state.replies.push(ReplyClaim { event_id: record.event_id.to_string(), at_ms: record.timestamp_ms, claimed_ms: now - 1_000 });
    s.store.save_conversation(&state).await.unwrap();
    // This process started after it: the claim is an orphan, resolved now.
    let restarted = ServiceParts {
        started_ms: Some(now),
        model: Arc::new(s.bedrock.model()),
        ..parts(s.store.clone(), &s.line, &s.settings, system_clock())
    }
    .build();
    s.bedrock.then(Script::answer("お電話でどうぞ。", &["business:phone"]));
    assert_eq!(restarted.handler.handle(&record).await.unwrap(), HandleOutcome::Sent { method: SendMethod::Reply });
    assert_eq!(s.replies(), ["お電話でどうぞ。"]);
    assert_eq!(s.bedrock.requests().len(), 1);
    assert_eq!(restarted.handler.handle(&record).await.unwrap(), HandleOutcome::AlreadyHandled);
    assert_eq!((s.bedrock.requests().len(), s.replies().len()), (1, 1));
    assert!(s.line.requests().iter().all(|r| r.path != "/v2/bot/message/push"));
}

#[tokio::test]
async fn the_dry_run_says_the_model_would_be_asked_and_never_asks_it() {
    let app = LocalTestApp::start(&with_model("")).await;
    let explain = |text: &str| {
        let request = app.client.post(format!("{}/explain", app.url)).json(&serde_json::json!({ "at": "2026-11-30T21:30", "text": text }));
        async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let e = explain(UNSURE).await;
    assert_eq!((e["mode"].as_str(), e["path"].as_str()), (Some("ai_response"), Some("no_reply")), "{e}");
    assert_eq!(e["model"]["would_ask"], true, "{e}");
    assert_eq!(e["model"]["model_id"], MODEL_ID);
    assert!(e["model"]["facts"].as_array().unwrap().contains(&serde_json::json!("business:phone")), "{e}");
    let e = explain("対応がひどすぎます。返金してください").await;
    assert_eq!(e["model"]["would_ask"], false, "{e}");

    // The command line gives the same answer, from a settings file.
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.toml");
    std::fs::write(&settings, with_model("")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_line-oa"))
        .args(["explain", "--at", "2026-11-30T21:30", "--text", UNSURE, "--settings"])
        .arg(&settings)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&cli["path"], &cli["model"]["would_ask"]), (&serde_json::json!("no_reply"), &serde_json::json!(true)), "{cli}");
}

/// The figures behind the README's cost per answered message: the example clinic's settings
/// with the sample clinic's whole FAQ (`data/faq/clinic.toml`), one question none of it
/// answers (UNSURE, 予約したいです, is close enough to walk_in's 予約しないと行けませんか
/// to be answered by it there), what was sent.
#[tokio::test]
async fn the_request_the_readme_prices() {
    const NOT_IN_THE_CLINICS_FAQ: &str = "親知らずを抜くのは痛いですか";
    let faq_start = EXAMPLE.find("[[faq]]").expect("the example has FAQs");
    let clinic = format!("{}{}", &EXAMPLE[..faq_start], include_str!("../../data/faq/clinic.toml"));
    let clinic = clinic.replace("out_of_hours = \"auto_response\"", "out_of_hours = \"ai_response\"");
    let s = setup(&format!("{clinic}\n[ai.model]\nenabled = true\nmodel_id = \"{MODEL_ID}\"\n")).await;
    let answer = "ご予約はお電話（03-1234-5678）で承っております。";
    s.bedrock.then(Script::answer(answer, &["business:phone"]));
    assert_eq!(s.handled("Ucost", NOT_IN_THE_CLINICS_FAQ).await, HandleOutcome::Sent { method: SendMethod::Reply });
    let request = &s.bedrock.requests()[0];
    let sent = request.sent_text();
    let reply = serde_json::json!({ "answer": answer, "citations": ["business:phone"] }).to_string();
    let (chars, ascii) = (sent.chars().count(), sent.chars().filter(char::is_ascii).count());
    let numbered = |line: &str| line.split_once(". [").is_some_and(|(n, _)| n.parse::<u32>().is_ok());
    let facts = request.system()[1].lines().filter(|l| numbered(l)).count();
    println!(
        "model request: {facts} facts, {chars} characters ({ascii} ASCII, {} other) = ~{} input tokens; reply {} characters = ~{} output tokens",
        chars - ascii,
        estimated_tokens(&sent),
        reply.chars().count(),
        estimated_tokens(&reply)
    );
    assert!(facts > 20, "the clinic's whole FAQ: {facts}");
    // The README's figures assume a request of this size; a much bigger one changes the cost.
    assert!((2_000..=6_000).contains(&estimated_tokens(&sent)), "{} tokens", estimated_tokens(&sent));
}
