//! 9. The FAQ: an admin writes an entry and tries it unsaved, saves it, and the next customer
//!    who asks gets its answer; edits and deletes it; an operator sees the entries and tries
//!    messages, with no form. Answers are shown as text, never as HTML.

use serde_json::json;

use crate::console::{ja, sign_in, user_id, ConsoleApp, ADMIN_TOKEN, OPERATOR_TOKEN};

/// Markup in an answer must show as the characters staff typed.
const ANSWER: &str = "{account_name}の裏に<b>無料</b>駐車場が3台分ございます。";

pub async fn write_try_save_answer_edit_delete() {
    let c = ConsoleApp::start().await;
    // Smart chat all day: where the FAQ answers.
    let (_, settings) = c.api(ADMIN_TOKEN, "GET", "/api/settings", None).await;
    let toml = settings["toml"].as_str().unwrap().replace("always = \"chat\"", "always = \"smart_chat\"");
    let (status, saved) = c.api(ADMIN_TOKEN, "PUT", "/api/settings", Some(json!({ "toml": toml, "version": settings["version"] }))).await;
    assert_eq!(status, 200, "{saved}");
    let b = c.open("faq").await;
    b.run(async {
        sign_in(&b, ADMIN_TOKEN, "alice").await;
        b.click_css("#menu-faq").await;
        b.wait_text("#faq-list-status", &ja("faq.none")).await;
        b.wait_text("#faq-lead", "0.45").await;
        assert_eq!(b.js("return document.getElementById('faq-mode-hint').hidden", vec![]).await, json!(true), "smart chat uses the FAQ");

        // Written, then tried before it is saved.
        b.set_value("#faq-id", "parking").await;
        b.set_value("#faq-questions", "駐車場はありますか\n車で行けますか\nIs there parking?").await;
        b.set_value("#faq-answer", ANSWER).await;
        b.set_value("#faq-answer-en", "We have free parking for 3 cars.").await;
        b.set_value("#faq-try-text", "駐車場ありますか？").await;
        b.click_css("#faq-try-run").await;
        b.wait_text("#faq-try-outcome", "parking").await;
        b.find("#faq-try-draft").await;
        let shown = b
            .js("const a = document.getElementById('faq-try-answer'); return [a.textContent, a.querySelector('b') === null]", vec![])
            .await;
        assert_eq!(shown, json!([ANSWER.replace("{account_name}", "テスト歯科"), true]), "the answer as text, markup and all");
        b.screenshot("faq-try-draft").await;
        let (_, none) = c.api(OPERATOR_TOKEN, "GET", "/api/faq", None).await;
        assert_eq!(none["items"], json!([]), "trying saved nothing");

        b.click_css("#faq-save").await;
        b.wait_text("#faq-status", "parking").await;
        b.wait_text("#faq-list-status", "1").await;
        b.find("#faq-list li[data-faq=parking]").await;
        assert_eq!(b.js("return document.getElementById('faq-id').value", vec![]).await, json!(""), "the form is clear for the next one");

        // The next customer who asks gets it (smart chat, through the webhook and the worker).
        c.user_writes(&user_id(1), "駐車場ありますか？").await;
        let sent = c.wait_sent(&ANSWER.replace("{account_name}", "テスト歯科")).await;
        assert_eq!((sent.len(), sent[0].method), (1, "reply"), "answered once");
        c.user_writes(&user_id(2), "Do you have parking?").await;
        c.wait_sent("We have free parking for 3 cars.").await;

        // Edited in place.
        b.click_named(&ja("faq.edit_label").replace("{id}", "parking")).await;
        b.wait_text("#faq-form-title", "parking").await;
        b.set_value("#faq-answer", "医院の裏に駐車場が5台分ございます。").await;
        b.click_css("#faq-save").await;
        b.wait_text("#faq-list li[data-faq=parking]", "5台分").await;
        b.wait_text("#faq-try-answer", "5台分").await; // the trial on screen follows the change
        b.screenshot("faq-list-admin").await;

        // A stale save (someone saved the settings meanwhile) is refused, and says so.
        let (_, now) = c.api(ADMIN_TOKEN, "GET", "/api/settings", None).await;
        let (status, _) = c.api(ADMIN_TOKEN, "PUT", "/api/settings", Some(json!({ "toml": now["toml"], "version": now["version"] }))).await;
        assert_eq!(status, 200);
        b.expect_console_error("/api/faq - Failed to load resource: the server responded with a status of 409");
        b.set_value("#faq-id", "card").await;
        b.set_value("#faq-questions", "カードは使えますか").await;
        b.set_value("#faq-answer", "VISAが使えます").await;
        b.click_css("#faq-save").await;
        b.find("#faq-conflict").await;
        b.wait_js("the conflict shown", "return !document.getElementById('faq-conflict').hidden", vec![]).await;
        b.click_css("#faq-reload").await;
        b.click_css("#faq-save").await;
        b.find("#faq-list li[data-faq=card]").await;

        // Deleted with two presses.
        let delete = ja("faq.delete_label").replace("{id}", "card");
        b.click_named(&delete).await;
        b.click_named(&ja("faq.delete_confirm_label").replace("{id}", "card")).await;
        b.gone("#faq-list li[data-faq=card]").await;
        let (_, left) = c.api(OPERATOR_TOKEN, "GET", "/api/faq", None).await;
        assert_eq!(left["items"].as_array().unwrap().len(), 1, "{left}");
        b.check_accessibility("faq").await;

        // bob, an operator: the entries and "try it", no form.
        b.click_css("#sign-out").await;
        b.find("#signin-token").await;
        sign_in(&b, OPERATOR_TOKEN, "bob").await;
        b.click_css("#menu-faq").await;
        b.find("#faq-list li[data-faq=parking]").await;
        b.find("#faq-readonly").await;
        assert_eq!(
            b.js("return [document.getElementById('faq-form'), document.querySelector('#faq-list button')]", vec![]).await,
            json!([null, null])
        );
        b.set_value("#faq-try-text", "駐車場の案内が間違っていて30分も迷いました。どういうことですか！").await;
        b.click_css("#faq-try-run").await;
        b.wait_text("#faq-try-outcome", &ja("faq.try_complaint")).await;
        b.set_value("#faq-try-text", "車で行けますか").await;
        b.click_css("#faq-try-run").await;
        b.wait_text("#faq-try-answer", "5台分").await;
        b.gone("#faq-try-draft").await;
        b.screenshot("faq-operator").await;
    })
    .await;
}
