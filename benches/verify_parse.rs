//! What our webhook does with a body before it touches the store: check `x-line-signature`
//! (HMAC-SHA256 of the raw body, Base64) and parse the events. bench/run.sh compares this with
//! the official Node SDK's `middleware()` on the same body (bench/node/verify_parse.js reads
//! `BODY` and `SECRET` from this file, so both sides always measure identical bytes).
//!
//!     cargo bench --bench verify_parse

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use line_oa::domain::event::WebhookBody;
use line_oa::domain::secret::Secret;
use line_oa::domain::signature::{sign, SignatureVerifier};

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
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
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
    group.finish();
}

criterion_group!(benches, verify_parse);
criterion_main!(benches);
