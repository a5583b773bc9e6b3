//! Operators working the same conversation at once: every message logged in order, every
//! change kept (versioned writes retried, never overwritten).

use futures::future::join_all;
use serde_json::json;

use super::{now_ms, Backend, Entry, Harness, Who};

async fn at_once(entry: Entry, backend: Backend) {
    let h = Harness::new(entry, backend).await;
    let conv = h.user_writes("U1", "至急お願いします", "ev-c-1", now_ms()).await.to_string();
    let path = format!("/api/conversations/{conv}/messages");
    let send = |who, text: &str| h.call(who, "POST", &path, Some(json!({ "messages": [{ "type": "text", "text": text }] })));
    let (a, b) = tokio::join!(send(Who::Admin, "alice here"), send(Who::Operator, "bob here"));
    assert_eq!((a.0, b.0), (201, 201), "{a:?} {b:?}");
    let methods = [a.1["method"].as_str().unwrap(), b.1["method"].as_str().unwrap()];
    // The automatic reply took the token already, so both push; never two replies on one token.
    assert!(methods.iter().filter(|m| **m == "reply").count() <= 1, "{methods:?}");

    let (_, log) = h.call(Who::Admin, "GET", &path, None).await;
    let manual: Vec<_> = log["items"].as_array().unwrap().iter().filter(|m| m["automatic"] == false).collect();
    assert_eq!(manual.len(), 2, "both logged: {log}");
    let mut texts: Vec<&str> = manual.iter().map(|m| m["text"].as_str().unwrap()).collect();
    let times: Vec<i64> = manual.iter().map(|m| m["timestamp_ms"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order: {times:?}");
    texts.sort();
    assert_eq!(texts, ["alice here", "bob here"]);
    let delivered: Vec<String> = h
        .standin
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/bot/message/push" || r.path == "/v2/bot/message/reply")
        .filter_map(|r| r.body.and_then(|b| b["messages"][0]["text"].as_str().map(str::to_owned)))
        .collect();
    assert!(delivered.contains(&"alice here".to_owned()) && delivered.contains(&"bob here".to_owned()), "{delivered:?}");

    // Many changes to one conversation at once: none lost.
    let tags: Vec<String> = {
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(
                h.call(Who::Admin, "POST", "/api/tags", Some(json!({ "name": format!("t{i}") }))).await.1["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        ids
    };
    let h = &h;
    let tagging = tags.iter().map(|t| {
        let path = format!("/api/conversations/{conv}/tags/{t}");
        async move { h.call(Who::Operator, "PUT", &path, None).await.0 }
    });
    let noting = (0..5).map(|i| {
        let path = format!("/api/conversations/{conv}/notes");
        async move { h.call(Who::Operator, "POST", &path, Some(json!({ "text": format!("note {i}") }))).await.0 }
    });
    let (tagged, noted) = tokio::join!(join_all(tagging), join_all(noting));
    assert!(tagged.iter().all(|s| *s == 200), "{tagged:?}");
    assert!(noted.iter().all(|s| *s == 201), "{noted:?}");
    let (_, view) = h.call(Who::Admin, "GET", &format!("/api/conversations/{conv}"), None).await;
    assert_eq!(view["tags"].as_array().unwrap().len(), 5, "{view}");
    let (_, notes) = h.call(Who::Admin, "GET", &format!("/api/conversations/{conv}/notes"), None).await;
    assert_eq!(notes["items"].as_array().unwrap().len(), 5);
    h.standin.assert_all_valid();
}

#[tokio::test]
async fn two_operators_at_once_locally() {
    at_once(Entry::Local, Backend::Embedded).await;
}

#[tokio::test]
async fn two_operators_at_once_on_lambda_and_dynamodb() {
    at_once(Entry::Lambda, Backend::Dynamo).await;
}
