//! Decisions per second for a realistic settings file (settings.example.toml): the rules
//! must never be the slow part (target ≤ 5 µs per decision).
//!
//!     cargo bench --bench decide

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use jiff::Timestamp;
use line_oa::domain::classifier::Classifier;
use line_oa::domain::conversation::ConversationState;
use line_oa::domain::event::{Event, WebhookBody};
use line_oa::domain::ids::ConversationId;
use line_oa::domain::rules::decide;
use line_oa::settings::Settings;

fn text_event(text: &str) -> Event {
    let body = serde_json::json!({"events": [{
        "type": "message", "webhookEventId": "01JWQ3AF7CMRM2AWZQ2BTAHHXE", "timestamp": 0, "mode": "active",
        "replyToken": "r", "source": {"type": "user", "userId": "U1"},
        "message": {"type": "text", "id": "1", "text": text}
    }]});
    WebhookBody::parse(body.to_string().as_bytes()).unwrap().events.remove(0)
}

fn bench(c: &mut Criterion) {
    let example = Settings::load(concat!(env!("CARGO_MANIFEST_DIR"), "/settings.example.toml").as_ref()).unwrap();
    let ai = Settings::from_toml(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/settings.example.toml"))
            .unwrap()
            .replace("out_of_hours = \"auto_response\"", "out_of_hours = \"ai_response\""),
    )
    .unwrap();
    Classifier::default_model(); // trained once at start, as the service does
    let state = ConversationState::new(ConversationId::user("U1"));
    let in_hours: Timestamp = "2026-11-30T01:30:00Z".parse().unwrap(); // Monday 10:30 JST
    let night: Timestamp = "2026-11-30T12:30:00Z".parse().unwrap(); // Monday 21:30 JST
    let question = text_event("駐車場はありますか？何台くらい停められますか");
    let keyword = text_event("営業時間");

    let mut group = c.benchmark_group("decide");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.bench_function("chat_in_hours", |b| b.iter(|| decide(&example.rules, &state, black_box(&question), in_hours)));
    group.bench_function("keyword_out_of_hours", |b| b.iter(|| decide(&example.rules, &state, black_box(&keyword), night)));
    group.bench_function("default_response_out_of_hours", |b| b.iter(|| decide(&example.rules, &state, black_box(&question), night)));
    group.bench_function("ai_response_out_of_hours", |b| b.iter(|| decide(&ai.rules, &state, black_box(&question), night)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
