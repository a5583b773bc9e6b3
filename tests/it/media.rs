//! Media content: fetched from LINE's data API (the stand-in, checked against the spec) soon
//! after the message arrives, stored once beside the transcript (S3 on moto, and the local
//! server's folder), referenced by the transcript line; a failing fetch is retried, then
//! flagged, and never holds up the reply.

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use line_oa::blob::s3::S3BlobStore;
use line_oa::blob::BlobStore;
use line_oa::domain::archive::{parse_object, sha256_hex, Line};
use line_oa::domain::ids::ConversationId;
use line_oa::lambda::archiver::{archive_stream_records, handle_archiver_event};
use line_oa::line_api::http::HttpLineApi;
use line_oa::service::archive::Archiver;
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::{EventLog, InboundRecord, Store};
use secrecy::SecretString;

use crate::support::apps::{image_body, test_retry, LocalTestApp, SETTINGS};
use crate::support::line_standin::{LineStandin, RecordedRequest, StandinOptions};
use crate::support::sign;

const JPEG: &[u8] = b"\xff\xd8\xff\xe0 not really a jpeg, but bytes all the same";

fn image_record(user: &str, event_id: &str, message_id: &str) -> InboundRecord {
    let mut record = crate::contract::inbound(user, event_id, 1_764_000_000_000);
    record.message_type = Some("image".into());
    record.raw = serde_json::json!({
        "type": "message",
        "webhookEventId": event_id,
        "message": { "type": "image", "id": message_id, "contentProvider": { "type": "line" } }
    })
    .to_string();
    record
}

fn content_requests(standin: &LineStandin) -> Vec<RecordedRequest> {
    standin.requests().into_iter().filter(|r| r.path.ends_with("/content")).collect()
}

async fn transcript_lines(store: &dyn BlobStore, conversation: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    for key in store.list(&format!("transcripts/{conversation}/")).await.unwrap() {
        if key.ends_with(".jsonl") {
            lines.extend(parse_object(&key, &store.get(&key).await.unwrap().unwrap()).unwrap().1);
        }
    }
    lines
}

#[tokio::test]
async fn an_image_lands_in_s3_once_beside_the_transcript_that_references_it() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    standin.set_content("600001", "image/jpeg", JPEG);
    let line =
        HttpLineApi::new(&standin.base_url(), SecretString::from("it-access-token"), test_retry()).with_data_base_url(&standin.base_url());
    let s3 = crate::support::s3_client().await;
    let bucket = crate::support::create_bucket(&s3).await;
    let archive: Arc<dyn BlobStore> = Arc::new(S3BlobStore::new(s3.clone(), bucket.clone()));
    let archiver = Archiver::new(archive.clone()).with_media(Arc::new(line));

    // The item as the stream delivers it, from the table; delivered twice (a retried batch).
    let client = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&client).await;
    DynamoStore::new(client.clone(), table.clone()).put_inbound(&image_record("Uimg", "img-1", "600001")).await.unwrap();
    let image = client.scan().table_name(&table).send().await.unwrap().items.unwrap().remove(0);
    let mut batch = StreamEvent::default();
    let mut record = EventRecord::default();
    record.event_name = "INSERT".into();
    record.change.new_image = serde_dynamo::Item::from(image);
    batch.records.push(record);
    archive_stream_records(&archiver, batch.clone()).await.unwrap();
    archive_stream_records(&archiver, batch).await.unwrap();

    let fetched = content_requests(&standin);
    assert_eq!(fetched.len(), 1, "fetched once");
    assert_eq!((fetched[0].method.as_str(), fetched[0].path.as_str()), ("GET", "/v2/bot/message/600001/content"));
    assert_eq!(fetched[0].header("authorization"), Some("Bearer it-access-token"));
    standin.assert_all_valid();

    let key = "transcripts/user:Uimg/media/600001";
    let object = s3.get_object().bucket(&bucket).key(key).send().await.expect("the image is stored beside the transcript");
    assert_eq!(object.content_type(), Some("image/jpeg"), "its content type is kept");
    assert_eq!(object.body.collect().await.unwrap().into_bytes().as_ref(), JPEG);
    let lines = transcript_lines(archive.as_ref(), "user:Uimg").await;
    assert_eq!(lines.len(), 1);
    let media = lines[0].media.as_ref().expect("the transcript line references the media");
    assert_eq!((media.key.as_str(), media.size, media.sha256.clone()), (key, JPEG.len() as u64, sha256_hex(JPEG)));
    assert!(archiver.verify(&ConversationId::user("Uimg")).await.unwrap().is_ok(), "media beside the chain does not break it");
}

#[tokio::test]
async fn a_video_still_being_prepared_is_fetched_when_ready() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    standin.set_content("600002", "video/mp4", b"mp4 bytes");
    standin.content_preparing("600002", 2);
    let line = HttpLineApi::new(&standin.base_url(), SecretString::from("t"), test_retry()).with_data_base_url(&standin.base_url());
    let archive = crate::archive_contract::dir_archive().await;
    let archiver = Archiver::new(archive.clone()).with_media(Arc::new(line));
    let mut record = image_record("Uvid", "vid-1", "600002");
    record.message_type = Some("video".into());
    archiver.archive(vec![line_oa::store::LogItem::In(record)]).await.unwrap();
    let statuses: Vec<u16> = content_requests(&standin).iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![202, 202, 200]);
    assert_eq!(archive.get("transcripts/user:Uvid/media/600002").await.unwrap().as_deref(), Some(&b"mp4 bytes"[..]));

    // The media is covered by the chain: verify checks it against the transcript's hash.
    let conversation = ConversationId::user("Uvid");
    let report = archiver.verify(&conversation).await.unwrap().expect("intact");
    assert_eq!((report.media.stored, report.media.recovered, report.media.missing), (1, 0, 0));
    archive.put("transcripts/user:Uvid/media/600002", b"other bytes".to_vec(), "video/mp4").await.unwrap();
    let broken = archiver.verify(&conversation).await.unwrap().expect_err("replaced media is found");
    assert_eq!(broken.key, "transcripts/user:Uvid/media/600002");
    assert!(broken.problem.contains("does not match"), "{}", broken.problem);
}

/// The conversation's transcript lines, once the local server has archived what it handled.
async fn wait_for_lines(app: &LocalTestApp, conversation: &str) -> Vec<Line> {
    app.settled().await;
    let archive = line_oa::blob::dir::DirBlobStore::new(app.data_dir().join("archive"));
    let lines = transcript_lines(&archive, conversation).await;
    assert!(!lines.is_empty(), "the server settled with nothing archived for {conversation}");
    lines
}

#[tokio::test]
async fn the_local_server_stores_an_image_in_its_archive_folder_and_the_transcript_references_it() {
    let app = LocalTestApp::start(SETTINGS).await;
    app.standin.set_content("700001", "image/png", b"\x89PNG local");
    let body = image_body("limg-1", "Ulocal", "700001", "r-limg-1");
    assert_eq!(app.post(&body, Some(&sign(&body))).await.0, 200);
    let lines = wait_for_lines(&app, "user:Ulocal").await;
    let path = app.data_dir().join("archive/transcripts/user:Ulocal/media/700001");
    assert_eq!(std::fs::read(&path).unwrap(), b"\x89PNG local");
    let media = lines.iter().find_map(|l| l.media.clone()).expect("a line references the media");
    assert_eq!((media.key.as_str(), media.content_type.as_str()), ("transcripts/user:Ulocal/media/700001", "image/png"));
    assert_eq!(content_requests(&app.standin).len(), 1);
    app.standin.assert_all_valid();
}

#[tokio::test]
async fn a_failing_content_fetch_is_retried_then_flagged_and_the_reply_still_goes_out() {
    let app = LocalTestApp::start(SETTINGS).await;
    app.standin.set_content("700002", "image/jpeg", JPEG);
    app.standin.fail_content("700002", 500, 100);
    let body = image_body("limg-2", "Ufail", "700002", "r-limg-2");
    assert_eq!(app.post(&body, Some(&sign(&body))).await.0, 200);
    let lines = wait_for_lines(&app, "user:Ufail").await;
    let replies: Vec<_> = app.standin.requests().into_iter().filter(|r| r.path == "/v2/bot/message/reply").collect();
    assert_eq!(replies.len(), 1, "the reply is sent");
    assert_eq!(replies[0].status, 200);
    assert_eq!(content_requests(&app.standin).len(), 3, "every attempt the retry policy allows");
    let flagged = lines.iter().find_map(|l| l.media_error.clone()).expect("the transcript line flags the failure");
    assert!(flagged.contains("500"), "{flagged}");
    assert!(!app.data_dir().join("archive/transcripts/user:Ufail/media/700002").exists());
}

async fn kept_retries(store: &dyn Store) -> Vec<line_oa::domain::media::MediaRetry> {
    let page =
        store.docs(line_oa::store::collections::MEDIA_RETRY, &line_oa::store::PageRequest { limit: 100, after: None }).await.unwrap();
    page.items.iter().map(|d| serde_json::from_str(&d.body).unwrap()).collect()
}

#[tokio::test]
async fn a_failed_download_is_kept_and_stored_by_the_scheduled_retry_on_s3_and_dynamodb() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    standin.set_content("600009", "image/png", JPEG);
    standin.fail_content("600009", 500, 3);
    let line = HttpLineApi::new(&standin.base_url(), SecretString::from("t"), test_retry()).with_data_base_url(&standin.base_url());
    let s3 = crate::support::s3_client().await;
    let bucket = crate::support::create_bucket(&s3).await;
    let archive: Arc<dyn BlobStore> = Arc::new(S3BlobStore::new(s3.clone(), bucket.clone()));
    let client = crate::support::dynamo_client().await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client.clone(), crate::support::create_table(&client).await));
    let archiver = Archiver::new(archive.clone()).with_media(Arc::new(line)).with_media_retries(store.clone());

    // Every attempt the API client allows fails: flagged on the transcript, and kept.
    let record = image_record("Uretry", "img-9", "600009");
    archiver.archive(vec![line_oa::store::LogItem::In(record.clone())]).await.unwrap();
    assert_eq!(content_requests(&standin).len(), 3);
    let lines = transcript_lines(archive.as_ref(), "user:Uretry").await;
    assert!(lines[0].media_error.as_deref().is_some_and(|e| e.contains("500")), "{:?}", lines[0].media_error);
    let kept = kept_retries(store.as_ref()).await;
    assert_eq!((kept.len(), kept[0].message_id.as_str(), kept[0].attempts), (1, "600009", 1));
    // A retried stream batch does not keep it twice (nor fetch again: it is archived already).
    archiver.archive(vec![line_oa::store::LogItem::In(record)]).await.unwrap();
    assert_eq!(kept_retries(store.as_ref()).await.len(), 1);
    let media = archiver.verify(&ConversationId::user("Uretry")).await.unwrap().unwrap().media;
    assert_eq!((media.stored, media.recovered, media.missing), (0, 0, 1), "verify reports it missing");

    // The archiver's schedule input: LINE answers now, the copy lands where it would have.
    let report = handle_archiver_event(&archiver, serde_json::json!({ "task": "retry-media" })).await.unwrap();
    assert_eq!(report, serde_json::json!({ "stored": 1, "still_failing": 0, "given_up": 0 }));
    let key = "transcripts/user:Uretry/media/600009";
    let object = s3.get_object().bucket(&bucket).key(key).send().await.expect("stored on the later try");
    assert_eq!(object.content_type(), Some("image/png"));
    assert_eq!(object.body.collect().await.unwrap().into_bytes().as_ref(), JPEG);
    assert!(archive.get(&format!("{key}.json")).await.unwrap().is_some(), "with its reference beside it");
    assert!(kept_retries(store.as_ref()).await.is_empty(), "done with");
    let media = archiver.verify(&ConversationId::user("Uretry")).await.unwrap().expect("the chain is untouched").media;
    assert_eq!((media.stored, media.recovered, media.missing), (0, 1, 0), "verify reports it recovered");

    let again = handle_archiver_event(&archiver, serde_json::json!({ "task": "retry-media" })).await.unwrap();
    assert_eq!(again, serde_json::json!({ "stored": 0, "still_failing": 0, "given_up": 0 }));
    assert_eq!(content_requests(&standin).len(), 4, "nothing fetched again");
    standin.assert_all_valid();
}

#[tokio::test]
async fn a_download_still_failing_after_two_weeks_is_given_up_on_the_embedded_store() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    standin.fail_content("600010", 500, 1_000);
    let line = HttpLineApi::new(&standin.base_url(), SecretString::from("t"), test_retry()).with_data_base_url(&standin.base_url());
    let archive = crate::archive_contract::dir_archive().await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(line_oa::store::embedded::EmbeddedStore::open(dir.path()).unwrap());
    let archiver = Archiver::new(archive.clone()).with_media(Arc::new(line)).with_media_retries(store.clone());
    archiver.archive(vec![line_oa::store::LogItem::In(image_record("Ugone", "img-10", "600010"))]).await.unwrap();
    let first = kept_retries(store.as_ref()).await.remove(0);

    let now = first.first_failed_ms + 60_000;
    let report = archiver.retry_media(now).await.unwrap();
    assert_eq!((report.stored, report.still_failing, report.given_up), (0, 1, 0));
    let kept = kept_retries(store.as_ref()).await;
    assert_eq!((kept[0].attempts, kept[0].first_failed_ms), (2, first.first_failed_ms), "kept, counting attempts");

    let report = archiver.retry_media(first.first_failed_ms + line_oa::domain::media::RETRY_FOR_MS).await.unwrap();
    assert_eq!((report.stored, report.still_failing, report.given_up), (0, 0, 1));
    assert!(kept_retries(store.as_ref()).await.is_empty(), "given up, not tried forever");
    assert_eq!(archive.get("transcripts/user:Ugone/media/600010").await.unwrap(), None);
    assert_eq!(content_requests(&standin).len(), 9, "three attempts per try");
}
