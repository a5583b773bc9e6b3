//! One contract for the storage port, run against the embedded store and against DynamoDB
//! (over HTTP, on the DynamoDB-protocol server).

use std::sync::Arc;

use line_oa::domain::conversation::ConversationState;
use line_oa::domain::ids::{ConversationId, EventId};
use line_oa::store::{Claim, EventLog, InboundRecord, Inserted, LogItem, OutboundRecord, OutboundStatus, PageRequest, Store, StoreError};

pub fn inbound(conv: &str, id: &str, ts: i64) -> InboundRecord {
    InboundRecord {
        conversation: ConversationId::user(conv),
        event_id: EventId::new(id.to_owned()),
        timestamp_ms: ts,
        received_ms: ts + 5,
        event_type: "message".into(),
        message_type: Some("text".into()),
        user_id: Some(conv.to_owned()),
        mode: "active".into(),
        is_redelivery: false,
        raw: format!(r#"{{"type":"message","webhookEventId":"{id}"}}"#),
        expires_at: Some(ts / 1000 + 365 * 86_400),
    }
}

fn outbound(conv: &str, id: &str, ts: i64) -> OutboundRecord {
    OutboundRecord {
        conversation: ConversationId::user(conv),
        id: id.to_owned(),
        timestamp_ms: ts,
        created_ms: ts + 10,
        method: "reply".into(),
        messages: r#"[{"type":"text","text":"hi"}]"#.into(),
        status: OutboundStatus::Sending,
        reason: "test".into(),
        expires_at: Some(ts / 1000 + 365 * 86_400),
    }
}

async fn inbound_is_logged_once_with_its_ttl(store: Arc<dyn Store>) {
    let r = inbound("U1", "ev1", 1_700_000_000_000);
    assert_eq!(store.put_inbound(&r).await.unwrap(), Inserted::New);
    assert_eq!(store.put_inbound(&r).await.unwrap(), Inserted::Duplicate);
    let page = store.log(&r.conversation, &PageRequest { limit: 10, after: None }).await.unwrap();
    assert_eq!(page.items, vec![LogItem::In(r.clone())]);
    let LogItem::In(back) = &page.items[0] else { unreachable!() };
    assert_eq!(back.expires_at, Some(1_700_000_000 + 365 * 86_400));
}

async fn concurrent_deliveries_insert_once(store: Arc<dyn Store>) {
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

async fn an_outbound_is_claimed_once(store: Arc<dyn Store>) {
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

async fn the_log_pages_in_time_order_with_replies_after_their_event(store: Arc<dyn Store>) {
    let conv = ConversationId::user("U4");
    let mut expected = Vec::new();
    for i in 0..23_i64 {
        let ts = 1_700_000_000_000 + i * 1000;
        let r = inbound("U4", &format!("e{i:02}"), ts);
        store.put_inbound(&r).await.unwrap();
        expected.push(LogItem::In(r));
        if i % 3 == 0 {
            let o = outbound("U4", &format!("e{i:02}"), ts);
            store.claim_outbound(&o).await.unwrap();
            expected.push(LogItem::Out(o));
        }
    }
    // Another conversation's items never leak into this one.
    store.put_inbound(&inbound("U5", "other", 1_700_000_000_500)).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store.log(&conv, &PageRequest { limit: 5, after: after.clone() }).await.unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items);
        pages += 1;
        assert!(pages < 20, "paging does not end");
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, expected);
}

async fn conversation_state_uses_optimistic_versions(store: Arc<dyn Store>) {
    let id = ConversationId::user("U6");
    assert_eq!(store.conversation(&id).await.unwrap(), None);
    let mut state = ConversationState::new(id.clone());
    state.has_written = true;
    store.save_conversation(&state).await.unwrap();
    // A second writer that also read version 0 loses.
    assert!(matches!(store.save_conversation(&state).await, Err(StoreError::Conflict(_))));
    let stored = store.conversation(&id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert!(stored.has_written);
    let mut next = stored.clone();
    next.flag("complaint");
    store.save_conversation(&next).await.unwrap();
    assert!(matches!(store.save_conversation(&stored).await, Err(StoreError::Conflict(_))));
    let last = store.conversation(&id).await.unwrap().unwrap();
    assert_eq!((last.version, last.needs_attention), (2, true));
}

macro_rules! contract_suite {
    ($adapter:ident, $make:path) => {
        mod $adapter {
            #[tokio::test]
            async fn inbound_is_logged_once_with_its_ttl() {
                super::inbound_is_logged_once_with_its_ttl($make().await).await
            }
            #[tokio::test]
            async fn concurrent_deliveries_insert_once() {
                super::concurrent_deliveries_insert_once($make().await).await
            }
            #[tokio::test]
            async fn an_outbound_is_claimed_once() {
                super::an_outbound_is_claimed_once($make().await).await
            }
            #[tokio::test]
            async fn the_log_pages_in_time_order_with_replies_after_their_event() {
                super::the_log_pages_in_time_order_with_replies_after_their_event($make().await).await
            }
            #[tokio::test]
            async fn conversation_state_uses_optimistic_versions() {
                super::conversation_state_uses_optimistic_versions($make().await).await
            }
        }
    };
}

pub async fn embedded_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap().keep();
    Arc::new(line_oa::store::embedded::EmbeddedStore::open(&dir).unwrap())
}

pub async fn dynamo_store() -> Arc<dyn Store> {
    let client = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&client).await;
    Arc::new(line_oa::store::dynamodb::DynamoStore::new(client, table))
}

contract_suite!(embedded, crate::store_contract::embedded_store);
contract_suite!(dynamodb, crate::store_contract::dynamo_store);

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
