//! The response rules end to end through the local server: hours, modes, the out-of-hours
//! throttle, groups, greeting and standby, decided by each event's own timestamp.

use jiff::civil::date;
use jiff::tz::TimeZone;

use crate::support::apps::{follow_body, text_body_at, LocalTestApp};
use crate::support::{shared_dir, sign};

/// A clinic open Monday and Tuesday: chat in hours, automatic replies outside them.
const CLINIC: &str = include_str!("fixtures/clinic_hours.toml");

fn tokyo_ms(m: i8, d: i8, h: i8, min: i8) -> i64 {
    date(2026, m, d).at(h, min, 0, 0).to_zoned(TimeZone::get("Asia/Tokyo").unwrap()).unwrap().timestamp().as_millisecond()
}

async fn post_text(app: &LocalTestApp, id: &str, user: &str, text: &str, at_ms: i64) {
    let body = text_body_at(id, user, text, &format!("r-{id}"), at_ms);
    assert_eq!(app.post(&body, Some(&sign(&body))).await.0, 200);
}

fn reply_texts(app: &LocalTestApp) -> Vec<String> {
    app.standin
        .requests()
        .iter()
        .filter(|r| r.path == "/v2/bot/message/reply")
        .map(|r| r.body.as_ref().unwrap()["messages"][0]["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn in_hours_chat_gets_no_automatic_reply() {
    let app = LocalTestApp::start(CLINIC).await;
    post_text(&app, "in-1", "Uin", "予約したいです", tokyo_ms(11, 30, 10, 0)).await; // Monday 10:00
    post_text(&app, "in-2", "Uin", "営業時間", tokyo_ms(11, 30, 17, 59)).await;
    app.settled().await;
    assert!(reply_texts(&app).is_empty(), "chat mode leaves it to staff");
}

#[tokio::test]
async fn out_of_hours_gets_the_auto_reply_once_per_closed_period_and_keywords_every_time() {
    let app = LocalTestApp::start(CLINIC).await;
    // Monday night, five messages; then Wednesday (closed all day) is a new closed period
    // only after Tuesday's opening.
    for (i, (d, h)) in [(30, 19), (30, 20), (30, 23), (1, 2), (1, 8)].into_iter().enumerate() {
        let m = if d == 30 { 11 } else { 12 };
        post_text(&app, &format!("night-{i}"), "Unight", "すみません", tokyo_ms(m, d, h, 0)).await;
        // The throttle is per conversation state: let each be handled before the next.
        app.handled().await;
    }
    post_text(&app, "night-kw", "Unight", "営業時間", tokyo_ms(12, 1, 8, 30)).await;
    app.handled().await;
    post_text(&app, "tue-night", "Unight", "すみません", tokyo_ms(12, 1, 19, 0)).await;
    app.settled().await;
    let requests = app.standin.requests();
    assert_eq!(
        reply_texts(&app),
        vec!["ただいま営業時間外です。", "営業時間は月・火 9時〜18時です", "ただいま営業時間外です。"],
        "{requests:?}"
    );
    app.standin.assert_all_valid();
}

#[tokio::test]
async fn groups_get_no_reply_follows_get_the_greeting_and_standby_gets_nothing() {
    let app = LocalTestApp::start(CLINIC).await;
    app.standin.set_profile("Ufollow", "はなこ");
    let group = std::fs::read(shared_dir().join("line/fixtures/docs/02-text.json")).unwrap();
    assert_eq!(app.post(&group, Some(&sign(&group))).await.0, 200);
    let standby = String::from_utf8(text_body_at("sb", "Usb", "営業時間", "r-sb", tokyo_ms(11, 30, 21, 0)))
        .unwrap()
        .replace("\"active\"", "\"standby\"");
    assert_eq!(app.post(standby.as_bytes(), Some(&sign(standby.as_bytes()))).await.0, 200);
    let follow = follow_body("fol", "Ufollow", "r-fol");
    assert_eq!(app.post(&follow, Some(&sign(&follow))).await.0, 200);
    app.settled().await;
    assert_eq!(reply_texts(&app), vec!["はなこさん、友だち追加ありがとうございます。さくら歯科です。"]);
    // The greeting's {nickname} lookup is also the profile the console shows: asked once.
    let profile_calls = app.standin.all_requests().iter().filter(|r| r.path == "/v2/bot/profile/Ufollow").count();
    assert_eq!(profile_calls, 1);
    app.standin.assert_all_valid();
}

#[tokio::test]
async fn the_explain_endpoint_answers_what_and_why() {
    let app = LocalTestApp::start(CLINIC).await;
    let response = app
        .client
        .post(format!("{}/explain", app.url))
        .json(&serde_json::json!({ "at": "2026-11-30T21:30", "text": "営業時間" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let e: serde_json::Value = response.json().await.unwrap();
    assert_eq!(e["open"], false);
    assert_eq!(e["mode"], "auto_response");
    assert_eq!(e["replies"][0]["text"], "営業時間は月・火 9時〜18時です");
    assert_eq!(e["next_open"], "2026-12-01 09:00 JST (Tue)");
    let bad = app.client.post(format!("{}/explain", app.url)).body("{\"at\":\"soon\",\"text\":\"x\"}").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.text().await.unwrap().contains("`at`"));
    assert_eq!(app.store.item_count().await.unwrap(), 0, "a dry run writes nothing");
}

#[tokio::test]
async fn a_refused_group_is_left_on_join() {
    let app = LocalTestApp::start(&format!("{CLINIC}\n[groups]\nallowed = false\n")).await;
    let join = std::fs::read(shared_dir().join("line/fixtures/java/webhook-callback-join.json")).unwrap();
    assert_eq!(app.post(&join, Some(&sign(&join))).await.0, 200);
    app.settled().await;
    let requests = app.standin.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].path.ends_with("/leave") && requests[0].method == "POST", "{requests:?}");
    app.standin.assert_all_valid();
}

/// The clinic with smart chat in hours, AI response out of them, and two FAQ entries.
fn clinic_with_faq() -> String {
    CLINIC.replace("in_hours = \"chat\"\nout_of_hours = \"auto_response\"", "in_hours = \"smart_chat\"\nout_of_hours = \"ai_response\"")
        + r#"
[[faq]]
id = "parking"
questions = ["駐車場はありますか", "車で行けますか", "Is there parking?"]
answer = "医院の裏に無料駐車場が3台分ございます。"
answer_en = "We have free parking for 3 cars behind the clinic."
"#
}

async fn attention_of(app: &LocalTestApp, user: &str) -> Option<String> {
    use line_oa::store::Conversations;
    let id = line_oa::domain::ids::ConversationId::parse(&format!("user:{user}")).unwrap();
    let state = app.store.conversation(&id).await.unwrap().expect("a conversation");
    state.needs_attention.then(|| state.attention_reason.unwrap_or_default())
}

#[tokio::test]
async fn faq_answers_in_and_out_of_hours_complaints_and_unsure_messages_go_to_staff() {
    let app = LocalTestApp::start(&clinic_with_faq()).await;
    post_text(&app, "faq-in", "Ufaq", "駐車場ありますか？", tokyo_ms(11, 30, 10, 0)).await; // Monday, smart chat
    post_text(&app, "faq-out", "Ufaq", "Is there any parking?", tokyo_ms(11, 30, 21, 0)).await; // Monday night, AI response
    post_text(&app, "angry-in", "Uangry", "対応がひどすぎます。返金してください", tokyo_ms(11, 30, 11, 0)).await;
    post_text(&app, "angry-out", "Uangry2", "The staff were so rude to me yesterday", tokyo_ms(11, 30, 22, 0)).await;
    post_text(&app, "unsure", "Uunsure", "予約したいです", tokyo_ms(11, 30, 23, 0)).await;
    app.settled().await;
    let mut replies = reply_texts(&app);
    replies.sort();
    assert_eq!(replies, vec!["We have free parking for 3 cars behind the clinic.", "医院の裏に無料駐車場が3台分ございます。"]);
    assert_eq!(attention_of(&app, "Uangry").await.as_deref(), Some("complaint"));
    assert_eq!(attention_of(&app, "Uangry2").await.as_deref(), Some("complaint"));
    assert_eq!(attention_of(&app, "Uunsure").await.as_deref(), Some("cannot_answer"));
    assert_eq!(attention_of(&app, "Ufaq").await, None);
    app.standin.assert_all_valid();
}
