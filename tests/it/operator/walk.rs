//! Every route, as staff use them, on each entry (local server, Lambda) and store.

use serde_json::{json, Value};

use super::{now_ms, Backend, Entry, Harness, Who};

fn ids(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

async fn every_route(entry: Entry, backend: Backend) {
    let h = Harness::new(entry, backend).await;
    let t0 = now_ms();
    let (status, me) = h.call(Who::Admin, "GET", "/api/me", None).await;
    assert_eq!((status, me["name"].as_str(), me["role"].as_str()), (200, Some("alice"), Some("admin")));
    let (_, me) = h.call(Who::Operator, "GET", "/api/me", None).await;
    assert_eq!(me["role"], "operator");

    // Two users write; the list is newest activity first, both unread.
    let u2 = h.user_writes("U2", "hello there", "ev-u2-1", t0 - 2_000).await;
    let u1 = h.user_writes("U1", "予約したいです", "ev-u1-1", t0 - 1_000).await;
    let (u1, u2) = (u1.to_string(), u2.to_string());
    let (status, list) = h.call(Who::Operator, "GET", "/api/conversations", None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(ids(&list), [u1.as_str(), u2.as_str()]);
    assert!(list["items"][0]["unread"].as_bool().unwrap());
    assert_eq!(list["items"][0]["last_text"], "予約したいです");
    let (_, page) = h.call(Who::Operator, "GET", "/api/conversations?limit=1", None).await;
    assert_eq!(ids(&page), [u1.as_str()]);
    let next = page["next"].as_str().expect("a cursor to the next page").to_owned();
    let (_, page) = h.call(Who::Operator, "GET", &format!("/api/conversations?limit=1&after={}", urlencode(&next)), None).await;
    assert_eq!(ids(&page), [u2.as_str()]);

    // Pin U1 to manual chat for two hours: the rules leave its next message to staff.
    let (status, pinned) =
        h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/pin"), Some(json!({ "mode": "chat", "minutes": 120 }))).await;
    assert_eq!(status, 200, "{pinned}");
    assert_eq!(pinned["pin"]["mode"], "chat");
    assert!(pinned["pin"]["until_ms"].as_i64().unwrap() > t0 + 7_000_000);
    h.user_writes("U1", "キャンセルできますか", "ev-u1-2", now_ms()).await;
    let (status, messages) = h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}/messages"), None).await;
    assert_eq!(status, 200);
    let items = messages["items"].as_array().unwrap();
    let automatic: Vec<&Value> = items.iter().filter(|m| m["direction"] == "out" && m["automatic"] == true).collect();
    assert_eq!(automatic.len(), 1, "only the first message got an automatic reply: {messages}");
    assert!(automatic[0]["reason"].as_str().unwrap().contains("auto_response"), "the decision and its reason: {}", automatic[0]);
    assert_eq!(items.last().unwrap()["text"], "キャンセルできますか");

    // A manual reply uses the fresh reply token; the same client id again sends nothing more.
    let before = h.standin.requests().len();
    let reply = json!({ "messages": [{ "type": "text", "text": "承知しました。" }], "client_id": "c-1" });
    let (status, sent) = h.call(Who::Operator, "POST", &format!("/api/conversations/{u1}/messages"), Some(reply.clone())).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!((sent["method"].as_str(), sent["status"].as_str()), (Some("reply"), Some("sent")));
    assert!(sent["reason"].as_str().unwrap().contains("bob"));
    let (status, again) = h.call(Who::Operator, "POST", &format!("/api/conversations/{u1}/messages"), Some(reply)).await;
    assert_eq!((status, &again["id"]), (201, &sent["id"]));
    assert_eq!(h.standin.requests().len(), before + 1, "a repeated request is not sent twice");
    // The token is spent now: a sticker goes out as a push with a retry key.
    let sticker = json!({ "messages": [{ "type": "sticker", "package_id": "446", "sticker_id": "1988" }] });
    let (status, pushed) = h.call(Who::Operator, "POST", &format!("/api/conversations/{u1}/messages"), Some(sticker)).await;
    assert_eq!((status, pushed["method"].as_str()), (201, Some("push")), "{pushed}");
    let push = h.standin.requests().into_iter().last().unwrap();
    assert_eq!(push.path, "/v2/bot/message/push");
    assert!(push.header("x-line-retry-key").is_some());

    // Canned replies: create, search, edit, send, delete.
    let (status, canned) =
        h.call(Who::Operator, "POST", "/api/canned-replies", Some(json!({ "name": "営業時間", "text": "１０時から１８時です" }))).await;
    assert_eq!(status, 201, "{canned}");
    let cid = canned["id"].as_str().unwrap().to_owned();
    assert_eq!(
        h.call(Who::Operator, "GET", "/api/canned-replies?q=10時", None).await.1["items"].as_array().unwrap().len(),
        1,
        "NFKC search"
    );
    assert_eq!(h.call(Who::Operator, "GET", "/api/canned-replies?q=zzz", None).await.1["items"].as_array().unwrap().len(), 0);
    let (status, edited) = h
        .call(Who::Operator, "PUT", &format!("/api/canned-replies/{cid}"), Some(json!({ "name": "営業時間", "text": "10時から19時です" })))
        .await;
    assert_eq!((status, edited["text"].as_str()), (200, Some("10時から19時です")));
    assert_eq!(h.call(Who::Operator, "GET", &format!("/api/canned-replies/{cid}"), None).await.1["text"], "10時から19時です");
    let (status, _) = h
        .call(
            Who::Operator,
            "POST",
            &format!("/api/conversations/{u1}/messages"),
            Some(json!({ "messages": [{ "type": "canned", "id": cid }] })),
        )
        .await;
    assert_eq!(status, 201);
    let last = h.standin.requests().into_iter().last().unwrap();
    assert_eq!(last.body.unwrap()["messages"][0]["text"], "10時から19時です");
    assert_eq!(h.call(Who::Operator, "DELETE", &format!("/api/canned-replies/{cid}"), None).await.0, 204);
    assert_eq!(h.call(Who::Operator, "GET", &format!("/api/canned-replies/{cid}"), None).await.0, 404);

    // Read, needs attention, resolved, and a new message reopening it.
    let (_, read) = h.call(Who::Operator, "POST", &format!("/api/conversations/{u1}/read"), None).await;
    assert_eq!(read["unread"], false);
    assert_eq!(ids(&h.call(Who::Operator, "GET", "/api/conversations?status=unread", None).await.1), [u2.as_str()]);
    let (_, flagged) =
        h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/status"), Some(json!({ "status": "needs_attention" }))).await;
    assert_eq!(flagged["needs_attention"], true);
    assert_eq!(ids(&h.call(Who::Operator, "GET", "/api/conversations?status=needs_attention", None).await.1), [u1.as_str()]);
    h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/status"), Some(json!({ "status": "resolved" }))).await;
    assert_eq!(ids(&h.call(Who::Operator, "GET", "/api/conversations?status=resolved", None).await.1), [u1.as_str()]);
    h.user_writes("U1", "もう一つ質問です", "ev-u1-3", now_ms()).await;
    let (_, reopened) = h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}"), None).await;
    assert_eq!((reopened["resolved"].as_bool(), reopened["unread"].as_bool()), (Some(false), Some(true)), "{reopened}");

    // Tags: create, rename, tag, list by tag, untag, delete.
    let (status, tag) = h.call(Who::Operator, "POST", "/api/tags", Some(json!({ "name": "VIP" }))).await;
    assert_eq!(status, 201);
    let tid = tag["id"].as_str().unwrap().to_owned();
    assert_eq!(h.call(Who::Operator, "PATCH", &format!("/api/tags/{tid}"), Some(json!({ "name": "常連" }))).await.1["name"], "常連");
    let (_, tagged) = h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/tags/{tid}"), None).await;
    assert_eq!(tagged["tags"][0]["name"], "常連");
    assert_eq!(ids(&h.call(Who::Operator, "GET", &format!("/api/tags/{tid}/conversations"), None).await.1), [u1.as_str()]);
    assert_eq!(ids(&h.call(Who::Operator, "GET", &format!("/api/conversations?tag={tid}"), None).await.1), [u1.as_str()]);
    h.call(Who::Operator, "DELETE", &format!("/api/conversations/{u1}/tags/{tid}"), None).await;
    assert!(ids(&h.call(Who::Operator, "GET", &format!("/api/tags/{tid}/conversations"), None).await.1).is_empty());
    h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/tags/{tid}"), None).await;
    assert_eq!(h.call(Who::Operator, "GET", "/api/tags", None).await.1["items"].as_array().unwrap().len(), 1);
    assert_eq!(h.call(Who::Operator, "DELETE", &format!("/api/tags/{tid}"), None).await.0, 204);
    assert_eq!(
        h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}"), None).await.1["tags"],
        json!([]),
        "a deleted tag leaves every user"
    );

    // Export jobs: a tag's users and one conversation, as CSV; the file downloads.
    let (_, vip) = h.call(Who::Operator, "POST", "/api/tags", Some(json!({ "name": "export me" }))).await;
    let vip = vip["id"].as_str().unwrap().to_owned();
    h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/tags/{vip}"), None).await;
    for scope in [json!({ "kind": "tag", "tag_id": vip }), json!({ "kind": "conversation", "id": u1 })] {
        let (status, job) = h.call(Who::Operator, "POST", "/api/exports", Some(json!({ "scope": scope, "format": "csv" }))).await;
        assert_eq!(status, 202, "{job}");
        let id = job["id"].as_str().unwrap().to_owned();
        if backend == Backend::Dynamo {
            // On AWS the job item's stream record starts the exporter function; run it as it would.
            h.exports.run(&line_oa::domain::export_job::ExportJobId::parse(&id).unwrap()).await.unwrap();
        }
        let view = crate::support::wait::until(&format!("export {id} to be done"), std::time::Duration::from_secs(10), || async {
            let (_, view) = h.call(Who::Operator, "GET", &format!("/api/exports/{id}"), None).await;
            if view["status"]["state"] == "done" {
                Ok(view)
            } else {
                Err(view)
            }
        })
        .await;
        assert_eq!(view["status"]["state"], "done", "{view}");
        assert!(view["link"]["url"].is_string(), "{view}");
        let (status, file) = h.download(&format!("/api/exports/{id}/file")).await;
        assert_eq!(status, 200);
        let csv = String::from_utf8(file).unwrap();
        assert!(csv.starts_with('\u{feff}') && csv.contains("キャンセルできますか") && !csv.contains("hello there"), "{csv}");
    }
    h.call(Who::Operator, "DELETE", &format!("/api/tags/{vip}"), None).await;

    // Notes.
    let (status, note) =
        h.call(Who::Operator, "POST", &format!("/api/conversations/{u1}/notes"), Some(json!({ "text": "金属アレルギーあり" }))).await;
    assert_eq!((status, note["by"].as_str()), (201, Some("bob")));
    let (_, notes) = h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}/notes"), None).await;
    assert_eq!(notes["items"][0]["text"], "金属アレルギーあり");
    let nid = note["id"].as_str().unwrap();
    assert_eq!(h.call(Who::Operator, "DELETE", &format!("/api/conversations/{u1}/notes/{nid}"), None).await.0, 204);
    assert_eq!(h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}/notes"), None).await.1["items"], json!([]));

    // Spam: hidden from the default list, listed under spam, unmarked again.
    assert_eq!(h.call(Who::Operator, "PUT", &format!("/api/conversations/{u2}/spam"), None).await.1["spam"], true);
    assert_eq!(ids(&h.call(Who::Operator, "GET", "/api/conversations", None).await.1), [u1.as_str()]);
    assert_eq!(ids(&h.call(Who::Operator, "GET", "/api/conversations?status=spam", None).await.1), [u2.as_str()]);
    h.call(Who::Operator, "DELETE", &format!("/api/conversations/{u2}/spam"), None).await;
    assert_eq!(ids(&h.call(Who::Operator, "GET", "/api/conversations", None).await.1).len(), 2);
    assert_eq!(ids(&h.call(Who::Operator, "GET", "/api/conversations?source=group", None).await.1).len(), 0);
    assert_eq!(ids(&h.call(Who::Operator, "GET", &format!("/api/conversations?q={}", urlencode("質問")), None).await.1), [u1.as_str()]);

    // Search: across conversations, within one, and by time.
    let (status, found) = h.call(Who::Operator, "GET", &format!("/api/search?q={}", urlencode("キャンセル")), None).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["hits"].as_array().unwrap().len(), 1);
    assert_eq!(found["hits"][0]["conversation"], u1.as_str());
    let (_, outbound) = h.call(Who::Operator, "GET", &format!("/api/search?q={}", urlencode("承知")), None).await;
    assert_eq!(outbound["hits"][0]["direction"], "out", "our own messages are searched too");
    let (_, none) = h.call(Who::Operator, "GET", &format!("/api/search?q={}&conversation={u2}", urlencode("キャンセル")), None).await;
    assert_eq!(none["hits"], json!([]));
    let (_, later) = h
        .call(
            Who::Operator,
            "GET",
            &format!("/api/search?q={}&from=2099-01-01T00:00:00Z&to=2099-01-02T00:00:00Z", urlencode("キャンセル")),
            None,
        )
        .await;
    assert_eq!(later["hits"], json!([]));

    assert_eq!(h.call(Who::Operator, "DELETE", &format!("/api/conversations/{u1}/pin"), None).await.1["pin"], Value::Null);

    // Legal hold (admin): every item of the conversation loses its TTL, and gets it back.
    let (status, held) = h.call(Who::Admin, "PUT", &format!("/api/conversations/{u1}/hold"), Some(json!({ "reason": "case 42" }))).await;
    assert_eq!((status, held["change"].as_str()), (200, Some("held")), "{held}");
    assert!(held["items"].as_u64().unwrap() >= 6, "{held}");
    assert_eq!(h.call(Who::Admin, "GET", "/api/holds", None).await.1["items"][0]["conversation"], u1.as_str());
    let page = h
        .store
        .log(&line_oa::domain::ids::ConversationId::parse(&u1).unwrap(), &line_oa::store::PageRequest { limit: 1000, after: None })
        .await
        .unwrap();
    assert!(page.items.len() >= 6);
    assert!(page.items.iter().all(|i| line_oa::domain::hold::ttl_of(i) == line_oa::domain::log::NO_TTL), "no TTL while held");
    let (_, released) = h.call(Who::Admin, "DELETE", &format!("/api/conversations/{u1}/hold"), None).await;
    assert_eq!((released["change"].as_str(), &released["items"]), (Some("released"), &held["items"]));
    assert_eq!(h.call(Who::Admin, "GET", "/api/holds", None).await.1["items"], json!([]));

    // Settings (admin): read, replace (validated), refuse a stale version; the rules follow.
    let (status, settings) = h.call(Who::Admin, "GET", "/api/settings", None).await;
    assert_eq!((status, settings["version"].as_u64(), settings["source"].as_str()), (200, Some(0), Some("file")));
    let toml = include_str!("../fixtures/ping_pong.toml");
    let (status, saved) = h.call(Who::Admin, "PUT", "/api/settings", Some(json!({ "toml": toml, "version": 0 }))).await;
    assert_eq!((status, saved["version"].as_u64()), (200, Some(1)), "{saved}");
    let (status, stale) = h.call(Who::Admin, "PUT", "/api/settings", Some(json!({ "toml": toml, "version": 0 }))).await;
    assert_eq!((status, stale["error"].as_str()), (409, Some("conflict")));
    let (_, now_in_force) = h.call(Who::Admin, "GET", "/api/settings", None).await;
    assert_eq!((now_in_force["toml"].as_str(), now_in_force["source"].as_str()), (Some(toml), Some("api")));
    h.user_writes("U2", "ping", "ev-u2-2", now_ms()).await;
    let pong = h.standin.requests().into_iter().last().unwrap();
    assert_eq!(pong.body.unwrap()["messages"][0]["text"], "pong", "saved settings are in force without a restart");
    h.standin.assert_all_valid();
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_route_through_the_local_server_on_the_embedded_store() {
    every_route(Entry::Local, Backend::Embedded).await;
}

#[tokio::test]
async fn every_route_through_the_local_server_on_dynamodb() {
    every_route(Entry::Local, Backend::Dynamo).await;
}

#[tokio::test]
async fn every_route_through_the_lambda_handler_on_dynamodb() {
    every_route(Entry::Lambda, Backend::Dynamo).await;
}

#[tokio::test]
async fn every_route_through_the_lambda_handler_on_the_embedded_store() {
    every_route(Entry::Lambda, Backend::Embedded).await;
}
