//! `EventLog`: each event and each reply is written once, the log reads back in time order
//! both ways with cursors, and every conversation with a log is listed once.

use std::collections::BTreeSet;
use std::sync::Arc;

use line_oa::domain::conversation::ConversationState;
use line_oa::domain::ids::ConversationId;
use line_oa::store::{log_cursor_from, Claim, EventLog, Inserted, LogItem, OutboundStatus, PageRequest, Store};

use super::{inbound, outbound, read_all};

/// 23 events a second apart, every third answered: the log `conversation` must read back.
async fn fill(store: &dyn EventLog, conversation: &str) -> Vec<LogItem> {
    let mut expected = Vec::new();
    for i in 0..23_i64 {
        let ts = 1_700_000_000_000 + i * 1000;
        let r = inbound(conversation, &format!("e{i:02}"), ts);
        store.put_inbound(&r).await.unwrap();
        expected.push(LogItem::In(r));
        if i % 3 == 0 {
            let o = outbound(conversation, &format!("e{i:02}"), ts);
            store.claim_outbound(&o).await.unwrap();
            expected.push(LogItem::Out(o));
        }
    }
    expected
}

async fn inbound_is_logged_once_with_its_ttl(store: Arc<dyn EventLog>) {
    let r = inbound("U1", "ev1", 1_700_000_000_000);
    assert_eq!(store.put_inbound(&r).await.unwrap(), Inserted::New);
    assert_eq!(store.put_inbound(&r).await.unwrap(), Inserted::Duplicate);
    let page = store.log(&r.conversation, &PageRequest { limit: 10, after: None }).await.unwrap();
    assert_eq!(page.items, vec![LogItem::In(r.clone())]);
    let LogItem::In(back) = &page.items[0] else { unreachable!() };
    assert_eq!(back.expires_at, Some(1_700_000_000 + 365 * 86_400));
}

async fn concurrent_deliveries_insert_once(store: Arc<dyn EventLog>) {
    let r = inbound("U2", "race", 1_700_000_000_000);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, r) = (store.clone(), r.clone());
            tokio::spawn(async move { store.put_inbound(&r).await.unwrap() })
        })
        .collect();
    let mut new = 0;
    for t in tasks {
        if t.await.unwrap() == Inserted::New {
            new += 1;
        }
    }
    assert_eq!(new, 1);
}

async fn an_outbound_is_claimed_once(store: Arc<dyn EventLog>) {
    let o = outbound("U3", "ev3", 1_700_000_000_000);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (store, o) = (store.clone(), o.clone());
            tokio::spawn(async move { store.claim_outbound(&o).await.unwrap() })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Claim::Claimed => claimed += 1,
            Claim::Exists(existing) => assert_eq!(existing.status, OutboundStatus::Sending),
        }
    }
    assert_eq!(claimed, 1);
    let mut done = o.clone();
    done.status = OutboundStatus::Sent;
    store.finish_outbound(&done).await.unwrap();
    assert_eq!(store.claim_outbound(&o).await.unwrap(), Claim::Exists(done));
}

async fn the_log_pages_in_time_order_with_replies_after_their_event(store: Arc<dyn EventLog>) {
    let conv = ConversationId::user("U4");
    let expected = fill(store.as_ref(), "U4").await;
    // Another conversation's items never leak into this one.
    store.put_inbound(&inbound("U5", "other", 1_700_000_000_500)).await.unwrap();
    let seen = read_all(5, |page| {
        let (store, conv) = (store.clone(), conv.clone());
        async move { store.log(&conv, &page).await.unwrap() }
    })
    .await;
    assert_eq!(seen, expected);
}

async fn the_newest_first_log_opens_at_the_end_and_pages_back_with_cursors(store: Arc<dyn EventLog>) {
    let conv = ConversationId::user("U4n");
    let mut expected = fill(store.as_ref(), "U4n").await;
    expected.reverse();
    // Neighbours on both sides in key order stay out: a conversation that sorts just before
    // and one whose id starts with this one's.
    store.put_inbound(&inbound("U4m", "before", 1_700_000_000_500)).await.unwrap();
    store.put_inbound(&inbound("U4nn", "after", 1_700_000_000_500)).await.unwrap();
    let first = store.log_newest(&conv, &PageRequest { limit: 4, after: None }).await.unwrap();
    assert_eq!(first.items, expected[..4], "the first page is the newest four, newest first");
    let seen = read_all(4, |page| {
        let (store, conv) = (store.clone(), conv.clone());
        async move { store.log_newest(&conv, &page).await.unwrap() }
    })
    .await;
    assert_eq!(seen, expected);
}

async fn a_log_read_from_a_time_cursor_starts_at_that_time(store: Arc<dyn EventLog>) {
    let conv = ConversationId::user("U4t");
    let all = fill(store.as_ref(), "U4t").await;
    let from = 1_700_000_000_000 + 9 * 1000;
    let page = store.log(&conv, &PageRequest { limit: 1000, after: Some(log_cursor_from(from)) }).await.unwrap();
    let expected: Vec<_> = all.into_iter().filter(|i| i.timestamp_ms() >= from).collect();
    assert_eq!(page.items, expected, "the event at `from` and its reply come first");
    assert_eq!(page.next, None);
}

async fn finishing_an_outbound_updates_it_in_place(store: Arc<dyn EventLog>) {
    let conv = ConversationId::user("U3f");
    let event = inbound("U3f", "f1", 1_700_000_000_000);
    store.put_inbound(&event).await.unwrap();
    let claim = outbound("U3f", "f1", 1_700_000_000_000);
    assert_eq!(store.claim_outbound(&claim).await.unwrap(), Claim::Claimed);
    let failed = line_oa::store::OutboundRecord { status: OutboundStatus::Failed, reason: "LINE said 400".into(), ..claim.clone() };
    store.finish_outbound(&failed).await.unwrap();
    let page = store.log(&conv, &PageRequest { limit: 10, after: None }).await.unwrap();
    assert_eq!(page.items, vec![LogItem::In(event), LogItem::Out(failed.clone())], "one reply, with its outcome");
    assert_eq!(store.claim_outbound(&claim).await.unwrap(), Claim::Exists(failed), "a retry sees the outcome, never sends again");
}

/// An outcome written without a claim in the log (an automatic reply, claimed in its
/// conversation's state) is read back by its key, as written last; nothing before it is.
async fn an_outbound_is_read_back_by_its_key(store: Arc<dyn EventLog>) {
    let conv = ConversationId::user("U3r");
    let event = inbound("U3r", "r1", 1_700_000_000_000);
    store.put_inbound(&event).await.unwrap();
    assert_eq!(store.outbound(&conv, event.timestamp_ms, "r1").await.unwrap(), None, "no reply yet");
    let sent = line_oa::store::OutboundRecord { status: OutboundStatus::Sent, ..outbound("U3r", "r1", event.timestamp_ms) };
    store.finish_outbound(&sent).await.unwrap();
    assert_eq!(store.outbound(&conv, event.timestamp_ms, "r1").await.unwrap(), Some(sent.clone()));
    let unknown = line_oa::store::OutboundRecord { status: OutboundStatus::Unknown, ..sent };
    store.finish_outbound(&unknown).await.unwrap();
    assert_eq!(store.outbound(&conv, event.timestamp_ms, "r1").await.unwrap(), Some(unknown), "the last written");
    assert_eq!(store.outbound(&conv, event.timestamp_ms + 1, "r1").await.unwrap(), None, "the time is part of the key");
    assert_eq!(store.outbound(&ConversationId::user("U3other"), event.timestamp_ms, "r1").await.unwrap(), None);
}

async fn an_unknown_conversation_has_an_empty_log_both_ways(store: Arc<dyn EventLog>) {
    store.put_inbound(&inbound("Uknown", "k1", 1_700_000_000_000)).await.unwrap();
    let nobody = ConversationId::user("Unobody");
    for page in [
        store.log(&nobody, &PageRequest { limit: 5, after: None }).await.unwrap(),
        store.log_newest(&nobody, &PageRequest { limit: 5, after: None }).await.unwrap(),
    ] {
        assert!(page.items.is_empty() && page.next.is_none(), "{page:?}");
    }
}

async fn every_conversation_with_a_log_is_listed_once_across_pages(store: Arc<dyn Store>) {
    let empty = store.conversation_ids(&PageRequest { limit: 3, after: None }).await.unwrap();
    assert!(empty.items.is_empty() && empty.next.is_none(), "an empty store lists nothing: {empty:?}");
    let mut expected = BTreeSet::new();
    for c in 0..11 {
        let user = format!("Ulist{c:02}");
        for e in 0..3 {
            store.put_inbound(&inbound(&user, &format!("{user}-{e}"), 1_700_000_000_000 + e * 1000)).await.unwrap();
        }
        // DynamoDB lists the conversations with a state item, which handling the first event writes.
        store.save_conversation(&ConversationState::new(ConversationId::user(&user))).await.unwrap();
        expected.insert(ConversationId::user(&user));
    }
    let listed = read_all(3, |page| {
        let store = store.clone();
        async move { store.conversation_ids(&page).await.unwrap() }
    })
    .await;
    assert_eq!(listed.len(), expected.len(), "each once: {listed:?}");
    assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), expected);
}

for_every_adapter!(
    inbound_is_logged_once_with_its_ttl,
    concurrent_deliveries_insert_once,
    an_outbound_is_claimed_once,
    the_log_pages_in_time_order_with_replies_after_their_event,
    the_newest_first_log_opens_at_the_end_and_pages_back_with_cursors,
    a_log_read_from_a_time_cursor_starts_at_that_time,
    finishing_an_outbound_updates_it_in_place,
    an_outbound_is_read_back_by_its_key,
    an_unknown_conversation_has_an_empty_log_both_ways,
    every_conversation_with_a_log_is_listed_once_across_pages,
);

#[tokio::test]
async fn dynamodb_items_carry_a_numeric_ttl_attribute_and_the_table_expires_on_it() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let client = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&client).await;
    let store = line_oa::store::dynamodb::DynamoStore::new(client.clone(), table.clone());
    let r = inbound("U7", "ttl", 1_700_000_000_000);
    store.put_inbound(&r).await.unwrap();
    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("CONV#user:U7".into()))
        .key("sk", AttributeValue::S(line_oa::store::log_sort_key(r.timestamp_ms, true, "ttl")))
        .send()
        .await
        .unwrap()
        .item
        .expect("item stored under the documented keys");
    assert_eq!(item.get("expires_at"), Some(&AttributeValue::N((1_700_000_000 + 365 * 86_400).to_string())));
    assert_eq!(item.get("dir"), Some(&AttributeValue::S("in".into())), "the worker's stream filter matches dir = in");
    let ttl = client.describe_time_to_live().table_name(&table).send().await.unwrap();
    assert_eq!(ttl.time_to_live_description.unwrap().attribute_name(), Some("expires_at"));
}
