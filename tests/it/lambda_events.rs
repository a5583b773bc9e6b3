//! The Lambda entrypoints in-process: the committed API Gateway events through the webhook
//! router (as `lambda_http` hands them over), DynamoDB on the protocol server, then the
//! stream worker on the logged items.

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use line_oa::domain::secret::Secret;
use line_oa::domain::signature::SignatureVerifier;
use line_oa::http::{ignore_logged, router, AppState};
use line_oa::line_api::logging::LoggingLineApi;
use line_oa::service::{system_clock, Service};
use line_oa::settings::Settings;
use line_oa::store::dynamodb::DynamoStore;
use tower::ServiceExt;

use crate::support::apps::{service, SETTINGS};
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::{create_table, dynamo_client, repo_dir, table_item_count};

/// The public secret the committed events are signed with (events/README.md).
const EVENTS_SECRET: &str = "events-test-channel-secret";

async fn invoke(app: &axum::Router, name: &str) -> (u16, serde_json::Value) {
    let json = std::fs::read_to_string(repo_dir().join("events").join(name)).unwrap();
    let request = lambda_http::request::from_str(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// Retention and replay window for events dated 2025 (`REPLAY_WINDOW_DAYS`, `RETENTION_DAYS`).
const WIDE: u32 = 36_500;

#[tokio::test]
async fn committed_events_get_their_statuses_and_the_worker_replies_once() {
    let client = dynamo_client().await;
    let table = create_table(&client).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let verifier = SignatureVerifier::new(Secret::new(EVENTS_SECRET).unwrap(), None);
    // The events are dated 2025: the window widened as events/README.md says to.
    let webhook = Service::new(verifier, Arc::new(store.clone()), Arc::new(LoggingLineApi), Settings::default(), WIDE, system_clock())
        .with_replay_window_days(WIDE);
    let app = router(AppState { service: webhook, on_logged: ignore_logged() });

    assert_eq!(invoke(&app, "bad-signature.json").await.0, 401);
    assert_eq!(table_item_count(&client, &table).await, 0, "a bad signature writes nothing");
    assert_eq!(invoke(&app, "verify.json").await.0, 200);
    let (status, body) = invoke(&app, "text.json").await;
    assert_eq!((status, body["logged"].as_u64()), (200, Some(1)));
    let (status, body) = invoke(&app, "redelivery.json").await;
    assert_eq!((status, body["duplicates"].as_u64()), (200, Some(1)), "a redelivery is acknowledged, not logged again");
    let (status, body) = invoke(&app, "text-base64.json").await;
    assert_eq!((status, body["duplicates"].as_u64()), (200, Some(1)), "a Base64 body is decoded before verifying");
    assert_eq!(invoke(&app, "follow.json").await.0, 200);
    assert_eq!(invoke(&app, "group-message.json").await.0, 200);
    assert_eq!(table_item_count(&client, &table).await, 3);

    // The stream hands every INSERT to the worker, and may hand it again.
    let scan = client.scan().table_name(&table).send().await.unwrap().items.unwrap_or_default();
    let mut batch = StreamEvent::default();
    for (i, item) in scan.into_iter().enumerate() {
        let mut record = EventRecord::default();
        record.event_name = "INSERT".into();
        record.change.sequence_number = Some(format!("{}", 100 + i));
        record.change.new_image = serde_dynamo::Item::from(item);
        batch.records.push(record);
    }
    let standin = LineStandin::start(StandinOptions::default()).await;
    let worker = service(Arc::new(store.clone()), &standin, SETTINGS);
    let first = line_oa::worker::handle_stream_batch(&worker, batch.clone()).await;
    assert!(first.batch_item_failures.is_empty());
    let again = line_oa::worker::handle_stream_batch(&worker, batch).await;
    assert!(again.batch_item_failures.is_empty());
    let replies: Vec<_> = standin.requests().into_iter().filter(|r| r.path == "/v2/bot/message/reply").collect();
    assert_eq!(replies.len(), 2, "the text and the follow are answered once each; the group is not");
    standin.assert_all_valid();
}

#[tokio::test]
async fn a_store_outage_is_503_so_line_redelivers_and_nothing_is_sent() {
    // A table that does not exist stands in for DynamoDB failing.
    let client = dynamo_client().await;
    let store = DynamoStore::new(client, "no-such-table");
    let verifier = SignatureVerifier::new(Secret::new(EVENTS_SECRET).unwrap(), None);
    let standin = LineStandin::start(StandinOptions::default()).await;
    let webhook = service(Arc::new(store), &standin, SETTINGS);
    let webhook = Service::new(verifier, webhook.store().clone(), Arc::new(LoggingLineApi), Settings::default(), WIDE, system_clock())
        .with_replay_window_days(WIDE);
    let app = router(AppState { service: webhook, on_logged: ignore_logged() });
    let (status, body) = invoke(&app, "text.json").await;
    assert!(status >= 500, "{status} {body}");
    assert_eq!(standin.requests().len(), 0);
}
