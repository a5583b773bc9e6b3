//! What the archive survives. A log item the archiver cannot read fails its stream batch from
//! that record on (retried, then parked), never skipped, and is counted. A legal hold's TTL drop
//! that fails after the item was written is made good by the redelivery: the fault is injected
//! on the wire, by a proxy in front of the DynamoDB-protocol server that fails every
//! TTL-removing UpdateItem while armed (the SDK's own retries included); for an automatic
//! reply's outcome, the redelivery is the stream's.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use line_oa::domain::hold::Hold;
use line_oa::domain::ids::ConversationId;
use line_oa::domain::metrics::UNREADABLE_STREAM_RECORDS;
use line_oa::lambda::archiver::archive_stream_batch;
use line_oa::metrics::Metrics;
use line_oa::service::archive::Archiver;
use line_oa::service::HandleOutcome;
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::{log_sort_key, Claim, EventLog, Holds, Inserted, OutboundRecord, OutboundStatus, SendMethod, Store, StoreError};

use crate::contract::inbound;
use crate::support::apps::{service, text_body, SETTINGS};
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::sign;

fn insert(sequence: &str, image: serde_dynamo::Item) -> EventRecord {
    let mut record = EventRecord::default();
    record.event_name = "INSERT".into();
    record.change.sequence_number = Some(sequence.into());
    record.change.new_image = image;
    record
}

#[tokio::test]
async fn an_unreadable_log_item_on_the_stream_fails_its_batch_from_that_record_and_is_counted() {
    let client = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&client).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    for id in ["u1", "u2"] {
        store.put_inbound(&inbound("Uunread", id, 1_764_000_000_000 + id.len() as i64)).await.unwrap();
    }
    let mut images = client.scan().table_name(&table).send().await.unwrap().items.unwrap();
    images.sort_by_key(|i| i["sk"].as_s().unwrap().clone());
    // A log item someone edited by hand: `dir` says inbound, `timestamp_ms` is no number.
    let mut bad = images[0].clone();
    bad.insert("sk".into(), AttributeValue::S("MSG#1764000000001#I#edited".into()));
    bad.insert("timestamp_ms".into(), AttributeValue::S("yesterday".into()));
    let mut batch = StreamEvent::default();
    batch.records = vec![
        insert("100", serde_dynamo::Item::from(images[0].clone())),
        insert("101", serde_dynamo::Item::from(bad)),
        insert("102", serde_dynamo::Item::from(images[1].clone())),
    ];

    let archive = crate::archive_contract::dir_archive().await;
    let (metrics, emitted) = Metrics::kept("line-oa/it", "archiver");
    let archiver = Archiver::new(archive.clone()).with_metrics(metrics);
    let response = archive_stream_batch(&archiver, batch.clone()).await;
    let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, vec![Some("101".to_owned())], "Lambda retries from the unreadable record, not past it");
    assert_eq!(emitted.total(UNREADABLE_STREAM_RECORDS), 1, "counted: the metric the UnreadableStreamRecordsAlarm watches");
    let conversation = ConversationId::user("Uunread");
    assert_eq!(archiver.verify(&conversation).await.unwrap().unwrap().items, 1, "what came before it is archived");

    // Lambda's retry starts at that record: it fails again (and again, until parked), counted each time.
    let mut retried = batch;
    retried.records.remove(0);
    let response = archive_stream_batch(&archiver, retried).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(emitted.total(UNREADABLE_STREAM_RECORDS), 2);
    assert_eq!(archiver.verify(&conversation).await.unwrap().unwrap().items, 1, "nothing after it is skipped past either");
}

/// A proxy in front of the DynamoDB-protocol server that, while armed, answers every
/// UpdateItem removing an attribute (the legal hold's TTL drop) with a 500, as DynamoDB does
/// when it fails; everything else is passed through unchanged.
#[derive(Clone)]
struct FailingTtlDrops {
    upstream: String,
    armed: Arc<AtomicBool>,
    failed: Arc<AtomicUsize>,
    http: reqwest::Client,
}

async fn proxy(State(p): State<FailingTtlDrops>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if p.armed.load(Ordering::SeqCst) && target.ends_with(".UpdateItem") && String::from_utf8_lossy(&body).contains("REMOVE") {
        p.failed.fetch_add(1, Ordering::SeqCst);
        let error = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected by the test"}"#;
        return (StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "application/x-amz-json-1.0")], error).into_response();
    }
    let mut request = p.http.request(method, format!("{}{}", p.upstream, uri.path_and_query().map_or("/", |q| q.as_str())));
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let upstream = request.body(body).send().await.expect("the DynamoDB-protocol server answers");
    let mut response = Response::builder().status(upstream.status().as_u16());
    for (name, value) in upstream.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    response.body(axum::body::Body::from(upstream.bytes().await.unwrap())).unwrap()
}

impl FailingTtlDrops {
    async fn start() -> (Self, String) {
        let p = FailingTtlDrops {
            upstream: crate::support::moto_endpoint(),
            armed: Arc::default(),
            failed: Arc::default(),
            http: reqwest::Client::new(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(proxy).with_state(p.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (p, url)
    }

    fn arm(&self, on: bool) {
        self.armed.store(on, Ordering::SeqCst);
    }
}

fn client_via(url: &str) -> aws_sdk_dynamodb::Client {
    let creds = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "tests");
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_dynamodb::config::Region::new("ap-northeast-1"))
            .credentials_provider(creds)
            .endpoint_url(url)
            .build(),
    )
}

async fn ttl_attribute(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str, sk: &str) -> Option<AttributeValue> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item.expect("the item is logged").get("expires_at").cloned()
}

#[tokio::test]
async fn a_failed_hold_ttl_drop_followed_by_a_redelivery_ends_with_no_ttl_on_the_item() {
    let direct = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&direct).await;
    let (faults, url) = FailingTtlDrops::start().await;
    let store = DynamoStore::new(client_via(&url), table.clone());
    let conversation = ConversationId::user("Uredeliver");
    store.set_hold(&Hold { conversation: conversation.clone(), reason: "claim 2026-17".into(), since_ms: 1 }).await.unwrap();
    let pk = "CONV#user:Uredeliver";

    // The event is written, its TTL drop fails: the webhook answers 503 and LINE redelivers.
    let event = inbound("Uredeliver", "rd-1", 1_764_000_000_000);
    let sk = log_sort_key(event.timestamp_ms, true, "rd-1");
    faults.arm(true);
    let err = store.put_inbound(&event).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert!(faults.failed.load(Ordering::SeqCst) >= 1, "the drop really failed on the wire");
    assert!(ttl_attribute(&direct, &table, pk, &sk).await.is_some(), "written with its TTL: a held item that would expire");
    faults.arm(false);
    assert_eq!(store.put_inbound(&event).await.unwrap(), Inserted::Duplicate, "the redelivery is a duplicate...");
    assert_eq!(ttl_attribute(&direct, &table, pk, &sk).await, None, "...and the held item has lost its TTL");

    // The same for the reply: the claim is written, its drop fails, the stream batch is retried.
    let reply = OutboundRecord {
        conversation: conversation.clone(),
        id: "rd-1".into(),
        timestamp_ms: event.timestamp_ms,
        created_ms: event.timestamp_ms + 1_000,
        method: SendMethod::Reply,
        messages: "[]".into(),
        status: OutboundStatus::Sending,
        reason: "default".into(),
        expires_at: Some(event.timestamp_ms / 1000 + 365 * 86_400),
    };
    let sk = log_sort_key(reply.timestamp_ms, false, "rd-1");
    faults.arm(true);
    assert!(store.claim_outbound(&reply).await.is_err());
    faults.arm(false);
    assert!(ttl_attribute(&direct, &table, pk, &sk).await.is_some());
    assert!(matches!(store.claim_outbound(&reply).await.unwrap(), Claim::Exists(_)), "the retry finds its claim...");
    assert_eq!(ttl_attribute(&direct, &table, pk, &sk).await, None, "...and the drop is made good");

    // Recording the outcome writes the whole item (its TTL with it) and fails to drop it again:
    // the retried handling claims first, which drops it.
    let mut sent = reply.clone();
    sent.status = OutboundStatus::Sent;
    faults.arm(true);
    assert!(store.finish_outbound(&sent).await.is_err());
    faults.arm(false);
    assert!(ttl_attribute(&direct, &table, pk, &sk).await.is_some());
    assert!(matches!(store.claim_outbound(&reply).await.unwrap(), Claim::Exists(r) if r.status == OutboundStatus::Sent));
    assert_eq!(ttl_attribute(&direct, &table, pk, &sk).await, None);
}

/// The same through the worker: an automatic reply's outcome is written once, after the send;
/// if its TTL drop fails, the handling fails and the stream hands the record over again, which
/// finds the reply done and writes its outcome again, dropping the TTL. Nothing is sent twice.
#[tokio::test]
async fn a_failed_ttl_drop_of_an_automatic_replys_outcome_is_made_good_by_the_redelivered_record() {
    let direct = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&direct).await;
    let (faults, url) = FailingTtlDrops::start().await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client_via(&url), table.clone()));
    let conversation = ConversationId::user("Uheldreply");
    store.set_hold(&Hold { conversation: conversation.clone(), reason: "claim 2026-18".into(), since_ms: 1 }).await.unwrap();
    let standin = LineStandin::start(StandinOptions::default()).await;
    let service = service(store.clone(), &standin, SETTINGS);
    let body = text_body("hr-1", "Uheldreply", "こんにちは", "rt-hr-1");
    let record = service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap().logged.remove(0);
    faults.arm(true);
    assert!(service.handler.handle(&record).await.is_err(), "the outcome's TTL drop failed: so does the handling");
    faults.arm(false);
    let (pk, sk) = ("CONV#user:Uheldreply", log_sort_key(record.timestamp_ms, false, "hr-1"));
    assert!(ttl_attribute(&direct, &table, pk, &sk).await.is_some(), "the outcome was written with its TTL");
    assert_eq!(service.handler.handle(&record).await.unwrap(), HandleOutcome::AlreadyHandled);
    assert_eq!(ttl_attribute(&direct, &table, pk, &sk).await, None, "the redelivered record made the drop good");
    let replies = standin.requests().into_iter().filter(|r| r.path == "/v2/bot/message/reply").count();
    assert_eq!(replies, 1, "sent once");
}

#[tokio::test]
async fn on_the_embedded_store_a_held_item_gets_no_ttl_on_any_write_in_the_same_transaction() {
    let store = crate::contract::embedded_store().await;
    let conversation = ConversationId::user("Uembheld");
    store.set_hold(&Hold { conversation: conversation.clone(), reason: "r".into(), since_ms: 1 }).await.unwrap();
    let event = inbound("Uembheld", "eh-1", 1_764_000_000_000);
    assert_eq!(store.put_inbound(&event).await.unwrap(), Inserted::New);
    assert_eq!(store.put_inbound(&event).await.unwrap(), Inserted::Duplicate);
    let page = store.log(&conversation, &line_oa::store::PageRequest { limit: 10, after: None }).await.unwrap();
    assert!(page.items.iter().all(|i| line_oa::domain::hold::ttl_of(i) == line_oa::domain::log::NO_TTL), "{page:?}");
}
