//! What our webhook does with a body before it touches the store: check `x-line-signature`
//! (HMAC-SHA256 of the raw body, Base64) and parse the events. bench/run.sh compares this with
//! the official Node SDK's `middleware()` on the same body (bench/node/verify_parse.js reads
//! `BODY` and `SECRET` from this file, so both sides always measure identical bytes).
//!
//! The floor beside it: what any correct Rust webhook must spend on the same body with the same
//! crates. `floor_hmac` is the HMAC-SHA256 of the body (`hmac` + `sha2`, the keyed state built
//! once, as ours does) and the compare with the Base64 header; `floor_parse` a plain
//! `#[derive(Deserialize)]` of only the fields our webhook reads, borrowed `&str` (no copy, no
//! raw event kept); `floor` both.
//!
//!     cargo bench --bench verify_parse
//!     VERIFY_PARSE_WARMUP_MS=200 VERIFY_PARSE_MEASURE_MS=500 cargo bench --bench verify_parse   # quick

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, Mac};
use line_oa::domain::event::WebhookBody;
use line_oa::domain::secret::Secret;
use line_oa::domain::signature::{sign, SignatureVerifier};
use serde::Deserialize;
use sha2::Sha256;

const SECRET: &str = "bench-channel-secret";

/// One text-message event as LINE sends it (compact JSON, UTF-8), 554 bytes: the first
/// body bench/make_bodies.py writes.
const BODY: &str = r#"{"destination":"U34137fbc8684fb119f3edea63d23879a","events":[{"type":"message","message":{"type":"text","id":"560400319141879097","quoteToken":"9AOmL2gIl9kmy9ApzUTWnNL-_hienJpKyoUbmWU02Otxyr6BvDl-SueLdycOn3OW","text":"営業時間は何時から何時までですか？土日も開いていますか？"},"webhookEventId":"01JWQ3AF7CMRM2AWZQ2BTAHHXE","deliveryContext":{"isRedelivery":false},"timestamp":1748826930412,"source":{"type":"user","userId":"Ue455fe43e6d9a72a5efcdecac2709f78"},"replyToken":"4df1a4d367368bf4498025485b309a7b","mode":"active"}]}"#;

fn verify_parse(c: &mut Criterion) {
    let secret = Secret::new(SECRET).unwrap();
    let signature = sign(&secret, BODY.as_bytes());
    let verifier = SignatureVerifier::new(secret, None);
    let body = BODY.as_bytes().to_vec();

    // The benchmark would measure nothing if the body did not verify and parse.
    verifier.verify(&body, Some(&signature)).expect("the signature verifies");
    let parsed = WebhookBody::parse(&body).expect("the body parses");
    assert_eq!(parsed.events.len(), 1);
    assert!(parsed.events[0].text().is_some_and(|t| t.starts_with("営業時間")));

    let mut group = c.benchmark_group("webhook");
    group.warm_up_time(env_ms("VERIFY_PARSE_WARMUP_MS", 1000)).measurement_time(env_ms("VERIFY_PARSE_MEASURE_MS", 3000));
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("verify_parse", |b| {
        b.iter(|| {
            let body = black_box(body.as_slice());
            verifier.verify(body, Some(black_box(signature.as_str()))).unwrap();
            WebhookBody::parse(body).unwrap()
        })
    });
    group
        .bench_function("verify", |b| b.iter(|| verifier.verify(black_box(body.as_slice()), Some(black_box(signature.as_str()))).unwrap()));
    group.bench_function("parse", |b| b.iter(|| WebhookBody::parse(black_box(body.as_slice())).unwrap()));

    // The floor, checked against ours first: it must accept and read what ours does.
    let keyed = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    assert!(floor_verify(&keyed, &body, &signature));
    assert!(!floor_verify(&keyed, &body, &sign(&Secret::new("another-secret").unwrap(), &body)));
    let floor = floor_parse(&body).expect("the floor parses");
    let (ours, theirs) = (&parsed.events[0], &floor.events[0]);
    assert_eq!(Some(theirs.webhook_event_id), ours.webhook_event_id.as_deref());
    assert_eq!(Some(theirs.timestamp), ours.timestamp_ms);
    assert_eq!(theirs.message.as_ref().and_then(|m| m.text), ours.text());
    assert!(theirs.source.as_ref().is_some_and(|s| s.user_id.is_some()) && theirs.reply_token.is_some());
    group.bench_function("floor_hmac", |b| {
        b.iter(|| assert!(floor_verify(&keyed, black_box(body.as_slice()), black_box(signature.as_str()))))
    });
    group.bench_function("floor_parse", |b| b.iter(|| floor_parse(black_box(body.as_slice())).unwrap().events.len()));
    group.bench_function("floor", |b| {
        b.iter(|| {
            let body = black_box(body.as_slice());
            assert!(floor_verify(&keyed, body, black_box(signature.as_str())));
            floor_parse(body).unwrap().events.len()
        })
    });
    group.finish();
}

/// Times can be shortened for quick runs while developing (the group's own times win over
/// criterion's command line, so they are read here).
fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// HMAC-SHA256 of the body with the keyed state cloned (the key's two blocks hashed once), the
/// header decoded from Base64 into a stack buffer, and the constant-time compare of `hmac`.
fn floor_verify(keyed: &Hmac<Sha256>, body: &[u8], header: &str) -> bool {
    let mut expected = [0u8; 33]; // 44 Base64 characters decode to 32 bytes; one to spare
    let Ok(32) = base64::engine::general_purpose::STANDARD.decode_slice(header, &mut expected) else { return false };
    let mut mac = keyed.clone();
    mac.update(body);
    mac.verify_slice(&expected[..32]).is_ok()
}

fn floor_parse(body: &[u8]) -> serde_json::Result<FloorBody<'_>> {
    serde_json::from_slice(body)
}

/// Only the fields our webhook reads from each event, each borrowed from the body.
#[derive(Deserialize)]
struct FloorBody<'a> {
    #[serde(borrow)]
    events: Vec<FloorEvent<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read by the parse; the bench keeps them only to make the parse do the work
struct FloorEvent<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    webhook_event_id: &'a str,
    timestamp: i64,
    #[serde(borrow)]
    source: Option<FloorSource<'a>>,
    reply_token: Option<&'a str>,
    mode: Option<&'a str>,
    #[serde(borrow)]
    message: Option<FloorMessage<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct FloorSource<'a> {
    #[serde(rename = "type")]
    source_type: &'a str,
    user_id: Option<&'a str>,
    group_id: Option<&'a str>,
    room_id: Option<&'a str>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorMessage<'a> {
    #[serde(rename = "type")]
    message_type: &'a str,
    id: &'a str,
    text: Option<&'a str>,
}

criterion_group!(benches, verify_parse);
criterion_main!(benches);
