//! What the console needs of the API, on each entry and store: inbox counts kept with every
//! conversation write, newest-first paging, LINE profiles, staff names, the mode in force,
//! media from the archive's copy, and manual replies into groups and rooms.

use serde_json::{json, Value};

use super::walk::urlencode as enc;
use super::{now_ms, Backend, Entry, Harness, Who};
use crate::support::sign;
use line_oa::domain::ids::ConversationId;
use line_oa::store::{LogItem, PageRequest};

async fn inbox(h: &Harness) -> Value {
    let (status, inbox) = h.call(Who::Operator, "GET", "/api/inbox", None).await;
    assert_eq!(status, 200, "{inbox}");
    inbox
}

fn counts(inbox: &Value) -> (u64, u64) {
    (inbox["unread"].as_u64().unwrap(), inbox["needs_attention"].as_u64().unwrap())
}

/// Logs and handles a webhook body as the worker would.
async fn deliver(h: &Harness, body: &[u8], conversation: &ConversationId) {
    h.service.ingest.ingest(body, Some(&sign(body))).await.expect("ingest");
    let page = h.store.log(conversation, &PageRequest { limit: 1000, after: None }).await.unwrap();
    for item in page.items {
        if let LogItem::In(record) = item {
            h.service.handler.handle(&record).await.expect("handle");
        }
    }
}

fn group_event(event_id: &str, kind: &str, fields: Value) -> Vec<u8> {
    let mut event = json!({
        "type": kind,
        "webhookEventId": event_id,
        "deliveryContext": { "isRedelivery": false },
        "timestamp": now_ms(),
        "source": { "type": "group", "groupId": "Cgroup0001", "userId": "Umember1" },
        "mode": "active"
    });
    event.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    json!({ "destination": "U0000000000000000000000000000000d", "events": [event] }).to_string().into_bytes()
}

async fn the_console_api(entry: Entry, backend: Backend) {
    let h = Harness::new(entry, backend).await;
    let t0 = now_ms();
    // What the console starts from.
    let (_, me) = h.call(Who::Operator, "GET", "/api/me", None).await;
    assert_eq!((me["account_name"].as_str(), me["timezone"].as_str()), (Some("テスト歯科"), Some("Asia/Tokyo")), "{me}");
    assert_eq!(me["response"]["reason"], "response hours off", "{me}");
    assert_eq!(counts(&inbox(&h).await), (0, 0));
    assert!(inbox(&h).await["latest_activity_ms"].is_null());

    // Two users write: both unread; the newest activity is the later one.
    h.standin.set_profile("Uc1", "さくら");
    let u1 = h.user_writes("Uc1", "一通目", "ev-c1-1", t0 - 5_000).await.to_string();
    let u2 = h.user_writes("Uc2", "hello", "ev-c2-1", t0 - 4_000).await.to_string();
    let now = inbox(&h).await;
    assert_eq!(counts(&now), (2, 0));
    assert_eq!(now["latest_activity_ms"].as_i64(), Some(t0 - 4_000));

    // The LINE profile arrived with the first message; staff give U1 a name of their own.
    let (_, view) = h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}"), None).await;
    assert_eq!((view["display_name"].as_str(), view["staff_name"].as_str()), (Some("さくら"), None), "{view}");
    assert_eq!((view["can_reply"].as_bool(), view["reply_blocked"].as_str()), (Some(true), None));
    let (_, named) = h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/name"), Some(json!({ "name": " 山田様 " }))).await;
    assert_eq!(named["staff_name"], "山田様");
    let (status, refused) =
        h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/name"), Some(json!({ "name": "長".repeat(51) }))).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("`name`"), "{refused}");
    let (_, cleared) = h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/name"), Some(json!({ "name": null }))).await;
    assert!(cleared["staff_name"].is_null());

    // Read, needs attention, resolved, spam: the counts follow every change.
    h.call(Who::Operator, "POST", &format!("/api/conversations/{u1}/read"), None).await;
    assert_eq!(counts(&inbox(&h).await), (1, 0));
    h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/status"), Some(json!({ "status": "needs_attention" }))).await;
    assert_eq!(counts(&inbox(&h).await), (1, 1));
    h.call(Who::Operator, "PUT", &format!("/api/conversations/{u2}/spam"), None).await;
    assert_eq!(counts(&inbox(&h).await), (0, 1), "spam is not in the inbox");
    h.call(Who::Operator, "DELETE", &format!("/api/conversations/{u2}/spam"), None).await;
    assert_eq!(counts(&inbox(&h).await), (1, 1));
    h.call(Who::Operator, "PUT", &format!("/api/conversations/{u1}/status"), Some(json!({ "status": "resolved" }))).await;
    assert_eq!(counts(&inbox(&h).await), (1, 0));
    // A new message reopens U1 and makes it unread again.
    let t1 = now_ms() + 1;
    h.user_writes("Uc1", "二通目", "ev-c1-2", t1).await;
    assert_eq!(counts(&inbox(&h).await), (2, 0));
    // Handling the same event again (a redelivered stream record) counts nothing twice.
    h.user_writes("Uc1", "二通目", "ev-c1-2", t1).await;
    assert_eq!(counts(&inbox(&h).await), (2, 0));

    // Newest first, page by page, back to the start: every message once, in reverse order.
    for (i, text) in ["三通目", "四通目", "五通目"].iter().enumerate() {
        h.user_writes("Uc1", text, &format!("ev-c1-{}", i + 3), t1 + 1 + i as i64).await;
    }
    let (_, oldest_first) = h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}/messages?limit=100"), None).await;
    let forward: Vec<String> = oldest_first["items"].as_array().unwrap().iter().map(|m| m["cursor"].as_str().unwrap().to_owned()).collect();
    let mut backward = Vec::new();
    let mut query = "order=newest&limit=2".to_owned();
    loop {
        let (status, page) = h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}/messages?{query}"), None).await;
        assert_eq!(status, 200, "{page}");
        backward.extend(page["items"].as_array().unwrap().iter().map(|m| m["cursor"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => query = format!("order=newest&limit=2&before={}", enc(next)),
            None => break,
        }
    }
    backward.reverse();
    assert_eq!(backward, forward);
    assert!(forward.len() >= 5, "{forward:?}");
    // The tail from the newest cursor: nothing yet, then exactly the new message.
    let tail = format!("/api/conversations/{u1}/messages?after={}", enc(forward.last().unwrap()));
    assert_eq!(h.call(Who::Operator, "GET", &tail, None).await.1["items"], json!([]));
    h.user_writes("Uc1", "六通目", "ev-c1-6", t1 + 10).await;
    let (_, new) = h.call(Who::Operator, "GET", &tail, None).await;
    let texts: Vec<&str> = new["items"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts.first(), Some(&"六通目"), "{new}");
    let (status, bad) = h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}/messages?before=x"), None).await;
    assert_eq!(status, 400, "{bad}");

    // Media from the archive's copy: a link (presigned on S3, through the API locally).
    h.archive_media(&u1, "5550001", "image/png", b"\x89PNG-bytes").await;
    let (status, copy) = h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}/media/5550001"), None).await;
    assert_eq!(status, 200, "{copy}");
    assert_eq!((copy["content_type"].as_str(), copy["size"].as_u64()), (Some("image/png"), Some(10)));
    let url = copy["url"].as_str().unwrap();
    match backend {
        Backend::Embedded => {
            assert_eq!(copy["authenticated"], true);
            assert_eq!(h.download(url).await, (200, b"\x89PNG-bytes".to_vec()));
        }
        Backend::Dynamo => {
            assert_eq!(copy["authenticated"], false);
            assert!(url.contains("X-Amz-Signature="), "{url}");
            // The presigned link works by itself, with no credential of ours.
            let bytes = reqwest::get(url).await.unwrap().bytes().await.unwrap();
            assert_eq!(bytes.as_ref(), b"\x89PNG-bytes");
        }
    }
    let (status, _) = h.call(Who::Operator, "GET", &format!("/api/conversations/{u1}/media/..%2Fsecret"), None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_console_api_on_the_local_server() {
    the_console_api(Entry::Local, Backend::Embedded).await;
}

#[tokio::test]
async fn the_console_api_on_lambda_and_dynamodb() {
    the_console_api(Entry::Lambda, Backend::Dynamo).await;
}

/// LINE never answers groups by itself: staff write into them by hand, until the account leaves.
async fn groups_are_answered_by_hand(entry: Entry, backend: Backend) {
    let h = Harness::new(entry, backend).await;
    let group = ConversationId::parse("group:Cgroup0001").unwrap();
    let message =
        json!({ "message": { "type": "text", "id": "7001", "quoteToken": "q", "text": "明日の集合時間は？" }, "replyToken": "rt-group-1" });
    deliver(&h, &group_event("ev-g-1", "message", message), &group).await;
    let (_, view) = h.call(Who::Operator, "GET", "/api/conversations/group:Cgroup0001", None).await;
    assert_eq!((view["can_reply"].as_bool(), view["mode"]["reason"].as_str()), (Some(true), Some("groups and rooms are answered by hand")));
    assert_eq!(view["display_name"], "グループ0001", "the group's name from its summary: {view}");
    let body = json!({ "messages": [{ "type": "text", "text": "10時です" }], "client_id": "g-1" });
    let (status, sent) = h.call(Who::Operator, "POST", "/api/conversations/group:Cgroup0001/messages", Some(body.clone())).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!((sent["status"].as_str(), sent["sent_by"].as_str()), (Some("sent"), Some("bob")), "{sent}");
    // The fresh reply token of the group's message was used: free, and addressed by LINE to the group.
    let requests = h.standin.requests();
    let reply: Vec<_> = requests.iter().filter(|r| r.path == "/v2/bot/message/reply").collect();
    assert_eq!(reply.len(), 1, "{requests:?}");
    assert_eq!(reply[0].body.as_ref().unwrap()["replyToken"], "rt-group-1");
    // The token is spent: the next one is pushed to the group id.
    let body = json!({ "messages": [{ "type": "text", "text": "よろしくお願いします" }], "client_id": "g-2" });
    let (status, sent) = h.call(Who::Operator, "POST", "/api/conversations/group:Cgroup0001/messages", Some(body)).await;
    assert_eq!((status, sent["method"].as_str()), (201, Some("push")), "{sent}");
    let pushes: Vec<_> = h.standin.requests().into_iter().filter(|r| r.path == "/v2/bot/message/push").collect();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].body.as_ref().unwrap()["to"], "Cgroup0001");
    // Removed from the group: no more messages into it, and the console says why.
    deliver(&h, &group_event("ev-g-2", "leave", json!({})), &group).await;
    let (_, view) = h.call(Who::Operator, "GET", "/api/conversations/group:Cgroup0001", None).await;
    assert_eq!((view["can_reply"].as_bool(), view["reply_blocked"].as_str()), (Some(false), Some("left")), "{view}");
    let body = json!({ "messages": [{ "type": "text", "text": "まだいますか" }], "client_id": "g-3" });
    let (status, refused) = h.call(Who::Operator, "POST", "/api/conversations/group:Cgroup0001/messages", Some(body)).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(h.standin.requests().len(), 2, "nothing more was sent");
    h.standin.assert_all_valid();
}

#[tokio::test]
async fn groups_are_answered_by_hand_on_the_local_server() {
    groups_are_answered_by_hand(Entry::Local, Backend::Embedded).await;
}

#[tokio::test]
async fn groups_are_answered_by_hand_on_lambda_and_dynamodb() {
    groups_are_answered_by_hand(Entry::Lambda, Backend::Dynamo).await;
}
