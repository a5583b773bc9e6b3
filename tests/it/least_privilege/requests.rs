//! Each function's real DynamoDB traffic against its role in template.yaml: the webhook, the
//! worker, the operator API and the exporter run their code paths over a DynamoDB client that
//! notes every request (moto's protocol server on 127.0.0.1), and every request must be one
//! the function's role allows. A new item type written by a function fails here until the
//! template grants it, on purpose.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use axum::body::Body;
use line_oa::blob::s3::S3BlobStore;
use line_oa::config::{self, Credentials};
use line_oa::domain::hold::Hold;
use line_oa::domain::ids::ConversationId;
use line_oa::domain::staff::{hash_token, TokenTable};
use line_oa::export::sns::SnsLauncher;
use line_oa::http::operator::Authenticator;
use line_oa::http::{ignore_logged, router, AppState};
use line_oa::service::audit::AuditTrail;
use line_oa::service::export::jobs::ExportJobs;
use line_oa::service::operator::MediaCopies;
use line_oa::service::{system_clock, Ingest, Retention, Service};
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::{Conversations, EventLog, Holds, LogItem, PageRequest, Store};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::policy::{refused, role_of, statements, template, Request, Statement};
use super::record;
use crate::support::apps::{service, text_body_at, worker, SETTINGS};
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::{create_bucket, create_table, s3_client, sign, TEST_SECRET};
use line_oa::metrics::Metrics;

const ADMIN_TOKEN: &str = "loa_admin_token_for_least_privilege_0123456789abcdef0123456789";

fn role(function: &str) -> Vec<Statement> {
    let t = template();
    statements(&t, &role_of(&t, function))
}

#[track_caller]
fn assert_all_allowed(function: &str, role: &[Statement], requests: &[Request]) {
    assert!(!requests.is_empty(), "{function} sent nothing: the scenario did not run");
    let refused = refused(role, requests);
    assert!(refused.is_empty(), "{function}'s role (template.yaml) refuses what it does: {refused:#?}");
}

fn writes(requests: &[Request]) -> impl Iterator<Item = &Request> {
    requests.iter().filter(|r| ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"].contains(&r.action.as_str()))
}

struct Table {
    name: String,
    /// Sets things up, unrecorded.
    setup: DynamoStore,
    /// What the function under test uses.
    recorded: DynamoStore,
    recorder: record::Recorder,
}

/// A table on the protocol server, with a plain store and a recording one on it.
async fn table() -> Table {
    let plain = crate::support::dynamo_client().await;
    let name = create_table(&plain).await;
    let (client, recorder) = record::dynamo_client();
    Table { setup: DynamoStore::new(plain, name.clone()), recorded: DynamoStore::new(client, name.clone()), name, recorder }
}

async fn post_webhook(app: &axum::Router, body: &[u8]) -> u16 {
    let request = axum::http::Request::post("/webhook")
        .header("content-type", "application/json")
        .header("x-line-signature", sign(body))
        .body(Body::from(body.to_vec()))
        .unwrap();
    app.clone().oneshot(request).await.unwrap().status().as_u16()
}

/// Users write, as the webhook and the worker would (not recorded).
async fn user_writes(setup: &Service, store: &DynamoStore, user: &str, text: &str, event_id: &str, at_ms: i64) {
    let body = text_body_at(event_id, user, text, &format!("token-{event_id}"), at_ms);
    setup.ingest.ingest(&body, Some(&sign(&body))).await.expect("ingest");
    let page = store.log(&ConversationId::user(user), &PageRequest { limit: 100, after: None }).await.unwrap();
    for item in page.items {
        if let LogItem::In(record) = item {
            if record.event_id.as_str() == event_id {
                setup.handler.handle(&record).await.expect("handle");
            }
        }
    }
}

#[tokio::test]
async fn the_webhook_and_the_worker_do_only_what_their_roles_allow() {
    let Table { name, setup, recorded: store, recorder } = table().await;
    // A conversation under legal hold: a logged event loses its TTL (UpdateItem).
    setup.set_hold(&Hold { conversation: ConversationId::user("Uheld"), reason: "case 1".into(), since_ms: 0 }).await.unwrap();
    recorder.take();

    // The webhook as src/bin/webhook.rs builds it, configured as on Lambda.
    let lookup = |k: &str| match k {
        "LINE_CHANNEL_SECRET" => Some(TEST_SECRET.to_owned()),
        config::LAMBDA_FUNCTION_NAME_KEY => Some("line-oa-webhook".to_owned()),
        _ => None,
    };
    let config = config::from_lookup_for(lookup, Credentials::ChannelSecret).unwrap();
    store.warm().await.unwrap();
    let ingest = Ingest::new(config.verifier, Arc::new(store.clone()), Retention::new(system_clock(), 365));
    let app = router(AppState { ingest, on_logged: ignore_logged() });
    let now = jiff::Timestamp::now().as_millisecond();
    for body in [
        text_body_at("ev-1", "U1", "予約したいです", "rt-1", now - 1_000),
        text_body_at("ev-1", "U1", "予約したいです", "rt-1", now - 1_000),
        text_body_at("ev-2", "Uheld", "hello", "rt-2", now),
        text_body_at("ev-3", "U2", "こんにちは", "rt-3", now),
    ] {
        assert_eq!(post_webhook(&app, &body).await, 200);
    }
    let requests = recorder.take();
    assert_all_allowed("WebhookFunction", &role("WebhookFunction"), &requests);
    for sid in ["ConversationItems", "WarmUp"] {
        let without: Vec<Statement> = role("WebhookFunction").into_iter().filter(|s| s.sid != sid).collect();
        assert!(!refused(&without, &requests).is_empty(), "nothing needed {sid}");
    }
    assert!(writes(&requests).all(|r| r.leading_keys.iter().all(|k| k.starts_with("CONV#"))), "{requests:#?}");
    assert!(
        requests.iter().any(|r| r.action == "dynamodb:UpdateItem" && r.leading_keys == ["CONV#user:Uheld"]),
        "the held conversation's event lost its TTL: {requests:#?}"
    );

    // The worker on the stream records of what the webhook logged, then the re-notify sweep.
    let client = crate::support::dynamo_client().await;
    let scan = client.scan().table_name(&name).send().await.unwrap().items.unwrap_or_default();
    let mut batch = StreamEvent::default();
    for (i, item) in scan.into_iter().filter(|i| i.contains_key("dir")).enumerate() {
        let mut record = EventRecord::default();
        record.event_name = "INSERT".into();
        record.change.sequence_number = Some(format!("{}", 100 + i));
        record.change.new_image = serde_dynamo::Item::from(item);
        batch.records.push(record);
    }
    assert!(batch.records.len() >= 3);
    let standin = LineStandin::start(StandinOptions::default()).await;
    let worker = worker(service(Arc::new(store.clone()), &standin, SETTINGS), Metrics::off());
    let outcome = line_oa::lambda::worker::handle_stream_batch(&worker, batch).await;
    assert!(outcome.batch_item_failures.is_empty());
    line_oa::lambda::worker::handle_worker_event(&worker, json!({ "task": "renotify" })).await.expect("the sweep runs");
    assert!(standin.requests().iter().any(|r| r.path == "/v2/bot/message/reply"), "the worker replied");
    assert_all_allowed("WorkerFunction", &role("WorkerFunction"), &recorder.take());
}

struct Operator {
    router: axum::Router,
    /// What the operator function published (the export launch), with the topic's ARN.
    sns: record::Recorder,
    topic_arn: String,
}

impl Operator {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = axum::http::Request::builder().method(method).uri(path).header("authorization", format!("Bearer {ADMIN_TOKEN}"));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(body.map_or(Body::empty(), |b| Body::from(b.to_string()))).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// A call that must succeed: the request really ran its code path.
    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, path, body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
        answer
    }
}

/// The operator API as src/bin/operator.rs builds it (staff signed in with a token here).
async fn operator_over(dynamo: &DynamoStore, standin: &LineStandin) -> Operator {
    let store: Arc<dyn Store> = Arc::new(dynamo.clone());
    let tz = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    let s3 = s3_client().await;
    let bucket = create_bucket(&s3).await;
    // As on AWS: a saved job is launched through the topic the exporter function is subscribed to.
    let (sns, sns_recorder) = record::sns_client();
    let topic = format!("line-oa-export-jobs-{}", uuid::Uuid::new_v4().simple());
    let topic_arn = sns.create_topic().name(topic).send().await.expect("CreateTopic").topic_arn.unwrap();
    sns_recorder.take();
    let exports = ExportJobs::new(
        store.clone(),
        Arc::new(S3BlobStore::new(s3.clone(), &bucket)),
        Duration::from_secs(900),
        Arc::new(SnsLauncher::new(sns, topic_arn.clone())),
        tz,
        system_clock(),
    );
    let archive = Arc::new(line_oa::blob::s3::S3BlobStore::new(s3.clone(), create_bucket(&s3).await));
    let auth = Authenticator::Tokens(Arc::new(TokenTable::parse(&format!("alice:admin:{}", hash_token(ADMIN_TOKEN))).unwrap()));
    let operator = service(store.clone(), standin, SETTINGS).operator;
    let trail = AuditTrail::new(Arc::new(dynamo.clone()), system_clock(), 365);
    let router = line_oa::http::operator::router(operator, auth, exports, MediaCopies::new(archive), trail);
    Operator { router, sns: sns_recorder, topic_arn }
}

#[tokio::test]
async fn staff_actions_do_only_what_the_operator_role_allows_and_delete_nothing_in_a_conversation() {
    let Table { setup, recorded: store, recorder, .. } = table().await;
    let standin = LineStandin::start(StandinOptions::default()).await;
    let users = service(Arc::new(setup.clone()), &standin, SETTINGS);
    let now = jiff::Timestamp::now().as_millisecond();
    user_writes(&users, &setup, "U1", "キャンセルできますか", "ev-1", now - 2_000).await;
    user_writes(&users, &setup, "U2", "hello there", "ev-2", now - 1_000).await;
    let op = operator_over(&store, &standin).await;
    recorder.take();

    let (u1, u2) = ("user:U1", "user:U2");
    op.ok("GET", "/api/conversations", None).await;
    op.ok("GET", "/api/inbox", None).await;
    op.ok("GET", &format!("/api/conversations/{u1}"), None).await;
    op.ok("GET", &format!("/api/conversations/{u1}/messages"), None).await;
    let reply = json!({ "messages": [{ "type": "text", "text": "承知しました。" }], "client_id": "c-1" });
    op.ok("POST", &format!("/api/conversations/{u1}/messages"), Some(reply)).await;
    op.ok("POST", &format!("/api/conversations/{u1}/read"), None).await;
    op.ok("PUT", &format!("/api/conversations/{u1}/status"), Some(json!({ "status": "needs_attention" }))).await;
    op.ok("PUT", &format!("/api/conversations/{u1}/pin"), Some(json!({ "mode": "chat", "minutes": 120 }))).await;
    op.ok("DELETE", &format!("/api/conversations/{u1}/pin"), None).await;
    op.ok("PUT", &format!("/api/conversations/{u2}/spam"), None).await;
    op.ok("DELETE", &format!("/api/conversations/{u2}/spam"), None).await;
    let note = op.ok("POST", &format!("/api/conversations/{u1}/notes"), Some(json!({ "text": "金属アレルギーあり" }))).await;
    op.ok("DELETE", &format!("/api/conversations/{u1}/notes/{}", note["id"].as_str().unwrap()), None).await;
    let tag = op.ok("POST", "/api/tags", Some(json!({ "name": "VIP" }))).await;
    let tid = tag["id"].as_str().unwrap().to_owned();
    op.ok("PATCH", &format!("/api/tags/{tid}"), Some(json!({ "name": "常連" }))).await;
    op.ok("PUT", &format!("/api/conversations/{u1}/tags/{tid}"), None).await;
    op.ok("DELETE", &format!("/api/conversations/{u1}/tags/{tid}"), None).await;
    op.ok("DELETE", &format!("/api/tags/{tid}"), None).await;
    let canned = op.ok("POST", "/api/canned-replies", Some(json!({ "name": "営業時間", "text": "10時から18時です" }))).await;
    let cid = canned["id"].as_str().unwrap().to_owned();
    op.ok("PUT", &format!("/api/canned-replies/{cid}"), Some(json!({ "name": "営業時間", "text": "10時から19時です" }))).await;
    op.ok("DELETE", &format!("/api/canned-replies/{cid}"), None).await;
    op.ok("GET", "/api/search?q=%E3%82%AD%E3%83%A3%E3%83%B3%E3%82%BB%E3%83%AB", None).await;
    let settings = op.ok("GET", "/api/settings", None).await;
    let toml = "[modes]\nalways = \"auto_response\"\n";
    op.ok("PUT", "/api/settings", Some(json!({ "toml": toml, "version": settings["version"] }))).await;
    op.ok("PUT", &format!("/api/conversations/{u1}/hold"), Some(json!({ "reason": "case 42" }))).await;
    op.ok("GET", "/api/holds", None).await;
    op.ok("DELETE", &format!("/api/conversations/{u1}/hold"), None).await;
    let job = op.ok("POST", "/api/exports", Some(json!({ "scope": { "kind": "conversation", "id": u1 }, "format": "csv" }))).await;
    op.ok("GET", &format!("/api/exports/{}", job["id"].as_str().unwrap()), None).await;

    let mut requests = recorder.take();
    let published = op.sns.take();
    assert_eq!(published.len(), 1, "the export was launched once: {published:?}");
    requests.extend(published.into_iter().map(|r| Request { resource: r.resource.replace(&op.topic_arn, "!Ref ExportJobTopic"), ..r }));
    assert_all_allowed("OperatorFunction", &role("OperatorFunction"), &requests);
    // The check has teeth: without a grant, the same traffic is refused.
    for sid in ["DeleteOutsideTheLog", "TtlAndCounts", "ExportLaunch"] {
        let without: Vec<Statement> = role("OperatorFunction").into_iter().filter(|s| s.sid != sid).collect();
        assert!(!refused(&without, &requests).is_empty(), "nothing needed {sid}");
    }
    let deletes: Vec<&Request> = requests.iter().filter(|r| r.action == "dynamodb:DeleteItem").collect();
    assert!(
        deletes.iter().all(|r| r.leading_keys.iter().all(|k| !k.starts_with("CONV#"))),
        "staff delete nothing in a conversation: {deletes:#?}"
    );
    for partition in ["DOC#notes:user:U1", "DOC#canned", "HOLDS"] {
        assert!(deletes.iter().any(|r| r.leading_keys == [partition]), "a delete in {partition} ran: {deletes:#?}");
    }
    // A released hold reads as none, though its item was overwritten rather than deleted.
    assert_eq!(setup.hold(&ConversationId::user("U1")).await.unwrap(), None);
    assert!(setup.holds().await.unwrap().is_empty());

    // The job runs as the exporter function runs it (its stream record starts it on AWS).
    let id = line_oa::domain::export_job::ExportJobId::parse(job["id"].as_str().unwrap()).unwrap();
    let exporter = ExportJobs::on_aws(
        Arc::new(store.clone()),
        s3_client().await,
        &create_bucket(&s3_client().await).await,
        Duration::from_secs(900),
        jiff::tz::TimeZone::get("Asia/Tokyo").unwrap(),
        system_clock(),
    );
    let done = exporter.run(&id).await.expect("the export runs");
    assert_eq!(done.status, line_oa::domain::export_job::JobStatus::Done);
    let requests = recorder.take();
    assert_all_allowed("ExporterFunction", &role("ExporterFunction"), &requests);
    assert!(writes(&requests).count() >= 1, "the job's progress was written");
    assert!(writes(&requests).all(|r| r.leading_keys.iter().all(|k| k.starts_with("JOB#"))), "only export-job items: {requests:#?}");
}

#[tokio::test]
async fn the_archivers_backfill_sweep_and_media_retries_do_only_what_its_role_allows() {
    use line_oa::domain::conversation::ConversationState;
    let Table { setup, recorded, recorder, .. } = table().await;
    // Two conversations the archive never saw, one under legal hold, settled long ago.
    let long_ago = jiff::Timestamp::now().as_millisecond() - 48 * 3_600_000;
    for user in ["U1", "Uheld"] {
        for i in 0..2 {
            setup.put_inbound(&crate::contract::inbound(user, &format!("{user}-{i}"), long_ago + i * 60_000)).await.unwrap();
        }
        setup.save_conversation(&ConversationState::new(ConversationId::user(user))).await.unwrap();
    }
    setup.set_hold(&Hold { conversation: ConversationId::user("Uheld"), reason: "claim".into(), since_ms: long_ago }).await.unwrap();
    recorder.take();

    // The archiver as src/bin/archiver.rs builds it: media retries and the sweep on the table.
    recorded.warm().await.unwrap();
    let table: Arc<dyn Store> = Arc::new(recorded.clone());
    let archiver = line_oa::service::archive::Archiver::new(crate::archive_contract::dir_archive().await)
        .with_media_retries(Arc::new(recorded.clone()))
        .with_table(table);
    let report = line_oa::lambda::archiver::handle_archiver_event(&archiver, json!({ "task": "backfill" })).await.expect("the sweep runs");
    assert!(report.to_string().contains("Uheld"), "the sweep filled the conversations: {report}");
    line_oa::lambda::archiver::handle_archiver_event(&archiver, json!({ "task": "retry-media" })).await.expect("the retry runs");
    let requests = recorder.take();
    assert_all_allowed("ArchiverFunction", &role("ArchiverFunction"), &requests);
    assert!(writes(&requests).all(|r| r.leading_keys.iter().all(|k| k.starts_with("DOC#"))), "only its own documents: {requests:#?}");
}
