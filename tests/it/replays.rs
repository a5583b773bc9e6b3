//! Replays and bad client input: a captured body replayed after the log forgot its events is
//! ignored (the replay window); a late redelivery inside it is still handled; an event without
//! a timestamp is still one event on redelivery; a body for another bot is refused; a DynamoDB
//! validation error from client input is a 400 that changes nothing.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use line_oa::domain::ids::ConversationId;
use line_oa::service::{system_clock, Clock, ServiceParts};
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{PageRequest, Store, WorkQueue};
use serde_json::json;

use crate::support::apps::{parts, service, service_with_clock, text_body_at, SETTINGS};
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::{create_table, dynamo_client, sign};

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn stores() -> Vec<(&'static str, Arc<dyn Store>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let embedded: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let client = dynamo_client().await;
    let table = create_table(&client).await;
    vec![("embedded", embedded, Some(dir)), ("dynamodb", Arc::new(DynamoStore::new(client, table)), None)]
}

async fn logged(store: &Arc<dyn Store>, user: &str) -> usize {
    store.log(&ConversationId::user(user), &PageRequest { limit: 100, after: None }).await.unwrap().items.len()
}

#[tokio::test]
async fn an_event_without_a_timestamp_is_one_event_however_often_it_comes() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    for (name, store, _dir) in stores().await {
        let now = Arc::new(AtomicI64::new(now_ms()));
        let clock: Clock = {
            let now = now.clone();
            Arc::new(move || now.load(Ordering::SeqCst))
        };
        let service = service_with_clock(store.clone(), &standin, SETTINGS, clock);
        // A ULID minted now; LINE's ids are ULIDs.
        let id = ulid_now();
        let mut event = json!({
            "type": "message", "webhookEventId": id, "deliveryContext": { "isRedelivery": false },
            "source": { "type": "user", "userId": "Unots" }, "replyToken": "rt-nots", "mode": "active",
            "message": { "type": "text", "id": "1", "quoteToken": "q", "text": "タイムスタンプなし" }
        });
        let body =
            |e: &serde_json::Value| json!({ "destination": "U0000000000000000000000000000000d", "events": [e] }).to_string().into_bytes();
        let first = body(&event);
        assert_eq!(service.ingest.ingest(&first, Some(&sign(&first))).await.unwrap().new, 1, "{name}");
        now.fetch_add(5, Ordering::SeqCst); // a later receive time
        event["deliveryContext"]["isRedelivery"] = json!(true);
        let again = body(&event);
        let summary = service.ingest.ingest(&again, Some(&sign(&again))).await.unwrap();
        assert_eq!((summary.new, summary.duplicates), (0, 1), "{name}: the redelivery is a duplicate");
        assert_eq!(logged(&store, "Unots").await, 1, "{name}");
    }
}

/// A ULID for now (48 bits of ms, then 80 random bits), in Crockford base 32.
fn ulid_now() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let value: u128 = ((now_ms() as u128) << 80) | (uuid::Uuid::new_v4().as_u128() & ((1u128 << 80) - 1));
    (0..26).rev().map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char).collect()
}

#[tokio::test]
async fn a_body_for_another_bot_is_refused_and_changes_nothing() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let (_, store, _dir) = stores().await.remove(0);
    let service = ServiceParts {
        bot_user_id: Some("U0000000000000000000000000000000d".into()),
        ..parts(store.clone(), &standin, SETTINGS, system_clock())
    }
    .build();
    let ours = text_body_at("ev-dest-1", "Udest", "こんにちは", "rt-d1", now_ms());
    assert_eq!(service.ingest.ingest(&ours, Some(&sign(&ours))).await.unwrap().new, 1);
    let theirs = String::from_utf8(text_body_at("ev-dest-2", "Udest", "こんにちは", "rt-d2", now_ms()))
        .unwrap()
        .replace("U0000000000000000000000000000000d", "U1111111111111111111111111111111e");
    let err = service.ingest.ingest(theirs.as_bytes(), Some(&sign(theirs.as_bytes()))).await.unwrap_err();
    assert!(err.to_string().contains("not this channel's bot"), "{err}");
    assert_eq!(logged(&store, "Udest").await, 1, "nothing more logged");
}

#[tokio::test]
async fn an_oversized_id_from_a_client_is_a_400_not_a_503() {
    let client = dynamo_client().await;
    let table = create_table(&client).await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client, table));
    let standin = LineStandin::start(StandinOptions::default()).await;
    let ingest = service(store.clone(), &standin, SETTINGS).ingest;
    let app = line_oa::http::router(line_oa::http::AppState { ingest, on_logged: line_oa::http::ignore_logged() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // DynamoDB keys hold at most 2048 bytes: a signed body with a 3000-character user id.
    let user = format!("U{}", "a".repeat(3000));
    let body = text_body_at("ev-huge-id", &user, "こんにちは", "rt-huge", now_ms());
    let (status, answer) = crate::support::apps::post_webhook(&reqwest::Client::new(), &url, &body, Some(&sign(&body))).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "invalid_input", "{answer}");
}

const DAY_MS: i64 = 86_400_000;

/// A service over `store` as deployed (retention and replay window at their defaults: a year
/// and a week), on a clock the test moves, counting into kept metric lines.
fn deployed_service(
    store: Arc<dyn Store>,
    standin: &LineStandin,
    now: &Arc<std::sync::atomic::AtomicI64>,
) -> (line_oa::service::Service, line_oa::metrics::KeptLines) {
    let config = line_oa::config::from_lookup(|k| match k {
        "LINE_CHANNEL_SECRET" => Some(crate::support::TEST_SECRET.into()),
        _ => None,
    })
    .unwrap();
    assert_eq!((config.retention_days, config.replay_window_days), (365, 7), "the defaults");
    let line = line_oa::line_api::http::HttpLineApi::new(
        &standin.base_url(),
        secrecy::SecretString::from("it-access-token"),
        crate::support::apps::test_retry(),
    );
    let clock_now = now.clone();
    let (metrics, kept) = line_oa::metrics::Metrics::kept("line-oa-test", "webhook");
    let service = line_oa::service::ServiceParts {
        replay_window_days: Some(config.replay_window_days),
        metrics,
        ..line_oa::service::ServiceParts::new(
            config.verifier,
            store,
            Arc::new(line),
            config.settings,
            config.retention_days,
            Arc::new(move || clock_now.load(std::sync::atomic::Ordering::SeqCst)),
        )
    }
    .build();
    (service, kept)
}

/// Removes every item whose TTL has passed at `now_s`, as DynamoDB's TTL does (moto runs no TTL).
async fn dynamodb_ttl_sweep(client: &aws_sdk_dynamodb::Client, table: &str, now_s: i64) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue;
    let scan = client
        .scan()
        .table_name(table)
        .filter_expression("expires_at < :now")
        .expression_attribute_values(":now", AttributeValue::N(now_s.to_string()))
        .send()
        .await
        .unwrap();
    let items = scan.items.unwrap_or_default();
    for item in &items {
        client.delete_item().table_name(table).key("pk", item["pk"].clone()).key("sk", item["sk"].clone()).send().await.unwrap();
    }
    items.len()
}

#[tokio::test]
async fn a_body_replayed_after_the_log_forgot_its_event_is_acknowledged_and_ignored() {
    use std::sync::atomic::{AtomicI64, Ordering};
    let standin = LineStandin::start(StandinOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let embedded = EmbeddedStore::open(dir.path()).unwrap();
    let client = dynamo_client().await;
    let table = create_table(&client).await;
    let dynamo: Arc<dyn Store> = Arc::new(DynamoStore::new(client.clone(), table.clone()));
    let archiver = line_oa::service::archive::Archiver::new(Arc::new(line_oa::blob::dir::DirBlobStore::new(dir.path().join("archive"))));
    for (name, store) in [("embedded", Arc::new(embedded.clone()) as Arc<dyn Store>), ("dynamodb", dynamo)] {
        let sent = now_ms() - 60_000;
        let now = Arc::new(AtomicI64::new(sent + 1_000));
        let (service, metrics) = deployed_service(store.clone(), &standin, &now);
        let user = format!("Ureplay{name}");
        let captured = text_body_at(&format!("ev-replay-{name}"), &user, "予約の変更をお願いします", "rt-replay", sent);
        let signature = sign(&captured);
        let original = service.ingest.ingest(&captured, Some(&signature)).await.unwrap();
        assert_eq!(original.new, 1, "{name}: the original");
        // Handled as the worker does (an embedded item waiting to be handled never expires).
        service.handler.handle(&original.logged[0]).await.unwrap();
        if name == "embedded" {
            embedded.done(&original.logged[0]).await.unwrap();
        }
        let again = service.ingest.ingest(&captured, Some(&signature)).await.unwrap();
        assert_eq!((again.new, again.duplicates), (0, 1), "{name}: replayed while logged, a duplicate");

        // A year and a day later the log item's TTL has passed and it is gone.
        let later = sent + 366 * DAY_MS;
        now.store(later, Ordering::SeqCst);
        let removed = match name {
            "embedded" => line_oa::service::expiry::expire(&embedded, &archiver, later / 1000).await.unwrap().removed,
            _ => dynamodb_ttl_sweep(&client, &table, later / 1000).await,
        };
        assert!(removed >= 1, "{name}: the item expired");
        assert_eq!(logged(&store, &user).await, 0, "{name}: the log no longer knows the event");

        let replay = service.ingest.ingest(&captured, Some(&signature)).await.unwrap();
        assert_eq!((replay.new, replay.duplicates, replay.stale), (0, 0, 1), "{name}: the replay is ignored");
        assert_eq!(logged(&store, &user).await, 0, "{name}: nothing logged, so nothing is answered");
        assert_eq!(metrics.total(line_oa::domain::metrics::STALE_EVENTS_IGNORED), 1, "{name}: counted for the alarm");
    }
}

#[tokio::test]
async fn a_late_redelivery_inside_the_window_is_handled_and_one_beyond_it_is_not() {
    use std::sync::atomic::AtomicI64;
    let standin = LineStandin::start(StandinOptions::default()).await;
    for (name, store, _dir) in stores().await {
        let now = Arc::new(AtomicI64::new(now_ms()));
        let (service, metrics) = deployed_service(store.clone(), &standin, &now);
        let at = |days_ago: i64| now_ms() - days_ago * DAY_MS;
        // One body with two events: LINE batches, and each event is judged by its own time.
        let body = |id: &str, days_ago: i64| {
            let mut v: serde_json::Value =
                serde_json::from_slice(&text_body_at(id, "Ulate", "遅れて届いた", "rt-late", at(days_ago))).unwrap();
            v["events"][0]["deliveryContext"]["isRedelivery"] = json!(true);
            v["events"][0].clone()
        };
        let both = json!({ "destination": "U0000000000000000000000000000000d", "events": [body("ev-late-6", 6), body("ev-late-8", 8)] })
            .to_string()
            .into_bytes();
        let summary = service.ingest.ingest(&both, Some(&sign(&both))).await.unwrap();
        assert_eq!((summary.new, summary.stale), (1, 1), "{name}: six days late is handled, eight is not");
        assert_eq!(summary.logged[0].event_id.as_str(), "ev-late-6", "{name}");
        assert_eq!(logged(&store, "Ulate").await, 1, "{name}");
        assert_eq!(metrics.total(line_oa::domain::metrics::STALE_EVENTS_IGNORED), 1, "{name}");
    }
}

#[tokio::test]
async fn the_local_server_as_shipped_answers_a_fresh_event_and_never_a_replayed_old_one() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let config = line_oa::config::from_lookup(|k| match k {
        "LINE_CHANNEL_SECRET" => Some(crate::support::TEST_SECRET.into()),
        "LINE_CHANNEL_ACCESS_TOKEN" => Some("it-access-token".into()),
        "LINE_API_BASE_URL" | "LINE_DATA_API_BASE_URL" => Some(standin.base_url()),
        "SETTINGS_TOML" => Some(SETTINGS.into()),
        _ => None,
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = line_oa::local::LocalApp::start(&config, dir.path(), crate::support::apps::test_retry()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app.router).await.unwrap() });
    let client = reqwest::Client::new();

    // An event sent in 2016 (the time of LINE's own fixtures): a captured body, replayed.
    let old = crate::support::apps::text_body_at("ev-old", "Uold", "こんにちは", "rt-old", 1_462_629_479_859);
    let (status, answer) = crate::support::apps::post_webhook(&client, &url, &old, Some(&sign(&old))).await;
    assert_eq!(status, 200, "acknowledged: {answer}");
    assert_eq!((answer["logged"].as_u64(), answer["stale"].as_u64()), (Some(0), Some(1)), "{answer}");

    let fresh = crate::support::apps::text_body_at("ev-fresh", "Ufresh", "こんにちは", "rt-fresh", now_ms());
    let (status, answer) = crate::support::apps::post_webhook(&client, &url, &fresh, Some(&sign(&fresh))).await;
    assert_eq!((status, answer["logged"].as_u64()), (200, Some(1)), "{answer}");
    let seen = crate::support::apps::wait_for_requests(&standin, 1, std::time::Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 1, "the fresh event's reply");
    assert_eq!(seen[0].body.as_ref().unwrap()["replyToken"], "rt-fresh", "{:?}", seen[0].body);
    // The old one was never logged, so never queued: nothing more is sent once the server settles.
    assert_eq!(logged(&(Arc::new(app.store.clone()) as Arc<dyn Store>), "Uold").await, 0);
    crate::support::apps::settled(&app.settle).await;
    assert_eq!(standin.requests().len(), 1, "no reply for the replay");
}
