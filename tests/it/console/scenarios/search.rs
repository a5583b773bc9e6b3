//! 5. Search finds a message and opens its conversation at that message, even when it is
//!    older than the first page of the log.

use serde_json::json;

use crate::console::{now_ms, sign_in, user_id, ConsoleApp, OPERATOR_TOKEN};

const TARGET: &str = "駐車場は何台分ありますか？";

pub async fn opens_at_hit() {
    let c = ConsoleApp::start().await;
    let user = user_id(0x5001);
    let other = user_id(0x5002);
    let id = format!("user:{user}");
    c.app.standin.set_profile(&user, "高橋美咲");
    c.app.standin.set_profile(&other, "伊藤健");
    // The hit, then 60 later messages: it is not on the conversation's first page (50).
    let t0 = now_ms() - 3_600_000;
    let mut messages = vec![(TARGET.to_owned(), t0)];
    messages.extend((1..=60).map(|i| (format!("追加のメッセージ {i} 番目"), t0 + i * 1_000)));
    let refs: Vec<(&str, i64)> = messages.iter().map(|(t, at)| (t.as_str(), *at)).collect();
    c.user_wrote_at(&user, &refs).await;
    c.user_writes(&other, "キャンセルをお願いします").await;
    let b = c.open("search").await;
    b.run(async {
        sign_in(&b, OPERATOR_TOKEN, "bob").await;
        b.click_css("#menu-search").await;
        b.type_into("#search-q", "駐車場").await;
        b.click_css("#search-submit").await;
        b.wait_text("#search-results li.result", TARGET).await;
        let hits = b.js("return document.querySelectorAll('#search-results li.result').length", vec![]).await;
        assert_eq!(hits, json!(1), "one hit for 駐車場");
        b.wait_text("#search-results li.result", "高橋美咲").await;
        b.screenshot("results").await;

        b.click_css("#search-results a.result-link").await;
        let shown = b.wait_text("#messages li.msg.is-highlighted", TARGET).await;
        assert!(shown.contains(TARGET));
        let url = b.client.current_url().await.unwrap().to_string();
        assert!(url.contains(&format!("#/c/{}", crate::console::urlencoded(&id))), "the hit's conversation: {url}");
        // Scrolled to it: the highlighted message is inside the log's visible box.
        let visible = b
            .wait_js(
                "the hit scrolled into view",
                "const m = document.querySelector('#messages li.msg.is-highlighted').getBoundingClientRect(); const l = document.getElementById('messages').getBoundingClientRect(); return m.top >= l.top - 1 && m.bottom <= l.bottom + 1",
                vec![],
            )
            .await;
        assert_eq!(visible, json!(true));
        b.screenshot("").await;
    })
    .await;
}
