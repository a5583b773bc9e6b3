//! The log's closed sets stored by name (an outbound's send method, an inbound's mode): each
//! round-trips on every adapter, is stored as the same string it was before it was an enum,
//! and a name this version does not know (old data, a mode LINE adds) still loads, unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use line_oa::domain::event::Mode;
use line_oa::domain::ids::ConversationId;
use line_oa::store::{log_sort_key, Claim, EventLog, InboundRecord, LogItem, OutboundRecord, OutboundStatus, PageRequest, SendMethod};

use super::{inbound, outbound};

const MODES: [&str; 4] = ["active", "standby", "dormant", ""];
const METHODS: [&str; 4] = ["reply", "push", "log", "carrier_pigeon"];

fn modes() -> [Mode; 4] {
    [Mode::Active, Mode::Standby, Mode::Other("dormant".into()), Mode::Other(String::new())]
}

fn methods() -> [SendMethod; 4] {
    [SendMethod::Reply, SendMethod::Push, SendMethod::Log, SendMethod::Other("carrier_pigeon".into())]
}

async fn whole_log(store: &dyn EventLog, conv: &str) -> Vec<LogItem> {
    let page = store.log(&ConversationId::user(conv), &PageRequest { limit: 100, after: None }).await.unwrap();
    assert_eq!(page.next, None);
    page.items
}

/// An event in each mode, and its reply claimed as a reply and finished with each method (a
/// reply token refused turns it into a push, no token into a log), all read back as written.
async fn every_send_method_and_mode_reads_back_as_written(store: Arc<dyn EventLog>) {
    let mut expected = Vec::new();
    for (i, (mode, method)) in modes().into_iter().zip(methods()).enumerate() {
        let (id, ts) = (format!("n{i}"), 1_700_000_000_000 + i as i64 * 1000);
        let event = InboundRecord { mode, ..inbound("Unames", &id, ts) };
        store.put_inbound(&event).await.unwrap();
        let claim = outbound("Unames", &id, ts);
        assert_eq!(store.claim_outbound(&claim).await.unwrap(), Claim::Claimed);
        let done = OutboundRecord { method, status: OutboundStatus::Sent, ..claim.clone() };
        store.finish_outbound(&done).await.unwrap();
        assert_eq!(store.claim_outbound(&claim).await.unwrap(), Claim::Exists(done.clone()), "the claim path reads it too");
        expected.extend([LogItem::In(event), LogItem::Out(done)]);
    }
    assert_eq!(whole_log(store.as_ref(), "Unames").await, expected);
}

for_every_adapter!(every_send_method_and_mode_reads_back_as_written);

#[tokio::test]
async fn dynamodb_stores_method_and_mode_as_their_strings_and_loads_a_name_it_does_not_know() {
    let client = crate::support::dynamo_client().await;
    let table = crate::support::create_table(&client).await;
    let store = line_oa::store::dynamodb::DynamoStore::new(client.clone(), table.clone());
    let key = |inbound: bool, id: &str| {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S("CONV#user:Uraw".into())),
            ("sk".to_owned(), AttributeValue::S(log_sort_key(1_700_000_000_000, inbound, id))),
        ])
    };
    for (i, ((mode, method), (mode_name, method_name))) in
        modes().into_iter().zip(methods()).zip(MODES.into_iter().zip(METHODS)).enumerate()
    {
        let id = format!("r{i}");
        store.put_inbound(&InboundRecord { mode, ..inbound("Uraw", &id, 1_700_000_000_000) }).await.unwrap();
        store.claim_outbound(&OutboundRecord { method, ..outbound("Uraw", &id, 1_700_000_000_000) }).await.unwrap();
        for (inbound, attribute, name) in [(true, "mode", mode_name), (false, "method", method_name)] {
            let item = client.get_item().table_name(&table).set_key(Some(key(inbound, &id))).send().await.unwrap().item.unwrap();
            assert_eq!(item.get(attribute), Some(&AttributeValue::S(name.into())), "{attribute} of {id}");
        }
    }
    // Names another version wrote: they load, through the store and through a stream image.
    for (inbound, attribute, name) in [(true, "mode", "hologram"), (false, "method", "fax")] {
        let update = client.update_item().table_name(&table).set_key(Some(key(inbound, "r0")));
        update
            .update_expression("SET #a = :v")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":v", AttributeValue::S(name.into()))
            .send()
            .await
            .unwrap();
        let item = client.get_item().table_name(&table).set_key(Some(key(inbound, "r0"))).send().await.unwrap().item.unwrap();
        let read = line_oa::store::dynamodb::log_item_from_stream_image(serde_dynamo::Item::from(item)).unwrap().unwrap();
        match read {
            LogItem::In(r) => assert_eq!(r.mode, Mode::Other(name.into())),
            LogItem::Out(r) => assert_eq!(r.method, SendMethod::Other(name.into())),
        }
    }
    let log = whole_log(&store, "Uraw").await;
    assert_eq!(log.len(), 8);
    let in_r0 = log.iter().find_map(|i| match i {
        LogItem::In(r) if r.event_id.as_str() == "r0" => Some(&r.mode),
        _ => None,
    });
    let out_r0 = log.iter().find_map(|i| match i {
        LogItem::Out(r) if r.id == "r0" => Some(&r.method),
        _ => None,
    });
    assert_eq!((in_r0, out_r0), (Some(&Mode::Other("hologram".into())), Some(&SendMethod::Other("fax".into()))), "{log:?}");
}

/// The embedded store's log table as the redb versions wrote it: (conversation, sort key) ->
/// the item's JSON, the same JSON the fjall store keeps; opening it converts it.
const EMBEDDED_LOG: redb::TableDefinition<'_, (&str, &str), &[u8]> = redb::TableDefinition::new("log");

#[tokio::test]
async fn the_embedded_store_loads_the_json_earlier_versions_wrote_with_every_name_and_one_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let conv = ConversationId::user("Uold");
    let mut expected = Vec::new();
    {
        let db = redb::Database::create(dir.path().join("line-oa.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut log = txn.open_table(EMBEDDED_LOG).unwrap();
            let names = MODES.into_iter().chain(["hologram"]).zip(METHODS.into_iter().chain(["fax"]));
            let values = modes()
                .into_iter()
                .chain([Mode::Other("hologram".into())])
                .zip(methods().into_iter().chain([SendMethod::Other("fax".into())]));
            for (i, ((mode_name, method_name), (mode, method))) in names.zip(values).enumerate() {
                let (id, ts) = (format!("o{i}"), 1_700_000_000_000 + i as i64 * 1000);
                let event = InboundRecord { mode, ..inbound("Uold", &id, ts) };
                let reply = OutboundRecord { method, ..outbound("Uold", &id, ts) };
                // The JSON a free string wrote: the name, verbatim.
                let stored_in = serde_json::json!({
                    "dir": "in", "conversation": "user:Uold", "event_id": id, "timestamp_ms": ts, "received_ms": ts + 5,
                    "event_type": "message", "message_type": "text", "user_id": "Uold", "mode": mode_name,
                    "is_redelivery": false, "raw": event.raw, "expires_at": event.expires_at,
                });
                let stored_out = serde_json::json!({
                    "dir": "out", "conversation": "user:Uold", "id": id, "timestamp_ms": ts, "created_ms": ts + 10,
                    "method": method_name, "messages": reply.messages, "status": "sending", "reason": "test",
                    "expires_at": reply.expires_at,
                });
                for (inbound, stored) in [(true, stored_in), (false, stored_out)] {
                    let bytes = serde_json::to_vec(&stored).unwrap();
                    log.insert((conv.as_str(), log_sort_key(ts, inbound, &id).as_str()), bytes.as_slice()).unwrap();
                }
                expected.extend([LogItem::In(event), LogItem::Out(reply)]);
            }
        }
        txn.commit().unwrap();
    }
    let store = line_oa::store::embedded::EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(whole_log(&store, "Uold").await, expected);
}
