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
