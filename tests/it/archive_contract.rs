//! The object-storage port's contract (`line_oa::blob`, which the archive and the exports share)
//! and the hash-chained archiver, against a local folder and against S3 over HTTP (moto on
//! 127.0.0.1, bucket with Object Lock).

use std::sync::Arc;
use std::time::Duration;

use line_oa::blob::dir::DirBlobStore;
use line_oa::blob::s3::S3BlobStore;
use line_oa::blob::{BlobStore, Link};
use line_oa::domain::ids::ConversationId;
use line_oa::service::archive::Archiver;
use line_oa::store::LogItem;

use crate::contract::inbound;

async fn put_get_list(store: Arc<dyn BlobStore>) {
    assert_eq!(store.get("transcripts/none/1.jsonl").await.unwrap(), None);
    for key in ["transcripts/user:U1/0000000002-2026-01-01.jsonl", "transcripts/user:U1/0000000001-2026-01-01.jsonl", "heads/user:U1.json"]
    {
        store.put(key, key.as_bytes().to_vec(), "application/json").await.unwrap();
    }
    store.put("heads/user:U1.json", b"v2".to_vec(), "application/json").await.unwrap();
    assert_eq!(store.get("heads/user:U1.json").await.unwrap().as_deref(), Some(&b"v2"[..]), "a put replaces");
    assert_eq!(
        store.list("transcripts/user:U1/").await.unwrap(),
        vec!["transcripts/user:U1/0000000001-2026-01-01.jsonl", "transcripts/user:U1/0000000002-2026-01-01.jsonl"]
    );
}

async fn a_file_goes_up_whole_and_its_link_fetches_it(store: Arc<dyn BlobStore>) {
    std::fs::create_dir_all(store.scratch_dir()).unwrap();
    let file = store.scratch_dir().join(format!("{}.csv", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, "a,b\n予約,1\n").unwrap();
    store.put_file("exports/j1/x.csv", &file, "text/csv; charset=utf-8").await.unwrap();
    assert!(!file.exists(), "the scratch file is the store's once taken");
    assert_eq!(store.get("exports/j1/x.csv").await.unwrap().as_deref(), Some("a,b\n予約,1\n".as_bytes()));
    let fetched = match store.link("exports/j1/x.csv", Duration::from_secs(60), Some("x.csv")).await.unwrap() {
        Link::Url { url, expires_in_secs } => {
            assert_eq!(expires_in_secs, 60);
            let response = reqwest::get(&url).await.unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            response.bytes().await.unwrap().to_vec()
        }
        Link::File { path } => std::fs::read(path).unwrap(),
    };
    assert_eq!(fetched, "a,b\n予約,1\n".as_bytes());
}

async fn the_archiver_keeps_a_verifiable_chain_and_finds_tampering(store: Arc<dyn BlobStore>) {
    let archiver = Archiver::new(store.clone());
    let conv = ConversationId::user("U1");
    let first = vec![LogItem::In(inbound("U1", "a", 1_764_000_000_000)), LogItem::In(inbound("U2", "x", 1_764_000_000_000))];
    assert_eq!(archiver.archive(first.clone()).await.unwrap(), 2, "one object per conversation");
    assert_eq!(archiver.archive(first).await.unwrap(), 0, "a retried batch writes nothing new");
    let mut reply = match LogItem::In(inbound("U1", "b", 1_764_000_100_000)) {
        LogItem::In(r) => r,
        _ => unreachable!(),
    };
    reply.raw = "{\"text\":\"予約したいです\"}".into();
    archiver.archive(vec![LogItem::In(reply)]).await.unwrap();
    let report = archiver.verify(&conv).await.unwrap().unwrap();
    assert_eq!((report.objects, report.items), (2, 2));
    let mut convs = archiver.conversations().await.unwrap();
    convs.sort();
    assert_eq!(convs, vec![ConversationId::user("U1"), ConversationId::user("U2")]);

    // Someone edits the second object in place: verify names it.
    let keys = store.list("transcripts/user:U1/").await.unwrap();
    let edited = String::from_utf8(store.get(&keys[1]).await.unwrap().unwrap()).unwrap().replace("予約", "解約");
    store.put(&keys[1], edited.into_bytes(), "application/x-ndjson").await.unwrap();
    let broken = archiver.verify(&conv).await.unwrap().unwrap_err();
    assert_eq!(broken.key, keys[1]);
    assert!(broken.problem.contains("altered"), "{broken}");
}

macro_rules! archive_suite {
    ($adapter:ident, $make:path) => {
        mod $adapter {
            #[tokio::test]
            async fn put_get_list() {
                super::put_get_list($make().await).await
            }
            #[tokio::test]
            async fn a_file_goes_up_whole_and_its_link_fetches_it() {
                super::a_file_goes_up_whole_and_its_link_fetches_it($make().await).await
            }
            #[tokio::test]
            async fn the_archiver_keeps_a_verifiable_chain_and_finds_tampering() {
                super::the_archiver_keeps_a_verifiable_chain_and_finds_tampering($make().await).await
            }
        }
    };
}

pub async fn dir_archive() -> Arc<dyn BlobStore> {
    Arc::new(DirBlobStore::new(tempfile::tempdir().unwrap().keep()))
}

pub async fn s3_archive() -> Arc<dyn BlobStore> {
    let client = crate::support::s3_client().await;
    let bucket = crate::support::create_bucket(&client).await;
    Arc::new(S3BlobStore::new(client, bucket))
}

archive_suite!(dir, crate::archive_contract::dir_archive);
archive_suite!(s3, crate::archive_contract::s3_archive);
