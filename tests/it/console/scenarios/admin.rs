//! 7. An operator has no admin pages (no menu entries; the route says so); an admin edits the
//!    settings, a bad value is refused naming its key, and a good one is saved and in force.

use serde_json::json;

use crate::console::{ja, sign_in, ConsoleApp, ADMIN_TOKEN, OPERATOR_TOKEN};

pub async fn roles_and_settings() {
    let c = ConsoleApp::start().await;
    let b = c.open("admin").await;
    b.run(async {
        // bob, an operator: no admin menu, and the admin route refuses to show.
        sign_in(&b, OPERATOR_TOKEN, "bob").await;
        b.find("#menu-search").await;
        let admin_links =
            b.js("return ['menu-settings', 'menu-exports', 'menu-holds'].filter(id => document.getElementById(id))", vec![]).await;
        assert_eq!(admin_links, json!([]), "an operator sees no admin menu entries");
        b.js("location.hash = '#/admin/settings'", vec![]).await;
        b.wait_text("#main [role=alert]", &ja("admin.forbidden")).await;
        assert_eq!(b.js("return document.getElementById('settings-toml') === null", vec![]).await, json!(true), "no editor");
        b.screenshot("operator").await;

        // alice, an admin, after bob signs out.
        b.click_css("#sign-out").await;
        b.find("#signin-token").await;
        sign_in(&b, ADMIN_TOKEN, "alice").await;
        b.wait_text("#header-staff", &ja("role.admin")).await;
        b.click_css("#menu-settings").await;
        let loaded = b
            .wait_js(
                "the settings in the editor",
                "const e = document.getElementById('settings-toml'); return e && e.value.includes('account_name') ? e.value : null",
                vec![],
            )
            .await;
        let toml = loaded.as_str().unwrap().to_owned();
        assert!(toml.contains("always = \"chat\""), "the settings in force: {toml}");

        // A bad value: refused, naming the key.
        b.expect_console_error("/api/settings - Failed to load resource: the server responded with a status of 400");
        b.set_value("#settings-toml", &toml.replace("always = \"chat\"", "always = \"bot\"")).await;
        b.click_css("#settings-save").await;
        b.wait_text("#settings-error", "modes.always").await;
        b.screenshot("settings-error").await;
        let (_, now) = c.api(ADMIN_TOKEN, "GET", "/api/settings", None).await;
        assert!(now["toml"].as_str().unwrap().contains("always = \"chat\""), "nothing saved: {now}");

        // A good edit: saved, and the API has it.
        let edited = toml.replace("account_name = \"テスト歯科\"", "account_name = \"テスト歯科 本院\"");
        b.set_value("#settings-toml", &edited).await;
        b.click_css("#settings-save").await;
        b.find("#settings-status").await;
        b.wait_js("the save to be confirmed", "return document.getElementById('settings-status').textContent.trim() !== ''", vec![]).await;
        b.gone("#settings-error").await;
        let (_, saved) = c.api(ADMIN_TOKEN, "GET", "/api/settings", None).await;
        assert!(saved["toml"].as_str().unwrap().contains("テスト歯科 本院"), "saved: {saved}");
        let (_, me) = c.api(ADMIN_TOKEN, "GET", "/api/me", None).await;
        assert_eq!(me["account_name"], "テスト歯科 本院", "in force: {me}");
        b.screenshot("settings-saved").await;
    })
    .await;
}
