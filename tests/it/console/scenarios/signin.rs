//! 1. Sign-in with an operator token; a wrong token is refused with a message.

use crate::console::{ja, sign_in, ConsoleApp, OPERATOR_TOKEN};

pub async fn token_and_wrong_token() {
    let c = ConsoleApp::start().await;
    let b = c.open("signin").await;
    b.run(async {
        b.find("#signin-token").await;
        b.check_accessibility("signin").await;
        b.screenshot("").await;

        // A wrong token: refused, saying so in an alert, and still on the sign-in page.
        b.expect_console_error("/api/me - Failed to load resource: the server responded with a status of 401");
        b.set_value("#signin-token", "loa_not_a_token_0123456789abcdef").await;
        b.click_css("#signin-submit").await;
        b.wait_text("#signin-error", &ja("signin.wrong_token")).await;
        let role = b.find("#signin-error").await.attr("role").await.unwrap();
        assert_eq!(role.as_deref(), Some("alert"), "the refusal is announced");
        assert!(b.js("return document.getElementById('header-staff') === null", vec![]).await.as_bool().unwrap(), "not signed in");
        b.screenshot("wrong-token").await;

        // The right one: signed in as bob, an operator.
        sign_in(&b, OPERATOR_TOKEN, "bob").await;
        b.wait_text("#header-staff", &ja("role.operator")).await;
        b.gone("#signin-error").await;
        b.screenshot("signed-in").await;

        // A reload keeps the session (the tab's sessionStorage), without asking again.
        b.client.refresh().await.unwrap();
        b.wait_text("#header-staff", "bob").await;
    })
    .await;
}
