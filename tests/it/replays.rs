//! Replays and bad client input: an event without a timestamp is still one event on
//! redelivery; a body for another bot is refused; a DynamoDB validation error from client
//! input is a 400 that changes nothing.

use std::sync::Arc;

use line_oa::domain::ids::ConversationId;
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{PageRequest, Store};
use serde_json::json;

use crate::support::apps::{service, text_body_at, SETTINGS};
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
        let service = service(store.clone(), &standin, SETTINGS);
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
        assert_eq!(service.ingest(&first, Some(&sign(&first))).await.unwrap().new, 1, "{name}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await; // a later receive time
        event["deliveryContext"]["isRedelivery"] = json!(true);
        let again = body(&event);
        let summary = service.ingest(&again, Some(&sign(&again))).await.unwrap();
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
    let service = service(store.clone(), &standin, SETTINGS).with_bot_user_id(Some("U0000000000000000000000000000000d".into()));
    let ours = text_body_at("ev-dest-1", "Udest", "こんにちは", "rt-d1", now_ms());
    assert_eq!(service.ingest(&ours, Some(&sign(&ours))).await.unwrap().new, 1);
    let theirs = String::from_utf8(text_body_at("ev-dest-2", "Udest", "こんにちは", "rt-d2", now_ms()))
        .unwrap()
        .replace("U0000000000000000000000000000000d", "U1111111111111111111111111111111e");
    let err = service.ingest(theirs.as_bytes(), Some(&sign(theirs.as_bytes()))).await.unwrap_err();
    assert!(err.to_string().contains("not this channel's bot"), "{err}");
    assert_eq!(logged(&store, "Udest").await, 1, "nothing more logged");
}

#[tokio::test]
async fn an_oversized_id_from_a_client_is_a_400_not_a_503() {
    let client = dynamo_client().await;
    let table = create_table(&client).await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client, table));
    let standin = LineStandin::start(StandinOptions::default()).await;
    let service = service(store.clone(), &standin, SETTINGS);
    let app = line_oa::http::router(line_oa::http::AppState { service, on_logged: line_oa::http::ignore_logged() });
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
