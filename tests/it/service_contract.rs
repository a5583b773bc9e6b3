//! The service over each store adapter, with LINE's API played by the stand-in: one reply per
//! event whatever is redelivered, retries that never duplicate, failures that reach staff.

use std::sync::Arc;

use line_oa::domain::ids::ConversationId;
use line_oa::service::{HandleOutcome, Service, ServiceError};
use line_oa::store::{LogItem, OutboundStatus, PageRequest, SendMethod, Store};

use crate::support::apps::{follow_body, service, text_body, SETTINGS};
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::sign;

/// Plays the worker: hands every logged inbound event of a conversation to `handle`, as the stream would.
async fn handle_logged(service: &Service, store: &Arc<dyn Store>, user: &str) -> Vec<HandleOutcome> {
    let page = store.log(&ConversationId::user(user), &PageRequest { limit: 100, after: None }).await.unwrap();
    let mut outcomes = Vec::new();
    for item in page.items {
        if let LogItem::In(record) = item {
            outcomes.push(service.handler.handle(&record).await.unwrap());
        }
    }
    outcomes
}

async fn outbound_items(store: &Arc<dyn Store>, user: &str) -> Vec<line_oa::store::OutboundRecord> {
    let page = store.log(&ConversationId::user(user), &PageRequest { limit: 100, after: None }).await.unwrap();
    page.items.into_iter().filter_map(|i| if let LogItem::Out(o) = i { Some(o) } else { None }).collect()
}

async fn duplicate_delivery_sends_one_reply(store: Arc<dyn Store>) {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let service = service(store.clone(), &standin, SETTINGS);
    let body = text_body("dup-1", "Udup", "こんにちは", "r-dup");
    let sig = sign(&body);
    let (a, b) = tokio::join!(service.ingest.ingest(&body, Some(&sig)), service.ingest.ingest(&body, Some(&sig)));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.new + b.new, a.duplicates + b.duplicates), (1, 1));
    // The stream may deliver the record twice, even concurrently: the second sees the first
    // in flight and is told to retry later, or sees it done.
    let page = store.log(&ConversationId::user("Udup"), &PageRequest { limit: 10, after: None }).await.unwrap();
    let LogItem::In(record) = page.items[0].clone() else { panic!("inbound first") };
    let (x, y) = tokio::join!(service.handler.handle(&record), service.handler.handle(&record));
    let sent = [&x, &y].iter().filter(|r| matches!(r, Ok(HandleOutcome::Sent { .. }))).count();
    assert_eq!(sent, 1, "{x:?} {y:?}");
    assert!([&x, &y].iter().all(|r| matches!(r, Ok(_) | Err(ServiceError::InFlight(_)))), "{x:?} {y:?}");
    assert_eq!(handle_logged(&service, &store, "Udup").await, vec![HandleOutcome::AlreadyHandled]);
    let requests = standin.requests();
    assert_eq!(requests.iter().filter(|r| r.path == "/v2/bot/message/reply").count(), 1);
    standin.assert_all_valid();
    let out = outbound_items(&store, "Udup").await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, OutboundStatus::Sent);
    let state = store.conversation(&ConversationId::user("Udup")).await.unwrap().unwrap();
    assert!(state.has_written);
}

async fn an_expired_token_without_push_fallback_flags_the_conversation(store: Arc<dyn Store>) {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let service = service(store.clone(), &standin, SETTINGS);
    let body = text_body("exp-1", "Uexp", "hello", "expired-token-1");
    service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    let outcomes = handle_logged(&service, &store, "Uexp").await;
    assert!(matches!(&outcomes[0], HandleOutcome::Failed(_)), "{outcomes:?}");
    assert_eq!(standin.requests().iter().filter(|r| r.path == "/v2/bot/message/push").count(), 0);
    let state = store.conversation(&ConversationId::user("Uexp")).await.unwrap().unwrap();
    assert!(state.needs_attention, "a failed reply is flagged for staff");
    assert_eq!(outbound_items(&store, "Uexp").await[0].status, OutboundStatus::Failed);
}

async fn an_expired_token_falls_back_to_one_push_with_a_stable_retry_key(store: Arc<dyn Store>) {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let settings = format!("{SETTINGS}\n[reply]\npush_fallback = true\n");
    let service = service(store.clone(), &standin, &settings);
    let body = text_body("exp-2", "Upush", "hello", "expired-token-2");
    service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    let outcomes = handle_logged(&service, &store, "Upush").await;
    assert_eq!(outcomes, vec![HandleOutcome::Sent { method: SendMethod::Push }]);
    let pushes: Vec<_> = standin.requests().into_iter().filter(|r| r.path == "/v2/bot/message/push").collect();
    assert_eq!(pushes.len(), 1);
    let key = pushes[0].headers.iter().find(|(k, _)| k == "x-line-retry-key").map(|(_, v)| v.clone());
    assert!(key.is_some_and(|k| uuid::Uuid::parse_str(&k).is_ok()));
    assert_eq!(pushes[0].body.as_ref().unwrap()["to"], "Upush");
    standin.assert_all_valid();
}

async fn server_errors_are_retried_and_client_errors_are_not(store: Arc<dyn Store>) {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let service = service(store.clone(), &standin, SETTINGS);
    let body = text_body("5xx-1", "U5xx", "hello", "r-5xx");
    service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    standin.fail_next(503, 2);
    assert_eq!(handle_logged(&service, &store, "U5xx").await, vec![HandleOutcome::Sent { method: SendMethod::Reply }]);
    assert_eq!(standin.requests().len(), 3, "two 503s, then success");

    let standin = LineStandin::start(StandinOptions::default()).await;
    let service = crate::support::apps::service(store.clone(), &standin, SETTINGS);
    let body = text_body("4xx-1", "U4xx", "hello", "r-4xx");
    service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    standin.fail_next(403, 5);
    let outcomes = handle_logged(&service, &store, "U4xx").await;
    assert!(matches!(&outcomes[0], HandleOutcome::Failed(why) if why.contains("403")), "{outcomes:?}");
    assert_eq!(standin.requests().len(), 1, "a 4xx is never retried");
    assert!(store.conversation(&ConversationId::user("U4xx")).await.unwrap().unwrap().needs_attention);
}

async fn a_follow_gets_the_greeting_with_the_users_name(store: Arc<dyn Store>) {
    let standin = LineStandin::start(StandinOptions::default()).await;
    standin.set_profile("Ufollow", "さくら");
    let service = service(store.clone(), &standin, SETTINGS);
    let body = follow_body("fol-1", "Ufollow", "r-fol");
    service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    handle_logged(&service, &store, "Ufollow").await;
    let reply = standin.requests().into_iter().find(|r| r.path == "/v2/bot/message/reply").expect("a greeting");
    assert_eq!(reply.body.unwrap()["messages"][0]["text"], "さくらさん、友だち追加ありがとうございます。テスト歯科です。");
    standin.assert_all_valid();
    let state = store.conversation(&ConversationId::user("Ufollow")).await.unwrap().unwrap();
    assert_eq!((state.following, state.has_written), (Some(true), false));
}

async fn a_long_default_response_is_split_not_broken(store: Arc<dyn Store>) {
    let standin = LineStandin::start(StandinOptions::default()).await;
    let long = "ご予約ありがとうございます。".repeat(500); // 7000 UTF-16 units
    let settings = format!("[default_response]\nmessages = [{{ type = \"text\", text = \"{long}\" }}]\n");
    let service = service(store.clone(), &standin, &settings);
    let body = text_body("long-1", "Ulong", "hello", "r-long");
    service.ingest.ingest(&body, Some(&sign(&body))).await.unwrap();
    handle_logged(&service, &store, "Ulong").await;
    let reply = standin.requests().into_iter().find(|r| r.path == "/v2/bot/message/reply").unwrap();
    let messages = reply.body.unwrap()["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 2);
    let joined: String = messages.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(joined, long);
    standin.assert_all_valid();
}

macro_rules! service_suite {
    ($adapter:ident, $make:path) => {
        mod $adapter {
            #[tokio::test]
            async fn duplicate_delivery_sends_one_reply() {
                super::duplicate_delivery_sends_one_reply($make().await).await
            }
            #[tokio::test]
            async fn an_expired_token_without_push_fallback_flags_the_conversation() {
                super::an_expired_token_without_push_fallback_flags_the_conversation($make().await).await
            }
            #[tokio::test]
            async fn an_expired_token_falls_back_to_one_push_with_a_stable_retry_key() {
                super::an_expired_token_falls_back_to_one_push_with_a_stable_retry_key($make().await).await
            }
            #[tokio::test]
            async fn server_errors_are_retried_and_client_errors_are_not() {
                super::server_errors_are_retried_and_client_errors_are_not($make().await).await
            }
            #[tokio::test]
            async fn a_follow_gets_the_greeting_with_the_users_name() {
                super::a_follow_gets_the_greeting_with_the_users_name($make().await).await
            }
            #[tokio::test]
            async fn a_long_default_response_is_split_not_broken() {
                super::a_long_default_response_is_split_not_broken($make().await).await
            }
        }
    };
}

service_suite!(embedded, crate::contract::embedded_store);
service_suite!(dynamodb, crate::contract::dynamo_store);
