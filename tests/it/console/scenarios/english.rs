//! 8. The language switch: `#lang` → English relabels the page (the composer is "Message" with a
//!    "Send" button), it stays English after a reload, and back on the sign-in page too.

use serde_json::json;

use crate::console::{open_conversation, sign_in, text, user_id, ConsoleApp, OPERATOR_TOKEN};

pub async fn switch() {
    let c = ConsoleApp::start().await;
    let user = user_id(0x8001);
    let id = format!("user:{user}");
    c.app.standin.set_profile(&user, "Emily Clark");
    c.user_writes(&user, "Hello, do you have any English-speaking staff?").await;
    let b = c.open("english").await;
    b.run(async {
        sign_in(&b, OPERATOR_TOKEN, "bob").await;
        open_conversation(&b, &id).await;
        b.find("#lang").await.select_by_value("en").await.unwrap();
        b.wait_js("the page in English", "return document.documentElement.lang === 'en'", vec![]).await;
        // The open conversation is drawn again in English.
        b.wait_text("#messages", "Hello, do you have any English-speaking staff?").await;
        let field = b.find("#composer-text").await;
        assert_eq!(field.attr("aria-label").await.unwrap().as_deref(), Some("Message"));
        b.wait_text("#composer-send", "Send").await;
        b.wait_text("#header-staff", &text("en", "role.operator")).await;
        b.wait_text("#menu-search", &text("en", "menu.search")).await;
        b.wait_text("#status-resolved", &text("en", "side.status_resolved")).await;
        b.check_accessibility("conversation-en").await;
        b.screenshot("").await;

        // Still English after a reload, and on the sign-in page after signing out.
        b.client.refresh().await.unwrap();
        b.wait_text("#header-staff", "bob").await;
        b.wait_text("#menu-search", &text("en", "menu.search")).await;
        b.click_css("#sign-out").await;
        b.wait_text("#signin-submit", &text("en", "signin.submit")).await;
        let label = b.js("return document.querySelector('label[for=signin-token]').textContent", vec![]).await;
        assert_eq!(label, json!(text("en", "signin.token")));
        b.screenshot("signin").await;
    })
    .await;
}
