//! 4. A day's work on one conversation: a canned reply through `/`, tags (an existing one and a
//!    new one), a note, needs attention then resolved, and the user writing again reopens it
//!    (the resolved state leaves the page without a reload).

use serde_json::json;

use crate::console::{ja, open_conversation, row, sign_in, user_id, ConsoleApp, OPERATOR_TOKEN};

const CANNED_TEXT: &str = "診療時間は平日10時から19時です。土曜は14時までです。";

pub async fn canned_tags_note_status() {
    let c = ConsoleApp::start().await;
    let user = user_id(0x4001);
    let id = format!("user:{user}");
    c.app.standin.set_profile(&user, "鈴木次郎");
    c.user_writes(&user, "営業時間を教えてください").await;
    c.canned("営業時間", CANNED_TEXT).await;
    c.tag("VIP").await;
    let b = c.open("workflow").await;
    b.run(async {
        sign_in(&b, OPERATOR_TOKEN, "bob").await;
        open_conversation(&b, &id).await;
        b.wait_text("#messages", "営業時間を教えてください").await;

        // `/` and part of its name opens the picker on the canned reply; Enter takes it, the next sends it.
        let field = b.find("#composer-text").await;
        b.type_keys(&field, "/営業", "the composer").await;
        b.wait_js(
            "the canned picker to offer 営業時間, selected",
            "const o = document.querySelector('#canned-picker [role=option][aria-selected=true]'); return o && !document.getElementById('canned-picker').hidden && o.textContent.includes('営業時間')",
            vec![],
        )
        .await;
        b.screenshot("canned-picker").await;
        b.press_enter(&field, "the composer").await;
        b.wait_js("the canned text in the box", "return document.getElementById('composer-text').value === arguments[0]", vec![json!(CANNED_TEXT)]).await;
        b.press_enter(&field, "the composer").await;
        let sent = c.wait_sent(CANNED_TEXT).await;
        assert_eq!(sent.len(), 1, "the canned reply went out once: {sent:?}");
        b.wait_text("#messages", CANNED_TEXT).await;

        // An existing tag from the menu, and a new one made on the spot.
        let select = b.find("#tag-select").await;
        select.select_by_label("VIP").await.unwrap();
        b.click_css("#tag-add").await;
        b.wait_text("#tag-list", "VIP").await;
        b.type_into("#tag-new", "要予約").await;
        b.click_css("#tag-create").await;
        b.wait_text("#tag-list", "要予約").await;
        let conv = c.wait_conversation(&id, "two tags", |v| v["tags"].as_array().is_some_and(|t| t.len() == 2)).await;
        let names: Vec<&str> = conv["tags"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
        assert!(names.contains(&"VIP") && names.contains(&"要予約"), "{names:?}");

        // A note, by bob.
        let note = "電話でも確認済み。明日10時に来院予定。";
        b.type_into("#note-text", note).await;
        b.click_css("#note-add").await;
        b.wait_text("#note-list li.note", note).await;
        let (_, notes) = c.api(crate::console::ADMIN_TOKEN, "GET", &format!("/api/conversations/{id}/notes"), None).await;
        assert_eq!((notes["items"][0]["text"].as_str(), notes["items"][0]["by"].as_str()), (Some(note), Some("bob")), "{notes}");

        // Needs attention, then resolved: the side pane, the header and the API agree.
        b.click_css("#status-needs_attention").await;
        b.find("#status-needs_attention[aria-pressed=true]").await;
        b.wait_text("#status-current", &ja("side.state_needs_attention")).await;
        b.wait_text(&format!("{} .badge-attention", row(&id)), &ja("status.needs_attention")).await;
        c.wait_conversation(&id, "needs attention", |v| v["needs_attention"] == true).await;
        b.click_css("#status-resolved").await;
        b.find("#status-resolved[aria-pressed=true]").await;
        b.wait_text("#main .badge-resolved", &ja("status.resolved")).await;
        c.wait_conversation(&id, "resolved", |v| v["resolved"] == true).await;
        b.screenshot("resolved").await;

        // The user writes again: the conversation is open again, on this page, without a reload.
        b.js("window.__sameDocument = true", vec![]).await;
        c.user_writes(&user, "すみません、駐車場はありますか？").await;
        c.wait_conversation(&id, "reopened by the new message", |v| v["resolved"] == false).await;
        b.wait_text("#messages", "すみません、駐車場はありますか？").await;
        b.find("#status-open[aria-pressed=true]").await;
        b.wait_text("#status-current", &ja("side.state_open")).await;
        b.gone("#main .badge-resolved").await;
        assert_eq!(b.js("return window.__sameDocument === true", vec![]).await, json!(true), "no reload");
        b.screenshot("").await;
        c.app.standin.assert_all_valid();
    })
    .await;
}
