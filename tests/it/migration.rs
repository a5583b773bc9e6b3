//! A store written by the redb version of the local server (every version before 2026-12-02)
//! opens with nothing lost: converted on first open, read back exactly like a store that had
//! the same writes. `tests/fixtures/store-redb-v1/` holds such a store, written by `fill`
//! through the ports at the last redb commit, a7488ca (see its README).

use std::collections::BTreeMap;

use line_oa::domain::audit::{audit_id, AuditRecord};
use line_oa::domain::conversation::ConversationState;
use line_oa::domain::export_job::{ExportJob, ExportJobId, ExportRequest, Format, Scope, TimeRange};
use line_oa::domain::hold::Hold;
use line_oa::domain::ids::ConversationId;
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{
    collections, ArchiveQueue, AuditLog, Conversations, Doc, Documents, EventLog, ExportJobStore, Holds, OutboundStatus, WorkQueue,
};

use super::contract::{inbound, outbound, read_all};

const T0: i64 = 1_764_000_000_000;

fn job_id() -> ExportJobId {
    ExportJobId::from_random(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)
}

/// Deterministic writes through every port the local store has: three conversations (one
/// held, one needing attention, one a group), handled and pending events, a sent and a
/// claimed reply, documents of several collections, an export job, audit records.
pub async fn fill(store: &EmbeddedStore) {
    for (n, user) in ["Ufixture1", "Ufixture2"].iter().enumerate() {
        for i in 0..5 {
            let ts = T0 + (n as i64) * 1_000_000 + i * 60_000;
            let record = inbound(user, &format!("{user}-ev{i}"), ts);
            store.put_inbound(&record).await.unwrap();
            // The newest of each stays pending: a restart after the conversion handles it.
            if i < 4 {
                store.done(&record).await.unwrap();
            }
        }
    }
    let mut group_event = inbound("Cfixture3", "Cfixture3-ev0", T0 + 5_000);
    group_event.conversation = ConversationId::group("Cfixture3");
    store.put_inbound(&group_event).await.unwrap();
    store.done(&group_event).await.unwrap();

    let mut sent = outbound("Ufixture1", "Ufixture1-ev0", T0);
    store.claim_outbound(&sent).await.unwrap();
    sent.status = OutboundStatus::Sent;
    store.finish_outbound(&sent).await.unwrap();
    store.claim_outbound(&outbound("Ufixture2", "Ufixture2-ev3", T0 + 1_180_000)).await.unwrap();

    let mut first = ConversationState::new(ConversationId::user("Ufixture1"));
    first.first_inbound_ms = Some(T0);
    first.last_inbound_ms = Some(T0 + 240_000);
    first.last_activity_ms = T0 + 240_000;
    first.last_text = Some("予約を変更したいです".into());
    first.tags = vec!["予約".into()];
    first.staff_name = Some("山田さま".into());
    store.save_conversation(&first).await.unwrap();
    let mut second = ConversationState::new(ConversationId::user("Ufixture2"));
    second.last_inbound_ms = Some(T0 + 1_240_000);
    second.last_activity_ms = T0 + 1_240_000;
    second.flag("complaint");
    store.save_conversation(&second).await.unwrap();
    let mut group = ConversationState::new(ConversationId::group("Cfixture3"));
    group.last_activity_ms = T0 + 5_000;
    group.last_read_ms = T0 + 6_000;
    group.last_inbound_ms = Some(T0 + 5_000);
    store.save_conversation(&group).await.unwrap();
    // A second save: the stored version is 2.
    let mut again = store.conversation(&first.id).await.unwrap().unwrap();
    again.resolved = true;
    store.save_conversation(&again).await.unwrap();

    store
        .set_hold(&Hold { conversation: ConversationId::user("Ufixture2"), reason: "case 7".into(), since_ms: T0 + 2_000_000 })
        .await
        .unwrap();

    let doc = |id: &str, body: &str| Doc { id: id.into(), body: body.into(), version: 0 };
    store.put_doc(collections::META, &doc("tags", r#"{"tags":["予約","至急"]}"#)).await.unwrap();
    store.put_doc(collections::CANNED, &doc("c1", r#"{"title":"営業時間","text":"10時から19時です"}"#)).await.unwrap();
    store.put_doc(collections::CANNED, &doc("c2", r#"{"title":"hours","text":"10am to 7pm"}"#)).await.unwrap();
    store.put_doc(&collections::notes(&ConversationId::user("Ufixture1")), &doc("n1", r#"{"text":"折り返し電話"}"#)).await.unwrap();
    let versioned = Doc { version: 1, ..doc("c2", r#"{"title":"hours","text":"10am to 8pm"}"#) };
    store.put_doc(collections::CANNED, &versioned).await.unwrap();

    let request = ExportRequest {
        scope: Scope::Conversations { ids: vec![ConversationId::user("Ufixture1")] },
        range: TimeRange { from_ms: Some(T0), to_ms: None },
        format: Format::Csv,
    };
    store.save_export_job(&ExportJob::queued(job_id(), request, T0 + 3_000_000).by("alice")).await.unwrap();

    for (i, action) in ["reply", "note.add", "hold.set"].iter().enumerate() {
        let at_ms = T0 + 3_000_000 + i as i64;
        store
            .append_audit(&AuditRecord {
                id: audit_id(at_ms, 42 + i as u64),
                at_ms,
                actor: "alice".into(),
                role: "admin".into(),
                action: (*action).into(),
                conversation: Some("user:Ufixture1".into()),
                targets: vec![],
                detail: None,
                request_id: format!("req-{i}"),
                status: 200,
                expires_at: Some(at_ms / 1000 + 365 * 86_400),
            })
            .await
            .unwrap();
    }
}

/// Everything the ports read back, as text: two stores with equal dumps hold the same data.
pub async fn dump(store: &EmbeddedStore) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut ids = read_all(2, |page| async move { store.conversation_ids(&page).await.unwrap() }).await;
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    out.insert("conversation ids".into(), format!("{ids:?}"));
    for id in &ids {
        let log = read_all(2, |page| async move { store.log(id, &page).await.unwrap() }).await;
        out.insert(format!("log {id}"), format!("{log:#?}"));
        out.insert(format!("state {id}"), as_recorded(store.conversation(id).await.unwrap()));
        out.insert(format!("hold {id}"), format!("{:?}", store.hold(id).await.unwrap()));
        let notes = read_all(2, |page| async move { store.docs(&collections::notes(id), &page).await.unwrap() }).await;
        out.insert(format!("notes {id}"), format!("{notes:?}"));
    }
    let by_activity = read_all(2, |page| async move { store.conversations_by_activity(&page).await.unwrap() }).await;
    out.insert("by activity".into(), format!("{:?}", by_activity.iter().map(|s| s.id.as_str().to_owned()).collect::<Vec<_>>()));
    out.insert("inbox".into(), format!("{:?}", store.inbox().await.unwrap()));
    for collection in [collections::META, collections::CANNED] {
        let docs = read_all(1, |page| async move { store.docs(collection, &page).await.unwrap() }).await;
        out.insert(format!("docs {collection}"), format!("{docs:?}"));
    }
    out.insert("holds".into(), format!("{:?}", store.holds().await.unwrap()));
    out.insert("export job".into(), format!("{:?}", store.export_job(&job_id()).await.unwrap()));
    out.insert("unfinished export jobs".into(), format!("{:?}", store.unfinished_export_jobs().await.unwrap()));
    let audit = read_all(2, |page| async move { store.audit(&page).await.unwrap() }).await;
    out.insert("audit".into(), format!("{audit:?}"));
    out.insert("pending".into(), format!("{:?}", store.pending().await.unwrap()));
    let mut due = store.archive_due().await.unwrap();
    due.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    out.insert("archive due".into(), format!("{due:?}"));
    out
}

/// Conversation state fields added after `dump.txt` was recorded, as they read back unset.
const UNSET_SINCE_RECORDED: [&str; 2] = ["forgotten_ms: None,", "replies: [],"];

/// A state in `dump.txt`'s shape: the fields added since left out while unset, as they must be
/// in a store that never had them (set, they stay and the dumps differ).
fn as_recorded(state: Option<ConversationState>) -> String {
    let text = format!("{state:#?}");
    text.lines().filter(|line| !UNSET_SINCE_RECORDED.contains(&line.trim())).collect::<Vec<_>>().join("\n")
}

fn as_text(dump: &BTreeMap<String, String>) -> String {
    dump.iter().map(|(k, v)| format!("== {k}\n{v}\n")).collect()
}

#[tokio::test]
async fn a_store_of_the_redb_versions_opens_converted_with_nothing_lost() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-redb-v1");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture.join("line-oa.redb"), dir.path().join("line-oa.redb")).unwrap();

    let converted = EmbeddedStore::open(dir.path()).unwrap();
    let read_back = dump(&converted).await;
    // Exactly what the redb store read back when it was written, port by port.
    let recorded = std::fs::read_to_string(fixture.join("dump.txt")).unwrap();
    assert_eq!(as_text(&read_back), recorded, "the converted store reads as the redb store did");
    // And exactly what a store given the same writes today reads.
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = EmbeddedStore::open(fresh_dir.path()).unwrap();
    fill(&fresh).await;
    assert_eq!(read_back, dump(&fresh).await);

    assert!(!dir.path().join("line-oa.redb").exists(), "the old file is moved aside");
    assert!(dir.path().join("line-oa.redb.converted").exists(), "and kept");
    // Writes go on where the old store stopped: the next version of a conversation, a new event.
    let mut state = converted.conversation(&ConversationId::user("Ufixture1")).await.unwrap().unwrap();
    assert_eq!(state.version, 2);
    state.tags.push("至急".into());
    converted.save_conversation(&state).await.unwrap();
    converted.put_inbound(&inbound("Ufixture1", "after-conversion", T0 + 9_000_000)).await.unwrap();
    drop(converted);

    // Opened again: nothing converted twice, the new writes kept.
    let again = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(again.conversation(&ConversationId::user("Ufixture1")).await.unwrap().unwrap().version, 3);
    let log = read_all(10, |page| {
        let again = &again;
        async move { again.log(&ConversationId::user("Ufixture1"), &page).await.unwrap() }
    })
    .await;
    assert_eq!(log.len(), 5 + 1 + 1, "five events, the reply and the event after the conversion");
}

#[tokio::test]
async fn a_conversion_cut_short_runs_again_and_a_finished_one_only_moves_the_file_aside() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-redb-v1");
    let recorded = std::fs::read_to_string(fixture.join("dump.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Cut short: the first of the old store's entries copied, no marker yet.
    {
        let partial = EmbeddedStore::open(dir.path()).unwrap();
        let first = inbound("Ufixture1", "Ufixture1-ev0", T0);
        partial.put_inbound(&first).await.unwrap();
        partial.done(&first).await.unwrap();
    }
    std::fs::copy(fixture.join("line-oa.redb"), dir.path().join("line-oa.redb")).unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(as_text(&dump(&store).await), recorded, "converted again, over what the first try copied");
    }
    // Finished, but stopped before the old file was moved aside: it is only moved now.
    std::fs::rename(dir.path().join("line-oa.redb.converted"), dir.path().join("line-oa.redb")).unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert!(!dir.path().join("line-oa.redb").exists() && dir.path().join("line-oa.redb.converted").exists());
    assert_eq!(as_text(&dump(&store).await), recorded);
}
