//! The backfill sweep: conversations whose archive objects are gone (S3 on the protocol server
//! over DynamoDB on it, and the local folder over the embedded store, through the real
//! `line-oa archive backfill` command) are filled, media included, and verify afterwards; an
//! item under legal hold that was never archived is found; scheduled runs are bounded, go on
//! where the last stopped and never overlap; the local server sweeps at start.

use std::sync::Arc;
use std::time::Duration;

use line_oa::blob::dir::DirBlobStore;
use line_oa::blob::s3::S3BlobStore;
use line_oa::blob::BlobStore;
use line_oa::domain::archive::index::sort_key_of;
use line_oa::domain::conversation::ConversationState;
use line_oa::domain::hold::{ttl_of, Hold};
use line_oa::domain::ids::ConversationId;
use line_oa::domain::log::NO_TTL;
use line_oa::domain::metrics::ARCHIVE_BACKFILLED;
use line_oa::line_api::http::HttpLineApi;
use line_oa::metrics::Metrics;
use line_oa::service::archive::{Archiver, BackfillError, BackfillRun};
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{
    collections, ArchiveQueue, Doc, InboundRecord, LogItem, OutboundRecord, OutboundStatus, PageRequest, SendMethod, Store, WorkQueue,
};
use secrecy::SecretString;

use crate::contract::{dynamo_store, embedded_store, inbound};
use crate::support::apps::test_retry;
use crate::support::line_standin::{LineStandin, StandinOptions};

const HOUR_MS: i64 = 3_600_000;
const JPEG: &[u8] = b"\xff\xd8\xff\xe0 an image the customer sent";

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn log_of(store: &dyn Store, conversation: &ConversationId) -> Vec<LogItem> {
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = store.log(conversation, &PageRequest { limit: 100, after }).await.unwrap();
        items.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return items,
        }
    }
}

/// A conversation as the service leaves it, `at_ms` on: `events` texts, a reply to the first,
/// and its state item (DynamoDB lists conversations by it). Returns its log.
async fn chat(store: &dyn Store, user: &str, at_ms: i64, events: usize) -> Vec<LogItem> {
    let conversation = ConversationId::user(user);
    for i in 0..events {
        store.put_inbound(&inbound(user, &format!("{user}-{i}"), at_ms + i as i64 * 60_000)).await.unwrap();
    }
    let mut reply = OutboundRecord {
        conversation: conversation.clone(),
        id: format!("{user}-0"),
        timestamp_ms: at_ms,
        created_ms: at_ms + 1_000,
        method: SendMethod::Reply,
        messages: r#"[{"type":"text","text":"ありがとうございます"}]"#.into(),
        status: OutboundStatus::Sending,
        reason: "default".into(),
        expires_at: Some(at_ms / 1000 + 365 * 86_400),
    };
    store.claim_outbound(&reply).await.unwrap();
    reply.status = OutboundStatus::Sent;
    store.finish_outbound(&reply).await.unwrap();
    if store.conversation(&conversation).await.unwrap().is_none() {
        store.save_conversation(&ConversationState::new(conversation.clone())).await.unwrap();
    }
    log_of(store, &conversation).await
}

/// An image message whose content LINE (the stand-in) still has.
fn image(user: &str, event_id: &str, message_id: &str, at_ms: i64) -> InboundRecord {
    let mut record = inbound(user, event_id, at_ms);
    record.message_type = Some("image".into());
    record.raw = serde_json::json!({
        "type": "message",
        "webhookEventId": event_id,
        "message": { "type": "image", "id": message_id, "contentProvider": { "type": "line" } }
    })
    .to_string();
    record
}

fn sort_keys(items: &[LogItem]) -> Vec<String> {
    let mut keys: Vec<String> = items.iter().map(sort_key_of).collect();
    keys.sort();
    keys
}

/// Everything the archive holds of `conversation`, by key: transcripts and media, head, index.
fn conversation_prefixes(conversation: &str) -> [String; 3] {
    [format!("transcripts/{conversation}/"), format!("heads/{conversation}.json"), format!("index/{conversation}/")]
}

#[tokio::test]
async fn a_conversation_whose_s3_objects_were_deleted_is_filled_by_the_sweep_media_included_and_verifies() {
    let store = dynamo_store().await;
    let standin = LineStandin::start(StandinOptions::default()).await;
    standin.set_content("700001", "image/jpeg", JPEG);
    let line = Arc::new(
        HttpLineApi::new(&standin.base_url(), SecretString::from("it-access-token"), test_retry()).with_data_base_url(&standin.base_url()),
    );
    // Three hours ago: settled (the stream archiver's hour is over), and LINE still has the media.
    let at = now_ms() - 3 * HOUR_MS;
    store.put_inbound(&image("Ulost", "lost-img", "700001", at - 60_000)).await.unwrap();
    let lost = chat(store.as_ref(), "Ulost", at, 3).await;
    let kept = chat(store.as_ref(), "Ukept", at, 2).await;
    assert_eq!(lost.len(), 5, "an image, three texts and a reply");

    let s3 = crate::support::s3_client().await;
    let bucket = crate::support::create_bucket(&s3).await;
    let archive: Arc<dyn BlobStore> = Arc::new(S3BlobStore::new(s3.clone(), bucket.clone()));
    Archiver::new(archive.clone()).with_media(line.clone()).archive([lost.clone(), kept.clone()].concat()).await.unwrap();
    assert_eq!(standin.requests().iter().filter(|r| r.path.ends_with("/content")).count(), 1);
    // Someone deletes the conversation's objects (on an Object Lock bucket: delete markers).
    let mut deleted = 0;
    for prefix in conversation_prefixes("user:Ulost") {
        let listed = s3.list_objects_v2().bucket(&bucket).prefix(&prefix).send().await.unwrap();
        for object in listed.contents() {
            s3.delete_object().bucket(&bucket).key(object.key().unwrap()).send().await.unwrap();
            deleted += 1;
        }
    }
    assert!(deleted >= 5, "transcript, media and its reference, head, index: {deleted}");
    let conversation = ConversationId::user("Ulost");
    assert_eq!(Archiver::new(archive.clone()).verify(&conversation).await.unwrap().unwrap().items, 0, "nothing left of it");

    let (metrics, emitted) = Metrics::kept("line-oa/it", "archiver");
    let sweeper = Archiver::new(archive.clone()).with_media(line).with_metrics(metrics);
    let report = sweeper.backfill(store.as_ref(), &BackfillRun::everything(now_ms(), "it")).await.unwrap();
    assert_eq!((report.conversations, report.checked, report.pass_complete), (2, 8, true), "{report:?}");
    assert_eq!(report.filled.len(), 1, "only the deleted conversation: {report:?}");
    assert_eq!(report.filled[0].conversation, conversation);
    let mut filled = report.filled[0].items.clone();
    filled.sort();
    assert_eq!(filled, sort_keys(&lost), "every item of it, named");
    assert_eq!(report.filled[0].media, 1, "the image fetched again from LINE");
    assert_eq!(emitted.total(ARCHIVE_BACKFILLED), 5, "counted: the metric the ArchiveBackfilledAlarm watches");
    standin.assert_all_valid();

    let chains = sweeper.verify_chains(&conversation).await.unwrap().expect("the filled conversation verifies");
    assert_eq!((chains.all.items, chains.backfill_items, chains.all.media.stored), (5, 5, 1));
    let stored = s3.get_object().bucket(&bucket).key("transcripts/user:Ulost/media/700001").send().await.unwrap();
    assert_eq!(stored.body.collect().await.unwrap().into_bytes().as_ref(), JPEG);
    let intact = sweeper.verify(&ConversationId::user("Ukept")).await.unwrap().unwrap();
    assert_eq!(intact.items, 3, "the other conversation is as it was");
    assert!(sweeper.conversations().await.unwrap().contains(&conversation), "`archive verify` finds it by its backfill head");

    let again = sweeper.backfill(store.as_ref(), &BackfillRun::everything(now_ms(), "it")).await.unwrap();
    assert!(again.filled.is_empty(), "a second sweep fills nothing: {again:?}");
    assert_eq!(emitted.total(ARCHIVE_BACKFILLED), 5);
}

async fn run_cli(data_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    // The store's writer thread lets go of the file just after the store is dropped.
    let what = format!("`line-oa {}` to find the store let go of", args.join(" "));
    crate::support::wait::until(&what, Duration::from_secs(10), || async {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_line-oa"))
            .args(args)
            .env("DATA_DIR", data_dir)
            .env_remove("LINE_CHANNEL_ACCESS_TOKEN")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        if text.contains("already open") {
            Err(text)
        } else {
            Ok((out.status.success(), text))
        }
    })
    .await
}

#[tokio::test]
async fn on_the_local_store_the_backfill_command_fills_a_deleted_conversation_and_archive_verify_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (lost, kept) = {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let lost = chat(&store, "Ulocal", now_ms() - 48 * HOUR_MS, 3).await;
        let kept = chat(&store, "Uother", now_ms() - 48 * HOUR_MS, 1).await;
        Archiver::new(Arc::new(DirBlobStore::new(dir.path().join("archive"))))
            .archive([lost.clone(), kept.clone()].concat())
            .await
            .unwrap();
        (lost, kept)
    };
    for prefix in conversation_prefixes("user:Ulocal") {
        let path = dir.path().join("archive").join(prefix.trim_end_matches('/'));
        if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) }.unwrap();
    }
    let (ok, text) = run_cli(dir.path(), &["archive", "verify", "--conversation", "user:Ulocal"]).await;
    assert!(ok && text.contains("ok      user:Ulocal: 0 objects, 0 items"), "nothing left of it: {text}");

    let (ok, text) = run_cli(dir.path(), &["archive", "backfill"]).await;
    assert!(ok, "{text}");
    assert!(text.contains("filled  user:Ulocal: 4 item(s), 0 media"), "{text}");
    for key in sort_keys(&lost) {
        assert!(text.contains(&format!("          {key}\n")), "each filled item is named: {key} in {text}");
    }
    assert!(text.contains("2 conversations checked (6 settled items), 4 item(s) archived in 1 conversation(s), 0 failed"), "{text}");
    assert!(!text.contains("user:Uother:"), "{text}");

    let (ok, text) = run_cli(dir.path(), &["archive", "verify"]).await;
    assert!(ok, "{text}");
    assert!(text.contains("ok      user:Ulocal: 1 objects, 4 items (1 objects, 4 items archived late by the backfill sweep)"), "{text}");
    assert!(text.contains(&format!("ok      user:Uother: 1 objects, {} items,", kept.len())), "{text}");
    let (ok, text) = run_cli(dir.path(), &["archive", "backfill", "--conversation", "user:Ulocal"]).await;
    assert!(ok && text.contains("1 conversations checked (4 settled items), 0 item(s) archived"), "run again, nothing to do: {text}");
}

#[tokio::test]
async fn objects_deleted_under_a_chain_head_are_filled_and_verify_still_names_the_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("data")).unwrap();
    let archive: Arc<dyn BlobStore> = Arc::new(DirBlobStore::new(dir.path().join("archive")));
    let items = chat(&store, "Ucut", now_ms() - 48 * HOUR_MS, 2).await;
    let archiver = Archiver::new(archive.clone());
    archiver.archive(items.clone()).await.unwrap();
    // The transcripts go; the head and the day index stay behind and still name them.
    std::fs::remove_dir_all(dir.path().join("archive/transcripts/user:Ucut")).unwrap();

    let report = archiver.backfill(&store, &BackfillRun::everything(now_ms(), "it")).await.unwrap();
    assert_eq!(report.items_filled(), 3, "an index entry naming a deleted object is not archived: {report:?}");
    let broken = archiver.verify(&ConversationId::user("Ucut")).await.unwrap().unwrap_err();
    assert!(broken.problem.contains("an object is missing"), "the deletion stays evident: {broken}");
    let again = archiver.backfill(&store, &BackfillRun::everything(now_ms(), "it")).await.unwrap();
    assert_eq!(again.items_filled(), 0, "filled once: {again:?}");
}

#[tokio::test]
async fn a_held_item_never_archived_is_found_by_the_sweep_and_keeps_no_ttl() {
    let store = dynamo_store().await;
    let items = chat(store.as_ref(), "Uheld", now_ms() - 48 * HOUR_MS, 2).await;
    let conversation = ConversationId::user("Uheld");
    let hold = Hold { conversation: conversation.clone(), reason: "claim 2026-17".into(), since_ms: now_ms() };
    assert_eq!(store.set_hold(&hold).await.unwrap(), 3);
    // The archiver never saw them (a lost batch), and without a TTL no removal will ever ask.
    let archiver = Archiver::new(crate::archive_contract::dir_archive().await);
    let report = archiver.backfill(store.as_ref(), &BackfillRun::everything(now_ms(), "it")).await.unwrap();
    assert_eq!(report.filled.len(), 1);
    assert_eq!(report.filled[0].items.len(), items.len(), "{report:?}");
    let report = archiver.verify(&conversation).await.unwrap().unwrap();
    assert_eq!(report.items, 3);
    assert!(log_of(store.as_ref(), &conversation).await.iter().all(|i| ttl_of(i) == NO_TTL), "still held");
    // A later TTL check finds them in the backfill chain's index.
    let later = archiver.reconcile_expired(log_of(store.as_ref(), &conversation).await).await.unwrap();
    assert!(later.missing.is_empty(), "{later:?}");
}

#[tokio::test]
async fn scheduled_runs_are_bounded_go_on_where_the_last_stopped_and_start_a_new_pass_when_due() {
    let store = embedded_store().await;
    for c in 0..30 {
        chat(store.as_ref(), &format!("Upage{c:02}"), now_ms() - 5 * HOUR_MS, 1).await;
    }
    let archiver = Archiver::new(crate::archive_contract::dir_archive().await).with_table(store.clone());
    let now = now_ms();
    // A budget already spent: each run does one page (25 conversations) and stops.
    let first = archiver.backfill(store.as_ref(), &BackfillRun::scheduled(now, Duration::ZERO, "it")).await.unwrap();
    assert_eq!((first.conversations, first.filled.len(), first.pass_complete), (25, 25, false));
    let second = archiver.backfill(store.as_ref(), &BackfillRun::scheduled(now, Duration::ZERO, "it")).await.unwrap();
    assert_eq!((second.conversations, second.filled.len(), second.pass_complete), (5, 5, true), "it goes on from the cursor");
    let mut filled: Vec<_> = first.filled.iter().chain(&second.filled).map(|f| f.conversation.to_string()).collect();
    filled.dedup();
    assert_eq!(filled.len(), 30, "every conversation once");
    let idle = archiver.backfill(store.as_ref(), &BackfillRun::scheduled(now, Duration::ZERO, "it")).await.unwrap();
    assert!(idle.skipped.as_deref().is_some_and(|s| s.starts_with("not due")), "{idle:?}");
    // As the archiver function gets it from the schedule.
    let out = line_oa::lambda::archiver::handle_archiver_event(&archiver, serde_json::json!({ "task": "backfill" })).await.unwrap();
    assert!(out["skipped"].as_str().is_some_and(|s| s.starts_with("not due")), "{out}");
    let later = now + line_oa::service::archive::backfill::PASS_INTERVAL.as_millis() as i64 + 1;
    let next = archiver.backfill(store.as_ref(), &BackfillRun::scheduled(later, Duration::from_secs(60), "it")).await.unwrap();
    assert_eq!((next.conversations, next.filled.len(), next.pass_complete), (30, 0, true), "a new pass, nothing missing");
}

#[tokio::test]
async fn a_run_never_sweeps_while_another_holds_the_lease() {
    let store = embedded_store().await;
    chat(store.as_ref(), "Ulease", now_ms() - 5 * HOUR_MS, 1).await;
    // Another run holds the sweep for ten more minutes (as its state document says).
    let until = now_ms() + 600_000;
    let body = serde_json::json!({ "lease_until_ms": until, "lease_owner": "archiver (schedule)" }).to_string();
    store.put_doc(collections::ARCHIVE_BACKFILL, &Doc { id: "state".into(), body, version: 0 }).await.unwrap();
    let archiver = Archiver::new(crate::archive_contract::dir_archive().await);
    let err = archiver.backfill(store.as_ref(), &BackfillRun::everything(now_ms(), "line-oa archive backfill")).await.unwrap_err();
    assert!(matches!(err, BackfillError::Busy { .. }) && err.to_string().contains("archiver (schedule)"), "{err}");
    let skipped = archiver.backfill(store.as_ref(), &BackfillRun::scheduled(now_ms(), Duration::ZERO, "it")).await.unwrap();
    assert!(skipped.skipped.is_some() && skipped.filled.is_empty(), "{skipped:?}");
    // Once it has lapsed (a crashed run), the next run takes over.
    let after = archiver.backfill(store.as_ref(), &BackfillRun::everything(until + 1, "it")).await.unwrap();
    assert_eq!(after.items_filled(), 2);
}

#[tokio::test]
async fn the_local_server_sweeps_at_start_and_fills_what_its_archive_folder_lacks() {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let items = {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let items = chat(&store, "Urestored", now_ms() - 30 * HOUR_MS, 2).await;
        // Handled and archived long ago: nothing pending, nothing due.
        for item in &items {
            if let LogItem::In(record) = item {
                store.done(record).await.unwrap();
            }
        }
        store.archived(store.archive_due().await.unwrap()).await.unwrap();
        items
    };
    // But no archive folder at all (the data folder restored from a backup without it, say).
    let config = crate::support::apps::test_config(&standin, crate::support::apps::SETTINGS);
    let app = crate::support::apps::start_local_app(&config, dir.path()).await;
    // Settled includes the archiver's first round: its start-up backfill sweep.
    crate::support::apps::settled(&app.settle).await;
    let archiver = Archiver::new(Arc::new(DirBlobStore::new(dir.path().join("archive"))));
    let chains = archiver.verify_chains(&ConversationId::user("Urestored")).await.unwrap().expect("the filled conversation verifies");
    assert_eq!((chains.backfill_items, chains.all.items), (items.len(), items.len()), "the start-up sweep filled the archive");
}
