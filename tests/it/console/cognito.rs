//! Scenario 9: the console as deployed on AWS. The operator function in-process behind the API
//! Gateway stand-in (template.yaml's routes, the JWT authorizer played with the Cognito
//! stand-in's keys), Cognito's managed login played by the stand-in. Staff press the Cognito
//! sign-in button, sign in on Cognito's form, come back to the console signed in (their name in
//! the header) and sign out of both.

use super::{open, CONSOLE_SETTINGS};
use crate::support::cognito_standin::{s256, CognitoStack, StandinUser};

const ALICE: &str = "alice@example.com";
const PASSWORD: &str = "Alice-Password-1";

#[tokio::test]
async fn scenario_9_cognito_sign_in_and_out() {
    let stack = CognitoStack::start(vec![StandinUser::new(ALICE, PASSWORD, &["admin", "operator"])], CONSOLE_SETTINGS).await;
    let b = open(&stack.console_url(), "cognito").await;
    b.run(async {
        // AWS mode: no token field, a button to Cognito.
        b.find("#signin-cognito").await;
        b.gone("#signin-token").await;
        b.check_accessibility("signin-cognito").await;
        b.screenshot("signin").await;
        b.click_css("#signin-cognito").await;

        // Cognito's sign-in page (the stand-in's), in the console's language.
        b.wait_js("Cognito's sign-in form", "return document.querySelector('form[action=\"/login\"]') !== null", vec![]).await;
        b.wait_text("label[for=username]", "メールアドレス").await;
        b.set_value("#username", ALICE).await;
        b.set_value("#password", PASSWORD).await;
        b.click_css("#signin").await;

        // Back at the console with a code; it exchanges it (PKCE) and shows who is signed in.
        b.wait_text("#header-staff", ALICE).await;
        let url = b.client.current_url().await.unwrap().to_string();
        assert!(url.starts_with(&stack.console_url()) && !url.contains("code="), "the code is taken out of the address: {url}");
        b.screenshot("signed-in").await;

        let authorize = stack.cognito.requests_to("/oauth2/authorize");
        let asked = authorize.first().expect("the console went to /oauth2/authorize");
        assert_eq!(asked.param("code_challenge_method"), Some("S256"));
        assert_eq!(asked.param("lang"), Some("ja"));
        assert_eq!(asked.param("redirect_uri"), Some(stack.console_url().as_str()));
        let tokens: Vec<_> = stack.cognito.requests_to("/oauth2/token").into_iter().filter(|t| t.outcome == "ok").collect();
        let exchange = tokens.iter().find(|t| t.param("grant_type") == Some("authorization_code")).expect("the console exchanged the code");
        let verifier = exchange.param("code_verifier").expect("with its PKCE verifier");
        assert_eq!(asked.param("code_challenge"), Some(s256(verifier).as_str()), "the verifier of the challenge it sent");
        assert_eq!(exchange.origin.as_deref(), Some(stack.gateway.url.as_str()), "from the console's page (CORS)");
        let api_calls: Vec<_> =
            stack.gateway.events().into_iter().filter(|e| e["rawPath"].as_str().is_some_and(|p| p.starts_with("/api/"))).collect();
        assert!(!api_calls.is_empty() && api_calls.iter().all(|e| e["requestContext"]["authorizer"]["jwt"]["claims"]["email"] == ALICE));

        // Sign-out: Cognito's /logout, then the console's sign-in page again.
        b.click_css("#sign-out").await;
        b.find("#signin-cognito").await;
        let logout = stack.cognito.requests_to("/logout");
        assert_eq!(logout.len(), 1, "Cognito's session ended too");
        assert_eq!(logout[0].param("logout_uri"), Some(stack.console_url().as_str()));
        assert_eq!(logout[0].param("client_id"), Some(stack.cognito.client_id().as_str()));
        b.screenshot("signed-out").await;
    })
    .await;
}
