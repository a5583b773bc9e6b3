//! Bad input on every route: a clear 4xx naming the problem, and no change.

use serde_json::{json, Value};

use super::{now_ms, snapshot, Backend, Entry, Harness, Who};
use crate::support::apps::follow_body;
use crate::support::sign;

async fn bad_requests(entry: Entry, backend: Backend) {
    let h = Harness::new(entry, backend).await;
    let u1 = h.user_writes("U1", "こんにちは", "ev-bad-1", now_ms()).await.to_string();
    // A user who followed but never wrote: LINE allows no chat message to them yet.
    let follow = follow_body("ev-follow", "U9", "token-follow");
    h.service.ingest.ingest(&follow, Some(&sign(&follow))).await.unwrap();
    let page = h.store.log(&line_oa::domain::ids::ConversationId::user("U9"), &Default::default()).await.unwrap();
    for item in page.items {
        if let line_oa::store::LogItem::In(r) = item {
            h.service.handler.handle(&r).await.unwrap();
        }
    }
    let silent = "user:U9";
    // Ten tags on U1, LINE's limit, and one more tag in the registry.
    let mut tags = Vec::new();
    for i in 0..11 {
        let (status, tag) = h.call(Who::Admin, "POST", "/api/tags", Some(json!({ "name": format!("tag {i}") }))).await;
        assert_eq!(status, 201, "{tag}");
        tags.push(tag["id"].as_str().unwrap().to_owned());
    }
    for tag in &tags[..10] {
        assert_eq!(h.call(Who::Admin, "PUT", &format!("/api/conversations/{u1}/tags/{tag}"), None).await.0, 200);
    }
    let canned = h.call(Who::Admin, "POST", "/api/canned-replies", Some(json!({ "name": "a", "text": "b" }))).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = snapshot(&h, &[&u1, silent]).await;
    let sent_before = h.standin.requests().len();

    let long_text = "あ".repeat(5001);
    let m = format!("/api/conversations/{u1}/messages");
    let cases: Vec<(&str, String, Option<Value>, u16, &str)> = vec![
        // Manual replies.
        ("POST", m.clone(), Some(json!({})), 400, "messages"),
        ("POST", m.clone(), Some(json!({ "messages": "hi" })), 400, "invalid type"),
        ("POST", m.clone(), Some(json!({ "messages": [] })), 400, "at least one"),
        ("POST", m.clone(), Some(json!({ "messages": [{ "type": "video", "url": "x" }] })), 400, "video"),
        ("POST", m.clone(), Some(json!({ "messages": [{ "type": "text", "text": "  " }] })), 400, "empty"),
        ("POST", m.clone(), Some(json!({ "messages": [{ "type": "text", "text": long_text }] })), 400, "5000"),
        ("POST", m.clone(), Some(json!({ "messages": vec![json!({ "type": "text", "text": "x" }); 6] })), 400, "at most 5"),
        ("POST", m.clone(), Some(json!({ "messages": [{ "type": "image", "original_content_url": "http://x/a.jpg" }] })), 400, "https"),
        ("POST", m.clone(), Some(json!({ "messages": [{ "type": "canned", "id": "nope" }] })), 400, "not found"),
        ("POST", m.clone(), Some(json!({ "messages": [{ "type": "text", "text": "x" }], "client_id": "" })), 400, "client_id"),
        ("POST", m.clone(), Some(json!({ "messages": [{ "type": "text", "text": "x" }], "extra": 1 })), 400, "unknown field"),
        (
            "POST",
            format!("/api/conversations/{silent}/messages"),
            Some(json!({ "messages": [{ "type": "text", "text": "x" }] })),
            409,
            "not written",
        ),
        (
            "POST",
            "/api/conversations/user:Unobody/messages".into(),
            Some(json!({ "messages": [{ "type": "text", "text": "x" }] })),
            404,
            "not found",
        ),
        (
            "POST",
            "/api/conversations/nonsense/messages".into(),
            Some(json!({ "messages": [{ "type": "text", "text": "x" }] })),
            400,
            "conversation id",
        ),
        // Marks, pins, spam, notes.
        ("PUT", format!("/api/conversations/{u1}/status"), Some(json!({ "status": "done" })), 400, "status"),
        ("PUT", format!("/api/conversations/{u1}/status"), Some(json!({})), 400, "status"),
        ("PUT", format!("/api/conversations/{u1}/pin"), Some(json!({ "mode": "turbo" })), 400, "mode"),
        ("PUT", format!("/api/conversations/{u1}/pin"), Some(json!({ "mode": "chat", "minutes": 0 })), 400, "minutes"),
        ("PUT", format!("/api/conversations/{u1}/pin"), Some(json!({ "mode": "chat", "minutes": "2" })), 400, "invalid type"),
        ("PUT", "/api/conversations/user:Unobody/spam".into(), None, 404, "not found"),
        ("POST", "/api/conversations/user:Unobody/read".into(), None, 404, "not found"),
        ("POST", format!("/api/conversations/{u1}/notes"), Some(json!({ "text": "" })), 400, "text"),
        ("POST", format!("/api/conversations/{u1}/notes"), Some(json!({ "text": "x".repeat(1001) })), 400, "1000"),
        ("DELETE", format!("/api/conversations/{u1}/notes/nope"), None, 404, "note"),
        // Tags.
        ("POST", "/api/tags".into(), Some(json!({ "name": "" })), 400, "name"),
        ("POST", "/api/tags".into(), Some(json!({ "name": "長".repeat(21) })), 400, "20"),
        ("POST", "/api/tags".into(), Some(json!({ "name": "TAG 0" })), 409, "exists"),
        ("POST", "/api/tags".into(), Some(json!({ "title": "x" })), 400, "name"),
        ("PUT", format!("/api/conversations/{u1}/tags/{}", tags[10]), None, 422, "10 tags"),
        ("PUT", format!("/api/conversations/{u1}/tags/nope"), None, 404, "tag"),
        ("PUT", format!("/api/conversations/{silent}/tags/nope"), None, 404, "tag"),
        ("DELETE", format!("/api/conversations/{u1}/tags/{}", tags[10]), None, 404, "tag"),
        ("PATCH", "/api/tags/nope".into(), Some(json!({ "name": "x" })), 404, "tag"),
        ("DELETE", "/api/tags/nope".into(), None, 404, "tag"),
        ("GET", "/api/tags/nope/conversations".into(), None, 404, "tag"),
        // Canned replies.
        ("POST", "/api/canned-replies".into(), Some(json!({ "name": "n" })), 400, "text"),
        ("POST", "/api/canned-replies".into(), Some(json!({ "name": "n", "text": "a".repeat(5001) })), 400, "5000"),
        ("PUT", "/api/canned-replies/nope".into(), Some(json!({ "name": "n", "text": "t" })), 404, "canned"),
        ("PUT", format!("/api/canned-replies/{canned}"), Some(json!({ "name": "", "text": "t" })), 400, "name"),
        ("DELETE", "/api/canned-replies/nope".into(), None, 404, "canned"),
        // Lists and search.
        ("GET", "/api/conversations?status=bogus".into(), None, 400, "status"),
        ("GET", "/api/conversations?source=channel".into(), None, 400, "source"),
        ("GET", "/api/conversations?limit=500".into(), None, 400, "limit"),
        ("GET", "/api/conversations?limit=abc".into(), None, 400, "invalid query"),
        ("GET", "/api/conversations?colour=red".into(), None, 400, "unknown field"),
        ("GET", "/api/search".into(), None, 400, "q"),
        ("GET", "/api/search?q=x&from=yesterday".into(), None, 400, "from"),
        ("GET", "/api/search?q=x&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z".into(), None, 400, "from"),
        ("GET", "/api/search?q=x&limit=0".into(), None, 400, "limit"),
        // Export jobs.
        ("POST", "/api/exports".into(), Some(json!({ "scope": { "kind": "everything" }, "format": "csv" })), 400, "everything"),
        ("POST", "/api/exports".into(), Some(json!({ "scope": { "kind": "all" }, "format": "pdf" })), 400, "pdf"),
        ("POST", "/api/exports".into(), Some(json!({ "scope": { "kind": "conversations", "ids": [] }, "format": "csv" })), 400, "empty"),
        ("POST", "/api/exports".into(), Some(json!({ "scope": { "kind": "tag", "tag_id": "nope" }, "format": "csv" })), 404, "tag"),
        ("POST", "/api/exports".into(), Some(json!({ "scope": { "kind": "tag" }, "format": "csv" })), 400, "tag_id"),
        ("GET", "/api/exports/0123456789abcdef0123456789abcdef".into(), None, 404, "export job"),
        ("GET", "/api/exports/not-a-job/file".into(), None, 404, "export job"),
        // Settings: the same validation as the file, naming the key.
        ("PUT", "/api/settings".into(), Some(json!({ "toml": "[modes]\nalways = \"sometimes\"\n", "version": 0 })), 400, "always"),
        ("PUT", "/api/settings".into(), Some(json!({ "toml": "[hours]\nmon = [\"25:00-26:00\"]\n", "version": 0 })), 400, "mon"),
        ("PUT", "/api/settings".into(), Some(json!({ "toml": "account_name = \"x\"\n" })), 400, "version"),
    ];
    for (method, path, body, expected, mentions) in &cases {
        let (status, answer) = h.call(Who::Admin, method, path, body.clone()).await;
        assert_eq!(status, *expected, "{method} {path} {body:?}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default().to_lowercase();
        assert!(message.contains(&mentions.to_lowercase()), "{method} {path}: {message:?} should mention {mentions:?}");
    }
    // Malformed JSON, and bodies over the limit.
    let (status, answer) = h.call_raw(Who::Admin, "POST", "/api/tags", Some("{\"name\": ")).await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = h.call_raw(Who::Admin, "POST", "/api/tags", Some(&format!("{{\"name\": \"{}\"}}", "x".repeat(300 * 1024)))).await;
    assert_eq!(status, 413);
    assert_eq!(snapshot(&h, &[&u1, silent]).await, before, "refused requests changed nothing");
    assert_eq!(h.standin.requests().len(), sent_before, "and sent nothing to LINE");

    // The 201st tag.
    for i in 11..200 {
        assert_eq!(h.call(Who::Admin, "POST", "/api/tags", Some(json!({ "name": format!("tag {i}") }))).await.0, 201);
    }
    let (status, answer) = h.call(Who::Admin, "POST", "/api/tags", Some(json!({ "name": "one too many" }))).await;
    assert_eq!((status, answer["error"].as_str()), (422, Some("limit_reached")), "{answer}");
    assert_eq!(h.call(Who::Admin, "GET", "/api/tags", None).await.1["items"].as_array().unwrap().len(), 200);
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_changes_nothing_locally() {
    bad_requests(Entry::Local, Backend::Embedded).await;
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_changes_nothing_on_lambda_and_dynamodb() {
    bad_requests(Entry::Lambda, Backend::Dynamo).await;
}
