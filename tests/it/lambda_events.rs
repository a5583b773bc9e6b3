//! The Lambda entrypoints in-process: the committed API Gateway events through the webhook
//! router (as `lambda_http` hands them over), DynamoDB on the protocol server, then the
//! stream worker on the logged items; and what becomes of a stream record that fails, by its
//! retry class: passed over and counted when it can never succeed, retried from otherwise.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_sdk_dynamodb::types::AttributeValue;
use line_oa::blob::dir::DirBlobStore;
use line_oa::domain::metrics::SKIPPED_STREAM_RECORDS;
use line_oa::domain::secret::Secret;
use line_oa::domain::signature::SignatureVerifier;
use line_oa::http::{ignore_logged, router, AppState};
use line_oa::lambda::{Class, LambdaError};
use line_oa::metrics::Metrics;
use line_oa::service::archive::Archiver;
use line_oa::service::{system_clock, Ingest, Retention};
use line_oa::store::dynamodb::DynamoStore;
use tower::ServiceExt;

use crate::support::apps::{service, worker, SETTINGS};
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

/// The webhook function's router over `store`, keyed by the events' secret, with the window
/// widened as events/README.md says to (the events are dated 2025).
fn webhook_app(store: Arc<dyn line_oa::store::Store>) -> axum::Router {
    let verifier = SignatureVerifier::new(Secret::new(EVENTS_SECRET).unwrap(), None);
    let ingest = Ingest::new(verifier, store, Retention::new(system_clock(), WIDE)).with_replay_window_days(Some(WIDE));
    router(AppState { ingest, on_logged: ignore_logged() })
}

#[tokio::test]
async fn committed_events_get_their_statuses_and_the_worker_replies_once() {
    let client = dynamo_client().await;
    let table = create_table(&client).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let app = webhook_app(Arc::new(store.clone()));

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
    let worker = worker(service(Arc::new(store.clone()), &standin, SETTINGS), Metrics::off());
    let first = line_oa::lambda::worker::handle_stream_batch(&worker, batch.clone()).await;
    assert!(first.batch_item_failures.is_empty());
    let again = line_oa::lambda::worker::handle_stream_batch(&worker, batch).await;
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
    let standin = LineStandin::start(StandinOptions::default()).await;
    let app = webhook_app(Arc::new(store));
    let (status, body) = invoke(&app, "text.json").await;
    assert!(status >= 500, "{status} {body}");
    assert_eq!(standin.requests().len(), 0);
}

/// The inbound items the committed events `names` log, oldest first, in a table of their own.
async fn logged_images(names: &[&str]) -> (DynamoStore, Vec<HashMap<String, AttributeValue>>) {
    let client = dynamo_client().await;
    let table = create_table(&client).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let app = webhook_app(Arc::new(store.clone()));
    for name in names {
        assert_eq!(invoke(&app, name).await.0, 200, "{name}");
    }
    let scan = client.scan().table_name(&table).send().await.unwrap().items.unwrap_or_default();
    let mut images: Vec<_> = scan.into_iter().filter(|i| i.get("dir").and_then(|d| d.as_s().ok()).is_some_and(|d| d == "in")).collect();
    images.sort_by_key(|i| i["timestamp_ms"].as_n().unwrap().parse::<i64>().unwrap());
    assert_eq!(images.len(), names.len());
    (store, images)
}

/// `image` with `attribute` set to `value`, under a sort key of its own.
fn edited(image: &HashMap<String, AttributeValue>, attribute: &str, value: &str) -> HashMap<String, AttributeValue> {
    let mut image = image.clone();
    let sk = format!("{}#edited", image["sk"].as_s().unwrap());
    image.insert("sk".into(), AttributeValue::S(sk));
    image.insert(attribute.into(), AttributeValue::S(value.into()));
    image
}

fn inserts(images: &[HashMap<String, AttributeValue>]) -> StreamEvent {
    let mut batch = StreamEvent::default();
    for (i, image) in images.iter().enumerate() {
        let mut record = EventRecord::default();
        record.event_name = "INSERT".into();
        record.change.sequence_number = Some(format!("{}", 100 + i));
        record.change.new_image = serde_dynamo::Item::from(image.clone());
        batch.records.push(record);
    }
    batch
}

fn failed_at(response: &aws_lambda_events::event::streams::DynamoDbEventResponse) -> Vec<Option<String>> {
    response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect()
}

fn replies(standin: &LineStandin) -> usize {
    standin.requests().into_iter().filter(|r| r.path == "/v2/bot/message/reply").count()
}

#[tokio::test]
async fn the_worker_passes_over_what_it_can_never_handle_counts_it_and_answers_the_rest() {
    let (store, images) = logged_images(&["text.json", "follow.json"]).await;
    // A log item edited by hand (its time is no number), and one whose event is not JSON.
    let unreadable = edited(&images[0], "timestamp_ms", "yesterday");
    let not_an_event = edited(&images[1], "raw", "not json");
    let batch = inserts(&[images[0].clone(), unreadable, not_an_event, images[1].clone()]);

    let standin = LineStandin::start(StandinOptions::default()).await;
    let (metrics, kept) = Metrics::kept("line-oa/it", "worker");
    let worker = worker(service(Arc::new(store), &standin, SETTINGS), metrics);
    let response = line_oa::lambda::worker::handle_stream_batch(&worker, batch).await;
    assert_eq!(failed_at(&response), Vec::<Option<String>>::new(), "retrying them would fail the same way: not retried");
    assert_eq!(kept.total(SKIPPED_STREAM_RECORDS), 2, "each counted: the metric SkippedStreamRecordsAlarm watches");
    assert_eq!(replies(&standin), 2, "the records around them are answered");
    standin.assert_all_valid();
}

#[tokio::test]
async fn a_store_outage_fails_the_worker_batch_from_the_record_it_reached_so_lambda_retries_it() {
    let (_, images) = logged_images(&["text.json", "follow.json"]).await;
    let unreadable = edited(&images[0], "timestamp_ms", "yesterday");
    let batch = inserts(&[unreadable, images[0].clone(), images[1].clone()]);
    // A table that does not exist stands in for DynamoDB failing.
    let store = DynamoStore::new(dynamo_client().await, "no-such-table");
    let standin = LineStandin::start(StandinOptions::default()).await;
    let (metrics, kept) = Metrics::kept("line-oa/it", "worker");
    let worker = worker(service(Arc::new(store), &standin, SETTINGS), metrics);
    let response = line_oa::lambda::worker::handle_stream_batch(&worker, batch).await;
    assert_eq!(failed_at(&response), [Some("101".to_owned())], "retried from the first record the outage failed, the rest with it");
    assert_eq!(kept.total(SKIPPED_STREAM_RECORDS), 1, "the unreadable one before it was passed over");
    assert_eq!(replies(&standin), 0, "nothing is sent that was not claimed");
}

#[tokio::test]
async fn what_a_function_reports_names_its_retry_class() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let worker = worker(service(Arc::new(DynamoStore::new(dynamo_client().await, "no-such-table")), &standin, SETTINGS), Metrics::off());
    let err = line_oa::lambda::worker::handle_worker_event(&worker, serde_json::json!({ "hello": 1 })).await.unwrap_err();
    assert_eq!(err.class(), Class::Permanent);
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Permanent.UnknownInput");
    assert!(diagnostic.error_message.starts_with("not a DynamoDB Stream batch nor a known task"), "{}", diagnostic.error_message);
    let err = line_oa::lambda::worker::handle_worker_event(&worker, serde_json::json!({ "task": "renotify" })).await.unwrap_err();
    assert_eq!(err.error_type(), "Retryable.StoreUnavailable", "{err}");
    assert!(err.to_string().starts_with("re-notify sweep failed: store unavailable"), "{err}");
}

#[tokio::test]
async fn an_archive_outage_fails_the_whole_archiver_batch_as_retryable() {
    let (_, images) = logged_images(&["text.json", "follow.json"]).await;
    let batch = inserts(&images);
    // A folder that cannot be created (a file is in the way) stands in for S3 failing.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("archive"), b"a file").unwrap();
    let archiver = Archiver::new(Arc::new(DirBlobStore::new(dir.path().join("archive"))));
    let response = line_oa::lambda::archiver::archive_stream_batch(&archiver, batch.clone()).await;
    assert_eq!(failed_at(&response), [Some("100".to_owned())], "idempotent: the batch is retried from its first record");
    let err = LambdaError::from(line_oa::lambda::archiver::archive_stream_records(&archiver, batch).await.unwrap_err());
    assert_eq!((err.class(), err.error_type().as_str()), (Class::Retryable, "Retryable.ArchiveUnavailable"), "{err}");
}
