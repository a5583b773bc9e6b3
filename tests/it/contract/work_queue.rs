//! The local server's ports, which only the embedded store has: `WorkQueue` (events logged
//! but not handled yet), `ArchiveQueue` (what the archiver owes) and `LocalTtl` (expiry that
//! spares what is unhandled, held or changed since it was found).

use std::sync::Arc;

use line_oa::domain::hold::{ttl_of, Hold};
use line_oa::domain::ids::ConversationId;
use line_oa::domain::log::NO_TTL;
use line_oa::store::{
    ArchiveDue, ArchiveQueue, EventLog, Holds, InboundRecord, LocalTtl, LogItem, OutboundRecord, OutboundStatus, PageRequest, SendMethod,
    WorkQueue,
};

use super::{inbound, outbound};

/// The ports of a local store, as one: what these contracts are written against.
trait LocalStore: EventLog + Holds + WorkQueue + ArchiveQueue + LocalTtl {}
impl<T: EventLog + Holds + WorkQueue + ArchiveQueue + LocalTtl> LocalStore for T {}

async fn embedded_store() -> Arc<dyn LocalStore> {
    let dir = tempfile::tempdir().unwrap().keep();
    Arc::new(line_oa::store::embedded::EmbeddedStore::open(&dir).unwrap())
}

fn with_ttl(record: InboundRecord, expires_at: i64) -> InboundRecord {
    InboundRecord { expires_at: Some(expires_at), ..record }
}

async fn done_marks_due_with_it_and_a_mark_made_while_archiving_survives_the_clear(store: Arc<dyn LocalStore>) {
    let (a, b) = (with_ttl(inbound("Uq", "e1", 2_000), 9), with_ttl(inbound("Uq", "e2", 1_000), 9));
    store.put_inbound(&a).await.unwrap();
    store.put_inbound(&b).await.unwrap();
    assert_eq!(store.pending().await.unwrap(), vec![b.clone(), a.clone()]);

    store.done(&a).await.unwrap();
    assert_eq!(store.pending().await.unwrap(), vec![b.clone()], "done leaves pending in the same commit");
    let first = store.archive_due().await.unwrap();
    assert_eq!(first, vec![(ConversationId::user("Uq"), ArchiveDue { from_ms: 2_000, marks: 0 })]);

    store.done(&b).await.unwrap();
    store.archived(first).await.unwrap();
    let second = store.archive_due().await.unwrap();
    assert_eq!(second, vec![(ConversationId::user("Uq"), ArchiveDue { from_ms: 1_000, marks: 1 })], "a newer mark stays");
    store.archived(second).await.unwrap();
    assert!(store.archive_due().await.unwrap().is_empty());

    let out = OutboundRecord {
        conversation: ConversationId::user("Uq"),
        id: "o1".into(),
        timestamp_ms: 3_000,
        created_ms: 3_000,
        method: SendMethod::Push,
        messages: "[]".into(),
        status: OutboundStatus::Sent,
        reason: "staff".into(),
        expires_at: Some(9),
    };
    store.finish_outbound(&out).await.unwrap();
    assert_eq!(
        store.archive_due().await.unwrap(),
        vec![(ConversationId::user("Uq"), ArchiveDue { from_ms: 3_000, marks: 0 })],
        "a finished reply is owed too"
    );
}

async fn a_new_event_is_pending_until_done_and_neither_a_redelivery_nor_a_claim_queues_again(store: Arc<dyn LocalStore>) {
    assert!(store.pending().await.unwrap().is_empty());
    let event = inbound("Uw", "w1", 1_700_000_000_000);
    store.put_inbound(&event).await.unwrap();
    store.put_inbound(&event).await.unwrap();
    assert_eq!(store.pending().await.unwrap(), vec![event.clone()], "queued once");
    store.claim_outbound(&outbound("Uw", "w1", 1_700_000_000_000)).await.unwrap();
    assert_eq!(store.pending().await.unwrap(), vec![event.clone()], "a reply is never work");
    store.done(&event).await.unwrap();
    store.put_inbound(&event).await.unwrap();
    assert!(store.pending().await.unwrap().is_empty(), "a redelivery of a handled event is not handled again");
    assert!(store.archive_due().await.unwrap().iter().any(|(id, _)| id == &event.conversation));
}

async fn expired_items_are_found_once_handled_and_a_round_stops_at_its_limit(store: Arc<dyn LocalStore>) {
    let conv = ConversationId::user("Uexp");
    let handled: Vec<_> = (0..3).map(|i| with_ttl(inbound("Uexp", &format!("h{i}"), 1_000 + i), 100)).collect();
    let unhandled = with_ttl(inbound("Uexp", "u", 2_000), 100);
    let later = with_ttl(inbound("Uexp", "l", 3_000), 500);
    for r in handled.iter().chain([&unhandled, &later]) {
        store.put_inbound(r).await.unwrap();
    }
    for r in handled.iter().chain([&later]) {
        store.done(r).await.unwrap();
    }
    assert!(store.expired(99, 10).await.unwrap().is_empty(), "nothing is due before its TTL");
    let due = store.expired(100, 10).await.unwrap();
    assert_eq!(due.iter().map(|e| e.item.clone()).collect::<Vec<_>>(), handled.iter().cloned().map(LogItem::In).collect::<Vec<_>>());
    assert!(due.iter().all(|e| e.conversation == conv.as_str()), "{due:?}");
    assert_eq!(store.expired(100, 2).await.unwrap().len(), 2, "a round is bounded");

    assert_eq!(store.remove_expired(due, 100).await.unwrap(), 3);
    let left = store.log(&conv, &PageRequest { limit: 10, after: None }).await.unwrap().items;
    assert_eq!(left, vec![LogItem::In(unhandled), LogItem::In(later)], "what is unhandled or not due stays");
}

async fn an_item_held_or_rewritten_since_it_was_found_is_kept(store: Arc<dyn LocalStore>) {
    let (held, other) = (ConversationId::user("Ukeep"), ConversationId::user("Urewrite"));
    let event = with_ttl(inbound("Ukeep", "k1", 1_000), 100);
    store.put_inbound(&event).await.unwrap();
    store.done(&event).await.unwrap();
    let reply = OutboundRecord { expires_at: Some(100), ..outbound("Urewrite", "r1", 1_000) };
    store.claim_outbound(&reply).await.unwrap();
    let found = store.expired(100, 10).await.unwrap();
    assert_eq!(found.len(), 2);

    store.set_hold(&Hold { conversation: held.clone(), reason: "case".into(), since_ms: 1 }).await.unwrap();
    store.finish_outbound(&OutboundRecord { status: OutboundStatus::Sent, ..reply }).await.unwrap();
    assert_eq!(store.remove_expired(found, 100).await.unwrap(), 0, "both changed since they were found");
    let kept = store.log(&held, &PageRequest { limit: 10, after: None }).await.unwrap().items;
    assert_eq!(kept.iter().map(ttl_of).collect::<Vec<_>>(), vec![NO_TTL], "held: kept, without a TTL");
    assert_eq!(store.log(&other, &PageRequest { limit: 10, after: None }).await.unwrap().items.len(), 1);

    let now_due = store.expired(i64::MAX, 10).await.unwrap();
    assert_eq!(now_due.len(), 1, "a held item is never due: {now_due:?}");
    assert_eq!(now_due[0].conversation, other.as_str());
}

/// The local ports have one adapter; the suite is written against the ports all the same.
mod embedded {
    macro_rules! local_contracts {
        ($($contract:ident),+ $(,)?) => {
            $(
                #[tokio::test]
                async fn $contract() {
                    super::$contract(super::embedded_store().await).await
                }
            )+
        };
    }

    local_contracts!(
        done_marks_due_with_it_and_a_mark_made_while_archiving_survives_the_clear,
        a_new_event_is_pending_until_done_and_neither_a_redelivery_nor_a_claim_queues_again,
        expired_items_are_found_once_handled_and_a_round_stops_at_its_limit,
        an_item_held_or_rewritten_since_it_was_found_is_kept,
    );
}

/// The local server, the CLI and a restart take turns on one file: the moment the last handle
/// is dropped (its writer thread joined), the next open succeeds, with what was written in it.
#[tokio::test]
async fn a_dropped_embedded_store_lets_go_of_its_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20 {
        let store = line_oa::store::embedded::EmbeddedStore::open(dir.path()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let clone = store.clone();
        clone.put_inbound(&inbound("Udrop", &format!("drop{round}"), 1_700_000_000_000 + round)).await.unwrap();
        drop(clone);
        let pending = store.pending().await.unwrap();
        assert_eq!(pending.len(), round as usize + 1, "round {round}: every earlier write is still there");
    }
}
