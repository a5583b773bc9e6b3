//! One contract suite per storage port (`line_oa::store`), each written once against the port
//! and run for every adapter: the embedded store on a temporary directory, DynamoDB over HTTP
//! on the DynamoDB-protocol server. Also the records and stores other tests build on.

use std::future::Future;
use std::sync::Arc;

use line_oa::domain::event::Mode;
use line_oa::domain::ids::{ConversationId, EventId};
use line_oa::store::{InboundRecord, OutboundRecord, OutboundStatus, Page, PageRequest, SendMethod, Store};

/// Runs each named contract against every adapter, as `<suite>::embedded::<name>` and
/// `<suite>::dynamodb::<name>`; each contract takes the store as any port it needs.
macro_rules! for_every_adapter {
    ($($contract:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $contract() {
                    super::$contract(crate::contract::embedded_store().await).await
                }
            )+
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $contract() {
                    super::$contract(crate::contract::dynamo_store().await).await
                }
            )+
        }
    };
}

mod audit;
mod conversations;
mod documents;
mod event_log;
mod export_jobs;
mod holds;
mod stored_names;
mod work_queue;

/// An inbound text message event, kept a year.
pub fn inbound(conv: &str, id: &str, ts: i64) -> InboundRecord {
    InboundRecord {
        conversation: ConversationId::user(conv),
        event_id: EventId::new(id.to_owned()),
        timestamp_ms: ts,
        received_ms: ts + 5,
        event_type: "message".into(),
        message_type: Some("text".into()),
        user_id: Some(conv.to_owned()),
        mode: Mode::Active,
        is_redelivery: false,
        raw: format!(r#"{{"type":"message","webhookEventId":"{id}"}}"#),
        expires_at: Some(ts / 1000 + 365 * 86_400),
    }
}

/// The reply to the event `id`, claimed (`Sending`), kept a year.
pub fn outbound(conv: &str, id: &str, ts: i64) -> OutboundRecord {
    OutboundRecord {
        conversation: ConversationId::user(conv),
        id: id.to_owned(),
        timestamp_ms: ts,
        created_ms: ts + 10,
        method: SendMethod::Reply,
        messages: r#"[{"type":"text","text":"hi"}]"#.into(),
        status: OutboundStatus::Sending,
        reason: "test".into(),
        expires_at: Some(ts / 1000 + 365 * 86_400),
    }
}

/// Everything a paged read returns, `limit` at a time, following each page's cursor to the
/// end; every page holds at most `limit`.
pub async fn read_all<T, F, Fut>(limit: usize, mut read: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Page<T>>,
{
    let mut all = Vec::new();
    let mut after = None;
    for _ in 0..100 {
        let page = read(PageRequest { limit, after: after.take() }).await;
        assert!(page.items.len() <= limit, "a page of {} for a limit of {limit}", page.items.len());
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
    panic!("paging does not end");
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
