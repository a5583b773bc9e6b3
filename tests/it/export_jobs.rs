//! Export jobs end to end: started, run (by the local task, or as the exporter function does
//! when SNS delivers the operator function's launch), the file fetched through its link (a presigned GET against the
//! S3-protocol server on 127.0.0.1, or the local path) and read back against the log.

use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use line_oa::blob::s3::S3BlobStore;
use line_oa::blob::{BlobStore, Link};
use line_oa::domain::conversation::ConversationState;
use line_oa::domain::export::{row, HEADERS};
use line_oa::domain::export_job::{ExportJob, ExportJobId, ExportRequest, Format, JobStatus, Scope, TimeRange};
use line_oa::domain::ids::ConversationId;
use line_oa::export::sns::SnsLauncher;
use line_oa::lambda::exporter::run_export_notifications;
use line_oa::service::export::jobs::{ExportJobs, JobView, StreamLauncher};
use line_oa::service::Clock;
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{ExportJobStore, InboundRecord, OutboundRecord, OutboundStatus, PageRequest, SendMethod, Store};

use crate::contract::{dynamo_store, embedded_store, inbound};
use crate::export::{parse_csv, xlsx_to_csv};

const DAY_MS: i64 = 86_400_000;
const T0: i64 = 1_764_000_000_000;

fn tz() -> TimeZone {
    TimeZone::get("Asia/Tokyo").unwrap()
}

fn clock() -> Clock {
    Arc::new(|| jiff::Timestamp::now().as_millisecond())
}

/// `n` conversations, each with a Japanese text, a reply and a sticker a day apart, and a
/// state item (as the worker writes when it handles the first event).
async fn fill(store: &dyn Store, n: usize) -> Vec<ConversationId> {
    let mut ids = Vec::new();
    for c in 0..n {
        let user = format!("Ujob{c}");
        let conv = ConversationId::user(&user);
        for day in 0..3i64 {
            let ts = T0 + day * DAY_MS + c as i64 * 1000;
            let id = format!("{user}-{day}");
            let raw = serde_json::json!({"type":"message","message":{"type":"text","id":id,"text":format!("予約 {c}/{day}, \"OK\"\n明日")},"source":{"type":"user","userId":user},"timestamp":ts});
            store.put_inbound(&InboundRecord { raw: raw.to_string(), ..inbound(&user, &id, ts) }).await.unwrap();
            if day == 1 {
                let reply = OutboundRecord {
                    conversation: conv.clone(),
                    id: id.clone(),
                    timestamp_ms: ts,
                    created_ms: ts + 500,
                    method: SendMethod::Reply,
                    messages: r#"[{"type":"text","text":"ありがとうございます"}]"#.into(),
                    status: OutboundStatus::Sent,
                    reason: "rule".into(),
                    expires_at: None,
                };
                store.claim_outbound(&reply).await.unwrap();
            }
        }
        store.save_conversation(&ConversationState::new(conv.clone())).await.unwrap();
        ids.push(conv);
    }
    ids
}

/// What an export of these conversations within `range` must hold, header first.
async fn expected(store: &dyn Store, conversations: &[ConversationId], range: TimeRange) -> Vec<Vec<String>> {
    let mut rows = vec![HEADERS.map(str::to_owned).to_vec()];
    for conv in conversations {
        let page = store.log(conv, &PageRequest { limit: 1000, after: None }).await.unwrap();
        for item in page.items.iter().filter(|i| (range.start_ms()..range.end_ms()).contains(&i.timestamp_ms())) {
            rows.push(row(item, &tz()).0.to_vec());
        }
    }
    rows
}

/// Conversation order is the store's; compare the rows as a set, header first.
fn sorted(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows[1..].sort();
    rows
}

async fn download(link: &Link) -> Vec<u8> {
    match link {
        Link::Url { url, expires_in_secs } => {
            assert!(url.starts_with("http://127.0.0.1:"), "{url}");
            assert!(url.contains("X-Amz-Signature="), "a presigned URL: {url}");
            assert_eq!(*expires_in_secs, 900);
            let response = reqwest::get(url).await.unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            response.bytes().await.unwrap().to_vec()
        }
        Link::File { path } => std::fs::read(path).unwrap(),
    }
}

fn read_back(format: Format, bytes: &[u8]) -> Vec<Vec<String>> {
    match format {
        Format::Csv => {
            assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "Excel needs the BOM");
            parse_csv(&bytes[3..])
        }
        Format::Xlsx => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("export.xlsx");
            std::fs::write(&path, bytes).unwrap();
            parse_csv(&xlsx_to_csv(&path))
        }
    }
}

async fn s3_jobs(store: Arc<dyn Store>) -> (ExportJobs, aws_sdk_s3::Client, String) {
    let client = crate::support::s3_client().await;
    let bucket = crate::support::create_bucket(&client).await;
    let jobs = ExportJobs::on_aws(store, client.clone(), &bucket, Duration::from_secs(900), tz(), clock());
    (jobs, client, bucket)
}

async fn wait_done(jobs: &ExportJobs, id: &ExportJobId) -> JobView {
    crate::support::wait::until(&format!("export job {id} to finish"), Duration::from_secs(30), || async {
        let view = jobs.status(id).await.unwrap().expect("the job is recorded");
        if matches!(view.job.status, JobStatus::Done | JobStatus::Failed { .. }) {
            Ok(view)
        } else {
            Err(view.job.status)
        }
    })
    .await
}

/// The operator function's jobs: saved to the table, launched by publishing to the export-job
/// topic (on the SNS-protocol server), files and links in the export bucket.
async fn launched_jobs(store: Arc<dyn Store>, bucket: &str, s3: aws_sdk_s3::Client) -> (ExportJobs, String) {
    use aws_config::{BehaviorVersion, Region};
    let creds = aws_sdk_sns::config::Credentials::new("test", "test", None, None, "tests");
    let aws = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("ap-northeast-1"))
        .credentials_provider(aws_sdk_sns::config::SharedCredentialsProvider::new(creds))
        .endpoint_url(crate::support::moto_endpoint())
        .build();
    let sns = aws_sdk_sns::Client::new(&aws);
    let name = format!("line-oa-export-jobs-{}", uuid::Uuid::new_v4().simple());
    let topic = sns.create_topic().name(name).send().await.expect("create topic").topic_arn().unwrap().to_owned();
    let files = Arc::new(S3BlobStore::new(s3, bucket));
    let jobs = ExportJobs::new(store, files, Duration::from_secs(900), Arc::new(SnsLauncher::new(sns, topic.clone())), tz(), clock());
    (jobs, topic)
}

/// As SNS invokes the exporter function: one record per message moto says was published.
async fn sns_event_for(topic: &str) -> serde_json::Value {
    let data: serde_json::Value =
        reqwest::get(format!("{}/moto-api/sns.json", crate::support::moto_endpoint())).await.unwrap().json().await.unwrap();
    let topic_data = data["sns"]["Topic"].as_array().unwrap().iter().find(|t| t["arn"] == topic).expect("the topic on moto").clone();
    let records: Vec<serde_json::Value> = topic_data["sent_notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| serde_json::json!({"EventSource": "aws:sns", "Sns": {"TopicArn": topic, "MessageId": n[0], "Message": n[1]}}))
        .collect();
    serde_json::json!({ "Records": records })
}

#[tokio::test]
async fn a_conversation_job_on_dynamodb_runs_from_its_sns_launch_and_its_presigned_link_downloads_the_log() {
    let dynamo = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&dynamo).await;
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(dynamo.clone(), table.clone()));
    let conversations = fill(store.as_ref(), 2).await;
    let (jobs, s3, bucket) = s3_jobs(store.clone()).await;
    let (operator_jobs, topic) = launched_jobs(store.clone(), &bucket, s3).await;
    let request =
        ExportRequest { scope: Scope::Conversation { id: conversations[1].clone() }, range: TimeRange::default(), format: Format::Csv };
    let job = operator_jobs.start(request).await.unwrap();
    assert_eq!(jobs.status(&job.id).await.unwrap().unwrap().job.status, JobStatus::Queued);

    let event = sns_event_for(&topic).await;
    assert_eq!(event["Records"].as_array().unwrap().len(), 1, "one launch per job: {event}");
    let ran = run_export_notifications(&jobs, event.clone()).await.unwrap();
    assert_eq!(ran["jobs"][0]["job"], job.id.to_string());
    // SNS and Lambda's async retries may deliver it again: the job does not run twice.
    let done = jobs.status(&job.id).await.unwrap().unwrap().job;
    run_export_notifications(&jobs, event).await.unwrap();
    assert_eq!(jobs.status(&job.id).await.unwrap().unwrap().job, done, "a redelivery changes nothing");

    let view = operator_jobs.status(&job.id).await.unwrap().unwrap();
    assert_eq!(view.job.status, JobStatus::Done);
    assert_eq!(view.job.rows, 4);
    assert_eq!(view.job.output_key.as_deref(), Some(format!("exports/{}/line-oa-user_Ujob1.csv", job.id).as_str()));
    let rows = read_back(Format::Csv, &download(view.link.as_ref().expect("a link once done")).await);
    assert_eq!(rows, expected(store.as_ref(), &conversations[1..], TimeRange::default()).await);
    assert_eq!(rows[1][6], "予約 1/0, \"OK\"\n明日");
}

#[tokio::test]
async fn an_event_naming_an_unknown_job_fails_so_lambda_retries_it() {
    let store = dynamo_store().await;
    let (jobs, _, _) = s3_jobs(store).await;
    let event = serde_json::json!({"Records": [{"Sns": {"Message": format!("{{\"job\":\"{}\"}}", ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()))}}]});
    let err = run_export_notifications(&jobs, event).await.unwrap_err();
    assert!(err.to_string().contains("no export job"), "{err}");
    assert_eq!(err.error_type(), "Retryable.UnknownJob", "saved before it is published: worth Lambda's retries");
    // A message that names no job fails the same way every time, and says so.
    let event = serde_json::json!({"Records": [{"Sns": {"Message": "{\"job\":\"../x\"}"}}]});
    let err = run_export_notifications(&jobs, event).await.unwrap_err();
    assert_eq!(err.error_type(), "Permanent.MalformedRecord", "{err}");
}

#[tokio::test]
async fn a_redelivered_trigger_does_not_run_a_job_twice() {
    let store = dynamo_store().await;
    fill(store.as_ref(), 1).await;
    let (jobs, client, bucket) = s3_jobs(store.clone()).await;
    let job = jobs.start(ExportRequest { scope: Scope::All, range: TimeRange::default(), format: Format::Csv }).await.unwrap();
    let first = jobs.run(&job.id).await.unwrap();
    let again = jobs.run(&job.id).await.unwrap();
    assert_eq!(again, first, "the second run changes nothing");
    let objects = client.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(objects.contents().len(), 1);
}

#[tokio::test]
async fn an_xlsx_job_for_a_date_range_across_all_conversations_opens_in_libreoffice() {
    let store = dynamo_store().await;
    let conversations = fill(store.as_ref(), 3).await;
    let (jobs, _, _) = s3_jobs(store.clone()).await;
    // The middle day only: each conversation's reply day.
    let range = TimeRange { from_ms: Some(T0 + DAY_MS), to_ms: Some(T0 + 2 * DAY_MS) };
    let job = jobs.start(ExportRequest { scope: Scope::All, range, format: Format::Xlsx }).await.unwrap();
    let done = jobs.run(&job.id).await.unwrap();
    assert_eq!((done.status, done.rows), (JobStatus::Done, 6));
    let view = jobs.status(&job.id).await.unwrap().unwrap();
    let rows = read_back(Format::Xlsx, &download(view.link.as_ref().unwrap()).await);
    assert_eq!(sorted(rows), sorted(expected(store.as_ref(), &conversations, range).await));
}

#[tokio::test]
async fn local_jobs_export_a_conversation_set_and_everything_into_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&dir.path().join("db")).unwrap());
    let conversations = fill(store.as_ref(), 4).await;
    let jobs = ExportJobs::local(store.clone(), dir.path().to_path_buf(), tz(), clock());

    let set = vec![conversations[2].clone(), conversations[0].clone()];
    let request = ExportRequest { scope: Scope::Conversations { ids: set.clone() }, range: TimeRange::default(), format: Format::Csv };
    let job = jobs.start(request).await.unwrap();
    let view = wait_done(&jobs, &job.id).await;
    assert_eq!(view.job.status, JobStatus::Done);
    let path = jobs.local_file(&job.id).await.unwrap().expect("a finished local job has a file");
    assert!(path.starts_with(dir.path().join("exports").join(job.id.as_str())), "{}", path.display());
    assert_eq!(
        read_back(Format::Csv, &download(view.link.as_ref().unwrap()).await),
        expected(store.as_ref(), &set, TimeRange::default()).await
    );

    let all = jobs.start(ExportRequest { scope: Scope::All, range: TimeRange::default(), format: Format::Csv }).await.unwrap();
    let view = wait_done(&jobs, &all.id).await;
    assert_eq!(view.job.rows, 16);
    let rows = read_back(Format::Csv, &download(view.link.as_ref().unwrap()).await);
    assert_eq!(rows, expected(store.as_ref(), &conversations, TimeRange::default()).await, "embedded lists conversations in order");
}

#[tokio::test]
async fn a_failing_job_records_the_error_and_offers_no_link() {
    let store = dynamo_store().await;
    fill(store.as_ref(), 1).await;
    let client = crate::support::s3_client().await;
    let files = Arc::new(S3BlobStore::new(client, "no-such-export-bucket"));
    let jobs = ExportJobs::new(store.clone(), files, Duration::from_secs(900), Arc::new(StreamLauncher), tz(), clock());
    let job = jobs.start(ExportRequest { scope: Scope::All, range: TimeRange::default(), format: Format::Csv }).await.unwrap();
    jobs.run(&job.id).await.unwrap();
    let view = jobs.status(&job.id).await.unwrap().unwrap();
    let JobStatus::Failed { error } = &view.job.status else { panic!("failed, got {:?}", view.job.status) };
    assert!(error.contains("NoSuchBucket"), "{error}");
    assert!(view.link.is_none() && view.job.output_key.is_none());
    assert!(view.job.finished_ms.is_some());
}

#[tokio::test]
async fn a_bad_request_is_refused_before_a_job_exists() {
    let (jobs, _, _) = s3_jobs(embedded_store().await).await;
    let request = ExportRequest { scope: Scope::Conversations { ids: vec![] }, range: TimeRange::default(), format: Format::Csv };
    assert!(matches!(jobs.start(request).await, Err(line_oa::service::export::ExportError::Request(_))));
}

#[tokio::test]
async fn job_status_survives_a_restart_of_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&dir.path().join("db")).unwrap());
        fill(store.as_ref(), 1).await;
        let jobs = ExportJobs::local(store, dir.path().to_path_buf(), tz(), clock());
        let job = jobs.start(ExportRequest { scope: Scope::All, range: TimeRange::default(), format: Format::Xlsx }).await.unwrap();
        assert_eq!(wait_done(&jobs, &job.id).await.job.status, JobStatus::Done);
        job.id
    };
    let store: Arc<dyn Store> = Arc::new(crate::support::wait::reopen(&dir.path().join("db")).await);
    let jobs = ExportJobs::local(store, dir.path().to_path_buf(), tz(), clock());
    let view = jobs.status(&id).await.unwrap().expect("the job outlives the process");
    assert_eq!((view.job.status, view.job.rows), (JobStatus::Done, 4));
    assert_eq!(read_back(Format::Xlsx, &download(view.link.as_ref().unwrap()).await).len(), 5);
}

#[tokio::test]
async fn the_local_server_runs_again_the_jobs_a_stopped_server_left_queued_or_running() {
    let dir = tempfile::tempdir().unwrap();
    // What a server stopped mid-way leaves: one job still queued, one cut off while running.
    let (queued, running) = {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        fill(&store, 2).await;
        let queued = ExportJob::queued(
            ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()),
            ExportRequest { scope: Scope::All, range: TimeRange::default(), format: Format::Csv },
            1,
        );
        let mut running = ExportJob::queued(
            ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()),
            ExportRequest { scope: Scope::All, range: TimeRange::default(), format: Format::Xlsx },
            2,
        );
        running.start(3);
        running.progress(3, 4);
        let mut finished = ExportJob::queued(
            ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()),
            ExportRequest { scope: Scope::All, range: TimeRange::default(), format: Format::Csv },
            0,
        );
        finished.start(1);
        finished.fail("an earlier failure stays as it was", 2);
        for job in [&queued, &running, &finished] {
            store.save_export_job(job).await.unwrap();
        }
        assert_eq!(
            store.unfinished_export_jobs().await.unwrap().iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
            vec![queued.id.clone(), running.id.clone()]
        );
        (queued.id, running.id)
    };

    let standin = crate::support::line_standin::LineStandin::start(Default::default()).await;
    let config = crate::support::apps::test_config(&standin, crate::support::apps::SETTINGS);
    // The stopped server's writer thread lets go of the file shortly after its last handle.
    let app = crate::support::apps::start_local_app(&config, dir.path()).await;
    for (id, format) in [(&queued, Format::Csv), (&running, Format::Xlsx)] {
        let view = wait_done(&app.exports, id).await;
        assert_eq!((view.job.status.clone(), view.job.rows), (JobStatus::Done, 8), "{id} runs to the end");
        assert_eq!(read_back(format, &download(view.link.as_ref().unwrap()).await).len(), 9, "header and every row");
    }
    assert!(app.store.unfinished_export_jobs().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_big_file_goes_up_in_parts_and_downloads_whole() {
    let client = crate::support::s3_client().await;
    let bucket = crate::support::create_bucket(&client).await;
    let output = S3BlobStore::new(client.clone(), bucket.clone()).with_part_size(5 * 1024 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.csv");
    let bytes: Vec<u8> = (0..11 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &bytes).unwrap();
    output.put_file("exports/big/big.csv", &file, Format::Csv.content_type()).await.unwrap();
    assert!(!file.exists(), "the scratch file is removed once uploaded");
    let head = client.head_object().bucket(&bucket).key("exports/big/big.csv").send().await.unwrap();
    assert!(head.e_tag().unwrap_or_default().ends_with("-3\""), "three parts: {:?}", head.e_tag());
    assert_eq!(download(&output.link("exports/big/big.csv", Duration::from_secs(900), Some("big.csv")).await.unwrap()).await, bytes);
}

async fn conversation_ids_list_each_conversation_once(store: Arc<dyn Store>) {
    let mut written = fill(store.as_ref(), 7).await;
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = store.conversation_ids(&PageRequest { limit: 3, after }).await.unwrap();
        assert!(page.items.len() <= 3);
        listed.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    listed.sort();
    written.sort();
    assert_eq!(listed, written);
}

async fn export_jobs_are_saved_and_replaced(store: Arc<dyn Store>) {
    let request = ExportRequest {
        scope: Scope::Conversation { id: ConversationId::user("U1") },
        range: TimeRange { from_ms: Some(1), to_ms: None },
        format: Format::Xlsx,
    };
    let mut job = ExportJob::queued(ExportJobId::from_random(uuid::Uuid::new_v4().as_u128()), request, 1_000);
    assert_eq!(store.export_job(&job.id).await.unwrap(), None);
    store.save_export_job(&job).await.unwrap();
    assert_eq!(store.export_job(&job.id).await.unwrap().as_ref(), Some(&job));
    job.start(2_000);
    job.finish(12, 3_000);
    store.save_export_job(&job).await.unwrap();
    assert_eq!(store.export_job(&job.id).await.unwrap(), Some(job));
}

#[tokio::test]
async fn embedded_conversation_ids_list_each_conversation_once() {
    conversation_ids_list_each_conversation_once(embedded_store().await).await
}

#[tokio::test]
async fn dynamodb_conversation_ids_list_each_conversation_once() {
    conversation_ids_list_each_conversation_once(dynamo_store().await).await
}

#[tokio::test]
async fn embedded_export_jobs_are_saved_and_replaced() {
    export_jobs_are_saved_and_replaced(embedded_store().await).await
}

#[tokio::test]
async fn dynamodb_export_jobs_are_saved_and_replaced() {
    export_jobs_are_saved_and_replaced(dynamo_store().await).await
}
