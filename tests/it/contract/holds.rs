//! `Holds` (legal hold), for every adapter: a held conversation's items lose their TTL,
//! items logged during the hold get none, and a release gives every item its TTL back from
//! its own time; the hold use case and command on top.

use std::sync::Arc;

use line_oa::domain::hold::{released_ttl, ttl_of, Hold};
use line_oa::domain::ids::ConversationId;
use line_oa::domain::log::NO_TTL;
use line_oa::service::hold::{set_hold, HoldChange, HoldError};
use line_oa::store::{EventLog, Holds, Inserted, LogItem, OutboundRecord, OutboundStatus, SendMethod, Store};

use super::{inbound, read_all};

const RETENTION_DAYS: u32 = 30;

async fn all_items(store: &dyn EventLog, conv: &ConversationId) -> Vec<LogItem> {
    read_all(2, |page| async move { store.log(conv, &page).await.unwrap() }).await
}

fn reply(conv: &str, id: &str, ts: i64) -> OutboundRecord {
    OutboundRecord {
        conversation: ConversationId::user(conv),
        id: id.into(),
        timestamp_ms: ts,
        created_ms: ts + 2_000,
        method: SendMethod::Reply,
        messages: "[]".into(),
        status: OutboundStatus::Sending,
        reason: "test".into(),
        expires_at: Some((ts + 2_000) / 1000 + 365 * 86_400),
    }
}

async fn a_hold_removes_every_ttl_keeps_new_items_and_a_release_restores_them(store: Arc<dyn Store>) {
    let held = ConversationId::user("Uheld");
    let other = ConversationId::user("Uother");
    for i in 0..5 {
        store.put_inbound(&inbound("Uheld", &format!("h{i}"), 1_700_000_000_000 + i * 1000)).await.unwrap();
    }
    store.claim_outbound(&reply("Uheld", "h0", 1_700_000_000_000)).await.unwrap();
    store.put_inbound(&inbound("Uother", "o1", 1_700_000_000_000)).await.unwrap();

    let hold = Hold { conversation: held.clone(), reason: "litigation 2026-17".into(), since_ms: 1_700_000_100_000 };
    assert_eq!(store.set_hold(&hold).await.unwrap(), 6);
    assert_eq!(store.set_hold(&hold).await.unwrap(), 0, "holding again changes nothing");
    assert_eq!(store.hold(&held).await.unwrap(), Some(hold.clone()));
    assert_eq!(store.hold(&other).await.unwrap(), None);
    assert_eq!(store.holds().await.unwrap(), vec![hold.clone()]);

    // Logged and updated during the hold: no TTL either.
    store.put_inbound(&inbound("Uheld", "during", 1_700_000_200_000)).await.unwrap();
    let mut finished = reply("Uheld", "h1", 1_700_000_001_000);
    store.claim_outbound(&finished).await.unwrap();
    finished.status = OutboundStatus::Sent;
    store.finish_outbound(&finished).await.unwrap();
    let items = all_items(store.as_ref(), &held).await;
    assert_eq!(items.len(), 8);
    assert!(items.iter().all(|i| ttl_of(i) == NO_TTL), "{items:?}");
    let others = all_items(store.as_ref(), &other).await;
    assert_eq!(ttl_of(&others[0]), Some(1_700_000_000 + 365 * 86_400), "another conversation keeps its TTL");

    assert_eq!(store.release_hold(&held, RETENTION_DAYS, 2_000).await.unwrap(), 8);
    assert_eq!(store.release_hold(&held, RETENTION_DAYS, 2_000).await.unwrap(), 0, "releasing again changes nothing");
    assert_eq!(store.hold(&held).await.unwrap(), None);
    assert!(store.holds().await.unwrap().is_empty());
    for item in all_items(store.as_ref(), &held).await {
        assert_eq!(ttl_of(&item), Some(released_ttl(&item, RETENTION_DAYS)), "{item:?}");
        assert_ne!(ttl_of(&item), NO_TTL);
    }
    let after = inbound("Uheld", "after", 1_700_000_300_000);
    store.put_inbound(&after).await.unwrap();
    let items = all_items(store.as_ref(), &held).await;
    assert_eq!(items.last().map(ttl_of), Some(after.expires_at), "after the release, new items expire as usual");
}

async fn the_hold_use_case_needs_a_reason_and_keeps_when_the_hold_began(store: Arc<dyn Store>) {
    let conv = ConversationId::user("Ucase");
    store.put_inbound(&inbound("Ucase", "c1", 1_700_000_000_000)).await.unwrap();
    let err = set_hold(store.as_ref(), &conv, true, "  ", RETENTION_DAYS, 1).await.unwrap_err();
    assert!(matches!(err, HoldError::MissingReason), "{err}");
    assert_eq!(store.hold(&conv).await.unwrap(), None, "nothing held without a reason");

    let first = set_hold(store.as_ref(), &conv, true, "audit", RETENTION_DAYS, 1_000).await.unwrap();
    assert!(matches!(first, HoldChange::Held { items: 1, .. }), "{first:?}");
    let again = set_hold(store.as_ref(), &conv, true, "audit, extended", RETENTION_DAYS, 9_000).await.unwrap();
    let HoldChange::Held { hold, items: 0 } = again else { panic!("{again:?}") };
    assert_eq!((hold.since_ms, hold.reason.as_str()), (1_000, "audit, extended"));
    let released = set_hold(store.as_ref(), &conv, false, "", RETENTION_DAYS, 10_000).await.unwrap();
    assert_eq!(released, HoldChange::Released { conversation: conv, items: 1 });
}

async fn holds_list_every_held_conversation_and_a_release_ends_only_its_own(store: Arc<dyn Store>) {
    let (a, b) = (ConversationId::user("Uhold-a"), ConversationId::user("Uhold-b"));
    store.put_inbound(&inbound("Uhold-a", "a1", 1_700_000_000_000)).await.unwrap();
    store.put_inbound(&inbound("Uhold-b", "b1", 1_700_000_000_000)).await.unwrap();
    assert!(store.holds().await.unwrap().is_empty());
    let hold_a = Hold { conversation: a.clone(), reason: "case A".into(), since_ms: 1 };
    let hold_b = Hold { conversation: b.clone(), reason: "case B".into(), since_ms: 2 };
    store.set_hold(&hold_a).await.unwrap();
    store.set_hold(&hold_b).await.unwrap();
    let mut holds = store.holds().await.unwrap();
    holds.sort_by_key(|h| h.since_ms);
    assert_eq!(holds, vec![hold_a.clone(), hold_b.clone()]);

    let replaced = Hold { reason: "case A, widened".into(), ..hold_a.clone() };
    assert_eq!(store.set_hold(&replaced).await.unwrap(), 0, "a new reason, no item changed");
    assert_eq!(store.hold(&a).await.unwrap(), Some(replaced));

    assert_eq!(store.release_hold(&a, RETENTION_DAYS, 2_000).await.unwrap(), 1);
    assert_eq!(store.holds().await.unwrap(), vec![hold_b.clone()], "the other hold stays");
    assert!(all_items(store.as_ref(), &b).await.iter().all(|i| ttl_of(i) == NO_TTL), "and its items keep no TTL");
    assert_eq!(
        store.release_hold(&ConversationId::user("Unever"), RETENTION_DAYS, 2_000).await.unwrap(),
        0,
        "releasing what was never held"
    );
}

async fn a_redelivery_during_a_hold_is_a_duplicate_and_gets_no_ttl(store: Arc<dyn Store>) {
    let held = ConversationId::user("Uredeliver");
    let event = inbound("Uredeliver", "r1", 1_700_000_000_000);
    store.put_inbound(&event).await.unwrap();
    store.set_hold(&Hold { conversation: held.clone(), reason: "r".into(), since_ms: 1 }).await.unwrap();
    assert_eq!(store.put_inbound(&event).await.unwrap(), Inserted::Duplicate);
    let items = all_items(store.as_ref(), &held).await;
    assert_eq!(items.len(), 1);
    assert_eq!(ttl_of(&items[0]), NO_TTL, "the redelivery does not bring its TTL back");
}

for_every_adapter!(
    a_hold_removes_every_ttl_keeps_new_items_and_a_release_restores_them,
    the_hold_use_case_needs_a_reason_and_keeps_when_the_hold_began,
    holds_list_every_held_conversation_and_a_release_ends_only_its_own,
    a_redelivery_during_a_hold_is_a_duplicate_and_gets_no_ttl,
);

#[tokio::test]
async fn on_dynamodb_a_held_item_has_no_ttl_attribute_and_a_released_one_has_it_again() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let client = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&client).await;
    let store = line_oa::store::dynamodb::DynamoStore::new(client.clone(), table.clone());
    let r = inbound("Uattr", "a1", 1_700_000_000_000);
    store.put_inbound(&r).await.unwrap();
    let ttl_attribute = || async {
        let key = line_oa::store::log_sort_key(r.timestamp_ms, true, "a1");
        let out = client
            .get_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("CONV#user:Uattr".into()))
            .key("sk", AttributeValue::S(key))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        out.item.unwrap().get("expires_at").cloned()
    };
    let hold = Hold { conversation: r.conversation.clone(), reason: "r".into(), since_ms: 1 };
    store.set_hold(&hold).await.unwrap();
    assert_eq!(ttl_attribute().await, None, "DynamoDB TTL never removes an item without the attribute");
    store.release_hold(&r.conversation, 7, 2_000).await.unwrap();
    assert_eq!(ttl_attribute().await, Some(AttributeValue::N((1_700_000_000 + 7 * 86_400).to_string())));
}

#[tokio::test]
async fn the_hold_command_sets_lists_and_releases_a_hold_on_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = line_oa::store::embedded::EmbeddedStore::open(dir.path()).unwrap();
        store.put_inbound(&inbound("Ucli", "cli1", 1_700_000_000_000)).await.unwrap();
    }
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_line-oa"))
            .args(args)
            .env("DATA_DIR", dir.path())
            .env("RETENTION_DAYS", "10")
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    // Dropping the store let go of its file: the command opens it at once.
    let refused = run(&["hold", "set", "--conversation", "user:Ucli"]);
    let (ok, text) = refused;
    assert!(!ok && text.contains("--reason"), "a hold without a reason is refused: {text}");
    let (ok, text) = run(&["hold", "list"]);
    assert!(ok && text.contains("0 conversation(s) on hold"), "the store opens the moment it is dropped: {text}");
    let (ok, text) = run(&["hold", "set", "--conversation", "user:Ucli", "--reason", "case 42"]);
    assert!(ok && text.contains("1 item(s) no longer expire"), "{text}");
    let (ok, text) = run(&["hold", "list"]);
    assert!(ok && text.contains("user:Ucli") && text.contains("case 42") && text.contains("1 conversation(s) on hold"), "{text}");
    let (ok, text) = run(&["hold", "release", "--conversation", "user:Ucli"]);
    assert!(ok && text.contains("1 item(s) expire again (10 days"), "{text}");
    let store = line_oa::store::embedded::EmbeddedStore::open(dir.path()).unwrap();
    let items = all_items(&store, &ConversationId::user("Ucli")).await;
    assert_eq!(ttl_of(&items[0]), Some(1_700_000_000 + 10 * 86_400));
}
