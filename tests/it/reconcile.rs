//! TTL reconciliation: every item removed by TTL is in the archive afterwards, and one that was
//! never archived is reported. On AWS: DynamoDB (moto) items, their stream REMOVE records as
//! DynamoDB's TTL sends them, the archiver into S3 (moto). Locally: the embedded store's expiry.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord, UserIdentity};
use line_oa::blob::dir::DirBlobStore;
use line_oa::blob::s3::S3BlobStore;
use line_oa::blob::BlobStore;
use line_oa::domain::archive::index::sort_key_of;
use line_oa::domain::archive::parse_object;
use line_oa::domain::hold::Hold;
use line_oa::domain::ids::ConversationId;
use line_oa::lambda::archiver::archive_stream_records;
use line_oa::service::archive::Archiver;
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{EventLog, Holds, LogItem, OutboundRecord, OutboundStatus, PageRequest, SendMethod, WorkQueue};

use crate::contract::inbound;

fn record(event_name: &str, sequence: usize, ttl: bool) -> EventRecord {
    let mut record = EventRecord::default();
    record.event_name = event_name.into();
    record.change.sequence_number = Some(sequence.to_string());
    if ttl {
        let mut identity = UserIdentity::default();
        identity.type_ = "Service".into();
        identity.principal_id = "dynamodb.amazonaws.com".into();
        record.user_identity = Some(identity);
    }
    record
}

/// Every (conversation, sort key) in the archive's chain objects, read the slow way.
async fn archived_keys(store: &dyn BlobStore) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for key in store.list("transcripts/").await.unwrap() {
        if !key.ends_with(".jsonl") {
            continue;
        }
        let (_, lines) = parse_object(&key, &store.get(&key).await.unwrap().unwrap()).unwrap();
        keys.extend(lines.iter().map(|l| sort_key_of(&l.item)));
    }
    keys
}

#[tokio::test]
async fn every_item_the_ttl_removes_is_in_the_s3_archive_and_a_missing_one_is_reported() {
    let client = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&client).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    for i in 0..4 {
        store.put_inbound(&inbound("Uttl", &format!("t{i}"), 1_700_000_000_000 + i * 60_000)).await.unwrap();
    }
    let mut reply = OutboundRecord {
        conversation: ConversationId::user("Uttl"),
        id: "t0".into(),
        timestamp_ms: 1_700_000_000_000,
        created_ms: 1_700_000_001_000,
        method: SendMethod::Reply,
        messages: "[]".into(),
        status: OutboundStatus::Sending,
        reason: "default".into(),
        expires_at: Some(1_700_000_001),
    };
    store.claim_outbound(&reply).await.unwrap();
    reply.status = OutboundStatus::Sent;
    store.finish_outbound(&reply).await.unwrap();
    let images = client.scan().table_name(&table).send().await.unwrap().items.unwrap_or_default();
    assert_eq!(images.len(), 5);

    let s3 = crate::support::s3_client().await;
    let bucket = crate::support::create_bucket(&s3).await;
    let archive: Arc<dyn BlobStore> = Arc::new(S3BlobStore::new(s3, bucket));
    let archiver = Archiver::new(archive.clone());
    // The archiver saw every INSERT but one (a lost batch): that one must be caught at TTL time.
    let mut inserts = StreamEvent::default();
    let lost = line_oa::store::log_sort_key(1_700_000_120_000, true, "t2");
    for (i, image) in images.iter().enumerate() {
        if image["sk"].as_s().unwrap() != &lost {
            let mut r = record("INSERT", i, false);
            r.change.new_image = serde_dynamo::Item::from(image.clone());
            inserts.records.push(r);
        }
    }
    archive_stream_records(&archiver, inserts).await.unwrap();

    // TTL removes everything; someone also deletes one item by hand (not a TTL removal).
    let mut removals = StreamEvent::default();
    for (i, image) in images.iter().enumerate() {
        let mut r = record("REMOVE", 100 + i, true);
        r.change.old_image = serde_dynamo::Item::from(image.clone());
        removals.records.push(r);
    }
    let mut manual = record("REMOVE", 200, false);
    manual.change.old_image = serde_dynamo::Item::from(images[0].clone());
    removals.records.push(manual);
    let done = archive_stream_records(&archiver, removals.clone()).await.unwrap();
    assert_eq!(done.reconciliation.checked, 5, "only TTL removals are checked");
    let missing: Vec<String> = done.reconciliation.missing.iter().map(sort_key_of).collect();
    assert_eq!(missing, vec![lost.clone()], "exactly the unarchived item is reported");

    let expected: BTreeSet<String> = images.iter().map(|i| i["sk"].as_s().unwrap().clone()).collect();
    assert_eq!(archived_keys(archive.as_ref()).await, expected, "every removed item is in the archive now");
    let again = archive_stream_records(&archiver, removals).await.unwrap();
    assert!(again.reconciliation.missing.is_empty(), "a redelivered batch reports nothing twice");
    let report = archiver.verify(&ConversationId::user("Uttl")).await.unwrap().unwrap();
    assert_eq!(report.items, 5, "4 events and the reply, once each; the chain still verifies");
}

#[tokio::test]
async fn a_hold_or_release_on_the_stream_archives_nothing_new() {
    let client = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&client).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    store.put_inbound(&inbound("Umod", "m1", 1_700_000_000_000)).await.unwrap();
    let before = client.scan().table_name(&table).send().await.unwrap().items.unwrap().remove(0);
    store.set_hold(&Hold { conversation: ConversationId::user("Umod"), reason: "r".into(), since_ms: 1 }).await.unwrap();
    let scan = client.scan().table_name(&table).send().await.unwrap().items.unwrap();
    let after = scan.into_iter().find(|i| i["sk"].as_s().unwrap().starts_with("MSG#")).unwrap();
    assert!(!after.contains_key("expires_at"));

    let archiver = Archiver::new(crate::archive_contract::dir_archive().await);
    let mut insert = record("INSERT", 1, false);
    insert.change.new_image = serde_dynamo::Item::from(before.clone());
    let mut modify = record("MODIFY", 2, false);
    modify.change.old_image = serde_dynamo::Item::from(before);
    modify.change.new_image = serde_dynamo::Item::from(after);
    let mut batch = StreamEvent::default();
    batch.records = vec![insert, modify];
    let done = archive_stream_records(&archiver, batch).await.unwrap();
    assert_eq!(done.objects, 1);
    let report = archiver.verify(&ConversationId::user("Umod")).await.unwrap().unwrap();
    assert_eq!(report.items, 1, "the TTL change is not a new version of what was said");
}

#[tokio::test]
async fn local_expiry_archives_before_removing_reports_the_unarchived_and_spares_held_conversations() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("data")).unwrap();
    let archive: Arc<dyn BlobStore> = Arc::new(DirBlobStore::new(dir.path().join("archive")));
    let archiver = Archiver::new(archive.clone());
    let mut logged = Vec::new();
    for i in 0..4 {
        let r = inbound("Uexp", &format!("x{i}"), 1_700_000_000_000 + i * 1000);
        store.put_inbound(&r).await.unwrap();
        store.done(&r).await.unwrap();
        logged.push(LogItem::In(r));
    }
    // Logged but not handled yet (the worker is behind): handled first, expired later.
    let unhandled = inbound("Uexp", "x9", 1_700_000_009_000);
    store.put_inbound(&unhandled).await.unwrap();
    let held = inbound("Uhold", "kept", 1_700_000_000_000);
    store.put_inbound(&held).await.unwrap();
    store.done(&held).await.unwrap();
    store.set_hold(&Hold { conversation: held.conversation.clone(), reason: "case".into(), since_ms: 1 }).await.unwrap();
    // The local worker archived all but the last item before the sweep.
    archiver.archive(logged[..3].to_vec()).await.unwrap();

    let now_s = logged[3].timestamp_ms() / 1000 + 365 * 86_400 + 1;
    let report = line_oa::service::expiry::expire(&store, &archiver, now_s).await.unwrap();
    assert_eq!(report.removed, 4, "the held conversation's item is not removed");
    assert_eq!(report.unarchived, vec![logged[3].clone()], "the unarchived item is reported");
    let expected: BTreeSet<String> = logged.iter().map(sort_key_of).collect();
    assert_eq!(archived_keys(archive.as_ref()).await, expected, "every expired item is in the archive");
    let left = store.log(&ConversationId::user("Uexp"), &PageRequest { limit: 10, after: None }).await.unwrap();
    assert_eq!(left.items, vec![LogItem::In(unhandled.clone())], "only the unhandled event is left");
    assert_eq!(store.pending().await.unwrap(), vec![unhandled]);
    let kept = store.log(&held.conversation, &PageRequest { limit: 10, after: None }).await.unwrap();
    assert_eq!(kept.items.len(), 1);
    let again = line_oa::service::expiry::expire(&store, &archiver, now_s).await.unwrap();
    assert_eq!((again.removed, again.unarchived.len()), (0, 0));
}

#[tokio::test]
async fn items_archived_before_the_day_index_existed_are_found_in_the_chain() {
    let archive = crate::archive_contract::dir_archive().await;
    let archiver = Archiver::new(archive.clone());
    let item = LogItem::In(inbound("Uold", "o1", 1_700_000_000_000));
    archiver.archive(vec![item.clone()]).await.unwrap();
    let index = archive.list("index/user:Uold/").await.unwrap();
    assert_eq!(index.len(), 1, "one day, one index object");
    // As the previous version left it: the object, but nothing in the index.
    archive.put(&index[0], b"{\"items\":{}}".to_vec(), "application/json").await.unwrap();
    let done = archiver.reconcile_expired(vec![item]).await.unwrap();
    assert!(done.missing.is_empty(), "found by reading the chain, not reported");
}
