//! 2. A new user's message appears in the list without a reload, under the LINE profile's name.
//! 3. Replying in Japanese with Enter sends exactly once; an Enter that confirms an IME
//!    conversion sends nothing.

use serde_json::json;

use crate::console::{ja, open_conversation, row, sign_in, user_id, ConsoleApp, IME_ENTER, OPERATOR_TOKEN};

pub async fn new_user_appears_live() {
    let c = ConsoleApp::start().await;
    let b = c.open("list-live").await;
    b.run(async {
        sign_in(&b, OPERATOR_TOKEN, "bob").await;
        b.wait_text("#list-pane", &ja("list.empty")).await;
        // Marks this document: a reload would lose the mark.
        b.js("window.__sameDocument = true", vec![]).await;

        let user = user_id(0x2001);
        c.app.standin.set_profile(&user, "山田花子");
        c.user_writes(&user, "はじめまして、質問があります").await;
        let id = format!("user:{user}");
        b.wait_text(&row(&id), "山田花子").await;
        b.wait_text(&row(&id), "はじめまして、質問があります").await;
        b.wait_text(&row(&id), &ja("list.unread")).await;
        let same = b.js("return window.__sameDocument === true", vec![]).await;
        assert_eq!(same, json!(true), "the row came in without a page reload");

        b.check_accessibility("list").await;
        b.screenshot("").await;
    })
    .await;
}

pub async fn reply_japanese_ime_enter() {
    let c = ConsoleApp::start().await;
    let user = user_id(0x3001);
    let id = format!("user:{user}");
    c.app.standin.set_profile(&user, "佐藤一郎");
    c.user_writes(&user, "明日の10時に予約できますか？").await;
    let b = c.open("reply").await;
    b.run(async {
        sign_in(&b, OPERATOR_TOKEN, "bob").await;
        open_conversation(&b, &id).await;
        b.wait_text("#messages", "明日の10時に予約できますか？").await;
        b.wait_text("#conversation-title", "佐藤一郎").await;
        b.check_accessibility("conversation").await;

        // Typed as key presses, Enter sends: exactly one push or reply with the text, to this user.
        let reply = "はい、お待ちしております。";
        let field = b.find("#composer-text").await;
        b.type_keys(&field, reply, "the composer").await;
        b.press_enter(&field, "the composer").await;
        let sent = c.wait_sent(reply).await;
        b.wait_text("#messages", reply).await;
        assert_eq!(sent.len(), 1, "sent once: {sent:?}");
        assert!(sent[0].violations.is_empty() && sent[0].status == 200, "LINE took it: {sent:?}");
        if sent[0].method == "push" {
            assert_eq!(sent[0].to.as_deref(), Some(user.as_str()));
        }
        let field_value = b.js("return document.getElementById('composer-text').value", vec![]).await;
        assert_eq!(field_value, json!(""), "the box is empty after sending");
        b.screenshot("").await;

        // An Enter while the IME is composing (it confirms the conversion) sends nothing...
        let composing = "へんかんちゅう";
        b.type_keys(&field, composing, "the composer").await;
        b.js(&format!("window.__imeAt = performance.now();{IME_ENTER}"), vec![json!("#composer-text")]).await;
        // ...the text stays in the box; the composer ignores an Enter right after composition
        // ends (Safari's order of events), so wait that out before the real Enter below.
        b.wait_js(
            "the text to stay in the box",
            "return document.getElementById('composer-text').value === arguments[0]",
            vec![json!(composing)],
        )
        .await;
        b.wait_js("the end of the post-composition window", "return performance.now() - window.__imeAt > 150", vec![]).await;
        b.type_keys(&field, "です", "the composer").await;
        b.press_enter(&field, "the composer").await;
        let later = format!("{composing}です");
        let sent_later = c.wait_sent(&later).await;
        assert_eq!(sent_later.len(), 1, "the real Enter sent once: {sent_later:?}");
        assert!(c.sent_with(composing).is_empty(), "the composing Enter sent nothing: {:?}", c.sent());
        assert_eq!(c.sent_with(reply).len(), 1, "and nothing was sent twice: {:?}", c.sent());
        b.wait_text("#messages", &later).await;
        c.app.standin.assert_all_valid();
    })
    .await;
}
