//! Staff sign-in on AWS, end to end on 127.0.0.1: the authorization code flow with PKCE against
//! the Cognito stand-in (as the console runs it), then the operator function behind the API
//! Gateway stand-in (template.yaml's routes and JWT authorizer) with the ID token; and
//! template.yaml itself: the function gets the console settings `src/config/console.rs`
//! reads, and the app client's callback URL is the console's URL.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::Response;
use serde_json::{json, Value};

use crate::support::apps::SETTINGS;
use crate::support::cognito_standin::{
    pkce_pair, s256, template_routes, CognitoStack, GatewayRoute, StandinUser, CODE_LIFETIME, TOKEN_LIFETIME,
};

const ALICE: &str = "alice@example.com";
const ALICE_PASSWORD: &str = "Alice-Password-1";
const BOB: &str = "bob@example.com";
const EVE: &str = "eve@example.com";
const PASSWORD: &str = "Correct-Horse-42";

fn staff() -> Vec<StandinUser> {
    vec![
        StandinUser::new(ALICE, ALICE_PASSWORD, &["admin", "operator"]),
        StandinUser::new(BOB, PASSWORD, &["operator"]),
        // In the pool but in no staff group.
        StandinUser::new(EVE, PASSWORD, &[]),
    ]
}

/// A browser that does not follow redirects by itself (each hop is checked) and keeps one
/// cookie: Cognito's session.
struct Browser {
    http: reqwest::Client,
    cognito_cookie: Option<String>,
}

fn location(r: &Response) -> String {
    r.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

fn query_of(url: &str) -> BTreeMap<String, String> {
    let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    parsed.query_pairs().into_owned().collect()
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

/// The value of the hidden `login` field on the stand-in's sign-in page.
fn hidden_login(html: &str) -> String {
    let at = html.find("name=\"login\" value=\"").expect("a login field") + "name=\"login\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

impl Browser {
    fn new() -> Self {
        Self { http: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(), cognito_cookie: None }
    }

    async fn get(&self, url: &str) -> Response {
        let mut request = self.http.get(url);
        if let Some(c) = &self.cognito_cookie {
            request = request.header(COOKIE, c.clone());
        }
        request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    async fn post_form(&mut self, url: &str, body: String) -> Response {
        let mut request = self.http.post(url).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body);
        if let Some(c) = &self.cognito_cookie {
            request = request.header(COOKIE, c.clone());
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.keep_cookie(&response);
        response
    }

    fn keep_cookie(&mut self, r: &Response) {
        if let Some(set) = r.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap().to_owned();
            self.cognito_cookie = if pair.ends_with('=') { None } else { Some(pair) };
        }
    }
}

/// What the console does to sign in: the authorize URL (with PKCE and state, in Japanese).
fn authorize_url(stack: &CognitoStack, state: &str, challenge: &str) -> String {
    let mut url = reqwest::Url::parse(&format!("{}/oauth2/authorize", stack.cognito.domain())).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &stack.cognito.client_id())
        .append_pair("redirect_uri", &stack.console_url())
        .append_pair("scope", "openid email profile")
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("lang", "ja");
    url.to_string()
}

/// Authorize, the sign-in form, the credentials: back at the console with `?code=&state=`.
async fn sign_in(b: &mut Browser, stack: &CognitoStack, email: &str, password: &str, challenge: &str) -> String {
    let state = uuid::Uuid::new_v4().simple().to_string();
    let r = b.get(&authorize_url(stack, &state, challenge)).await;
    assert_eq!(r.status(), 302, "authorize redirects to the sign-in form");
    let form_url = format!("{}{}", stack.cognito.domain(), location(&r));
    let page = b.get(&form_url).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<label for=\"username\">メールアドレス</label>") && html.contains("<label for=\"password\">パスワード</label>"),
        "{html}"
    );
    let login = hidden_login(&html);
    let r = b
        .post_form(&format!("{}/login", stack.cognito.domain()), form(&[("login", &login), ("username", email), ("password", password)]))
        .await;
    assert_eq!(r.status(), 302, "signed in: back to the app");
    let back = location(&r);
    assert!(back.starts_with(&stack.console_url()), "to the registered redirect URI: {back}");
    let q = query_of(&back);
    assert_eq!(q.get("state"), Some(&state), "the state comes back unchanged");
    q["code"].clone()
}

/// The console's token request (form-encoded, from the console's origin).
async fn exchange(b: &Browser, stack: &CognitoStack, code: &str, verifier: &str) -> (u16, Value) {
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("client_id", &stack.cognito.client_id()),
        ("code", code),
        ("redirect_uri", &stack.console_url()),
        ("code_verifier", verifier),
    ]);
    token_request(b, stack, body).await
}

async fn token_request(b: &Browser, stack: &CognitoStack, body: String) -> (u16, Value) {
    let r = b
        .http
        .post(format!("{}/oauth2/token", stack.cognito.domain()))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("origin", stack.gateway.url.clone())
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status == 200 {
        let allowed = r.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(
            allowed.as_deref(),
            Some(stack.gateway.url.as_str()),
            "the page may read the token answer (CORS for the console origin)"
        );
    }
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn api(stack: &CognitoStack, token: Option<&str>, path: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", stack.gateway.url));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

#[tokio::test]
async fn pkce_sign_in_then_the_operator_function_with_the_id_token() {
    let stack = CognitoStack::start(staff(), SETTINGS).await;
    let mut b = Browser::new();

    // The console loads without a credential and learns how to sign in.
    let config = b.get(&format!("{}config.json", stack.console_url())).await;
    assert_eq!(config.status(), 200);
    let config: Value = config.json().await.unwrap();
    assert_eq!(
        config,
        json!({
            "auth": "cognito",
            "cognito_domain": stack.cognito.domain(),
            "client_id": stack.cognito.client_id(),
            "redirect_uri": stack.console_url(),
            "logout_uri": stack.console_url(),
        })
    );
    let page = b.get(&stack.console_url()).await;
    assert_eq!(page.status(), 200, "the console's page is public");
    let csp = page.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(csp.contains(&format!("connect-src 'self' {}", stack.cognito.domain())), "the page may call Cognito's token endpoint: {csp}");
    assert!(page.text().await.unwrap().contains("<html"), "the console's index.html");
    let bare = b.get(&format!("{}/console", stack.gateway.url)).await;
    assert!(bare.status().is_redirection() && location(&bare) == "/console/", "GET /console goes to /console/");

    // The API is not: API Gateway refuses before the function runs.
    let invoked = stack.gateway.events().len();
    let (status, body, _) = api(&stack, None, "/api/me").await;
    assert_eq!((status, body), (401, json!({ "message": "Unauthorized" })), "no credential");
    let (status, _, headers) = api(&stack, Some("not-a-jwt"), "/api/conversations").await;
    assert_eq!(status, 401);
    assert!(headers.get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().contains("invalid_token"));
    assert_eq!(stack.gateway.events().len(), invoked, "the function was not invoked for refused requests");
    let (status, _, _) = api(&stack, None, "/webhook").await;
    assert_eq!(status, 404, "the operator API has no other routes");

    // A wrong password: the form again, with Cognito's message, and no code.
    let (verifier, challenge) = pkce_pair();
    let state = "s-1";
    let r = b.get(&authorize_url(&stack, state, &challenge)).await;
    let form_url = format!("{}{}", stack.cognito.domain(), location(&r));
    let login = hidden_login(&b.get(&form_url).await.text().await.unwrap());
    let r = b
        .post_form(&format!("{}/login", stack.cognito.domain()), form(&[("login", &login), ("username", ALICE), ("password", "wrong")]))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("ユーザー名またはパスワードが正しくありません。"));

    // The right one: a code; the token endpoint wants the verifier of this challenge.
    let code = sign_in(&mut b, &stack, ALICE, ALICE_PASSWORD, &challenge).await;
    let (other_verifier, _) = pkce_pair();
    let (status, refused) = exchange(&b, &stack, &code, &other_verifier).await;
    assert_eq!((status, refused), (400, json!({ "error": "invalid_grant" })), "a wrong verifier is refused");
    let (status, refused) = exchange(&b, &stack, &code, &verifier).await;
    assert_eq!((status, refused), (400, json!({ "error": "invalid_grant" })), "and the code is gone with it: one use only");

    // Signed in to Cognito already: authorize returns a code at once (no form).
    let (verifier, challenge) = pkce_pair();
    let r = b.get(&authorize_url(&stack, "s-2", &challenge)).await;
    assert_eq!(r.status(), 302);
    let code = query_of(&location(&r))["code"].clone();
    let (status, tokens) = exchange(&b, &stack, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    for field in ["id_token", "access_token", "refresh_token"] {
        assert!(tokens[field].as_str().is_some_and(|t| !t.is_empty()), "{field}: {tokens}");
    }
    assert_eq!((tokens["token_type"].clone(), tokens["expires_in"].clone()), (json!("Bearer"), json!(TOKEN_LIFETIME.as_secs())));
    let (status, again) = exchange(&b, &stack, &code, &verifier).await;
    assert_eq!((status, again), (400, json!({ "error": "invalid_grant" })), "a code is single-use");

    // PKCE was used as the console must use it.
    let authorize = stack.cognito.requests_to("/oauth2/authorize");
    let last = authorize.last().unwrap();
    assert_eq!(last.param("code_challenge_method"), Some("S256"));
    assert_eq!(last.param("code_challenge"), Some(s256(&verifier).as_str()));
    let token_calls = stack.cognito.requests_to("/oauth2/token");
    assert!(token_calls.iter().all(|t| t.param("code_verifier").is_some() && t.param("client_secret").is_none()));
    assert!(token_calls.iter().all(|t| t.origin.as_deref() == Some(stack.gateway.url.as_str())));

    // The ID token opens the API: the function reads the claims the authorizer passed on.
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let (status, me, _) = api(&stack, Some(&id_token), "/api/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["name"], ALICE, "staff are named by their sign-in e-mail, not Cognito's generated username (a UUID)");
    let event = stack.gateway.events().last().cloned().unwrap();
    let claims = &event["requestContext"]["authorizer"]["jwt"]["claims"];
    assert_eq!(claims["cognito:groups"], "[admin operator]", "API Gateway flattens arrays");
    assert!(claims["exp"].is_string() && claims["email_verified"] == "true", "and passes every claim as a string: {claims}");
    assert_eq!(event["routeKey"], "ANY /api/{proxy+}");
    let (status, list, _) = api(&stack, Some(&id_token), "/api/conversations?limit=5").await;
    assert_eq!(status, 200, "{list}");

    // The refresh token gives a fresh ID token.
    let refresh = form(&[
        ("grant_type", "refresh_token"),
        ("client_id", &stack.cognito.client_id()),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
    ]);
    let (status, refreshed) = token_request(&b, &stack, refresh).await;
    assert_eq!(status, 200, "{refreshed}");
    assert!(refreshed.get("refresh_token").is_none(), "Cognito keeps the refresh token (no rotation)");
    let (status, _, _) = api(&stack, Some(refreshed["id_token"].as_str().unwrap()), "/api/me").await;
    assert_eq!(status, 200);

    // Roles: an operator; someone in no staff group gets past API Gateway but not the function.
    let mut other = Browser::new();
    let (verifier, challenge) = pkce_pair();
    let code = sign_in(&mut other, &stack, BOB, PASSWORD, &challenge).await;
    let (_, bob_tokens) = exchange(&other, &stack, &code, &verifier).await;
    let (status, me, _) = api(&stack, bob_tokens["id_token"].as_str(), "/api/me").await;
    assert_eq!((status, me["role"].clone()), (200, json!("operator")), "{me}");
    let (status, _, _) = api(&stack, bob_tokens["id_token"].as_str(), "/api/settings").await;
    assert_eq!(status, 403, "settings are for admins");
    let mut eve = Browser::new();
    let (verifier, challenge) = pkce_pair();
    let code = sign_in(&mut eve, &stack, EVE, PASSWORD, &challenge).await;
    let (_, eve_tokens) = exchange(&eve, &stack, &code, &verifier).await;
    let (status, refused, _) = api(&stack, eve_tokens["id_token"].as_str(), "/api/me").await;
    assert_eq!((status, refused["error"].clone()), (403, json!("forbidden")), "{refused}");

    // An authorization code lives five minutes.
    let (verifier, challenge) = pkce_pair();
    let r = b.get(&authorize_url(&stack, "s-3", &challenge)).await;
    let code = query_of(&location(&r))["code"].clone();
    stack.cognito.advance(CODE_LIFETIME + Duration::from_secs(1));
    let (status, _) = exchange(&b, &stack, &code, &verifier).await;
    assert_eq!(status, 400, "an expired code is refused");

    // An ID token an hour: then API Gateway refuses it.
    stack.cognito.advance(TOKEN_LIFETIME);
    let (status, _, headers) = api(&stack, Some(&id_token), "/api/me").await;
    assert_eq!(status, 401);
    assert!(headers.get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().contains("expired"));

    // Sign-out ends the Cognito session too: the next sign-in shows the form again.
    let logout = format!(
        "{}/logout?{}",
        stack.cognito.domain(),
        form(&[("client_id", &stack.cognito.client_id()), ("logout_uri", &stack.console_url())])
    );
    let mut r = b.get(&logout).await;
    assert_eq!((r.status().as_u16(), location(&r)), (302, stack.console_url()));
    b.keep_cookie(&r);
    assert!(b.cognito_cookie.is_none(), "the session cookie is cleared");
    let (_, challenge) = pkce_pair();
    r = b.get(&authorize_url(&stack, "s-4", &challenge)).await;
    assert!(location(&r).starts_with("/login?"), "signed out: the form again ({})", location(&r));
}

#[tokio::test]
async fn the_standin_refuses_what_cognito_refuses() {
    let stack = CognitoStack::start(staff(), SETTINGS).await;
    let b = Browser::new();
    let (_, challenge) = pkce_pair();
    let good = authorize_url(&stack, "st", &challenge);
    let with = |key: &str, value: Option<&str>| {
        let mut url = reqwest::Url::parse(&good).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().filter(|(k, _)| k != key).collect();
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(v) = value {
            q.append_pair(key, v);
        }
        drop(q);
        url.to_string()
    };
    // Nowhere safe to send the browser: an error page.
    for (key, value) in
        [("client_id", Some("someone-else")), ("redirect_uri", Some("https://evil.example/console/")), ("redirect_uri", None)]
    {
        let r = b.get(&with(key, value)).await;
        assert_eq!(r.status(), 400, "{key}={value:?}");
    }
    // Otherwise back to the app with error=invalid_request.
    for (key, value) in [
        ("code_challenge", None),
        ("code_challenge_method", Some("plain")),
        ("code_challenge_method", None),
        ("state", None),
        ("response_type", Some("token")),
        ("scope", Some("openid aws.cognito.signin.user.admin")),
    ] {
        let r = b.get(&with(key, value)).await;
        assert_eq!(r.status(), 302, "{key}={value:?}");
        let q = query_of(&location(&r));
        assert_eq!(q.get("error").map(String::as_str), Some("invalid_request"), "{key}={value:?}: {q:?}");
        assert!(!q.contains_key("code"));
    }
    // The token endpoint: JSON only over a form, a known client, no secret, a known grant.
    let client = stack.cognito.client_id();
    let json_body = b
        .http
        .post(format!("{}/oauth2/token", stack.cognito.domain()))
        .json(&json!({ "grant_type": "authorization_code" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
    for (body, error) in [
        (form(&[("grant_type", "authorization_code"), ("client_id", "nope"), ("code", "x")]), "invalid_client"),
        (form(&[("grant_type", "client_credentials"), ("client_id", &client)]), "unsupported_grant_type"),
        (form(&[("grant_type", "authorization_code"), ("client_id", &client), ("code", "never-issued")]), "invalid_grant"),
        (form(&[("grant_type", "refresh_token"), ("client_id", &client), ("refresh_token", "never-issued")]), "invalid_grant"),
    ] {
        let (_, answer) = token_request(&b, &stack, body).await;
        assert_eq!(answer["error"], error);
    }
    // A preflight from the console's origin is allowed; another origin gets no CORS grant.
    for (origin, allowed) in [(stack.gateway.url.clone(), true), ("https://evil.example".to_owned(), false)] {
        let r = b
            .http
            .request(reqwest::Method::OPTIONS, format!("{}/oauth2/token", stack.cognito.domain()))
            .header("origin", origin.clone())
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        let grant = r.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(grant.is_some(), allowed, "{origin}: {grant:?}");
    }
    // Sign-out only to a registered URL.
    let r = b
        .get(&format!("{}/logout?{}", stack.cognito.domain(), form(&[("client_id", &client), ("logout_uri", "https://evil.example/")])))
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn first_sign_in_replaces_the_temporary_password() {
    let temporary = "Temp-Pass-0001";
    let stack =
        CognitoStack::start(vec![StandinUser::new("new@example.com", temporary, &["operator"]).with_temporary_password()], SETTINGS).await;
    let mut b = Browser::new();
    let (verifier, challenge) = pkce_pair();
    let r = b.get(&authorize_url(&stack, "first", &challenge)).await;
    let form_url = format!("{}{}", stack.cognito.domain(), location(&r));
    let login = hidden_login(&b.get(&form_url).await.text().await.unwrap());
    let login_url = format!("{}/login", stack.cognito.domain());
    let r = b.post_form(&login_url, form(&[("login", &login), ("username", "new@example.com"), ("password", temporary)])).await;
    assert_eq!(r.status(), 200, "the temporary password is right, but it must be changed first");
    let html = r.text().await.unwrap();
    assert!(html.contains("新しいパスワード"), "{html}");
    let change_url = format!("{}/login/new-password", stack.cognito.domain());
    let weak = b.post_form(&change_url, form(&[("login", &login), ("new_password", "short"), ("confirm_password", "short")])).await;
    assert_eq!(weak.status(), 200, "the pool's policy (12 characters, upper, lower, digit) refuses it");
    let chosen = "My-New-Password-2026";
    let r = b.post_form(&change_url, form(&[("login", &login), ("new_password", chosen), ("confirm_password", chosen)])).await;
    assert_eq!(r.status(), 302);
    let code = query_of(&location(&r))["code"].clone();
    let (status, tokens) = exchange(&b, &stack, &code, &verifier).await;
    assert_eq!(status, 200);
    let (status, me, _) = api(&stack, tokens["id_token"].as_str(), "/api/me").await;
    assert_eq!((status, me["role"].clone()), (200, json!("operator")), "{me}");
    assert_eq!(stack.cognito.password_of("new@example.com").as_deref(), Some(chosen));
}

// ---------------------------------------------------------------------------- template.yaml

fn template() -> serde_norway::Value {
    let text = std::fs::read_to_string(crate::support::repo_dir().join("template.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// `!Sub "..."`, `!Ref X`, a literal: its text, with the tag in front of intrinsic functions.
fn text(v: &serde_norway::Value) -> String {
    match v {
        serde_norway::Value::String(s) => s.clone(),
        serde_norway::Value::Tagged(t) => format!("{} {}", t.tag, text(&t.value)),
        serde_norway::Value::Sequence(items) => items.iter().map(text).collect::<Vec<_>>().join(" | "),
        other => serde_norway::to_string(other).unwrap().trim().to_owned(),
    }
}

#[test]
fn template_serves_the_console_from_the_operator_function() {
    let t = template();
    let r = &t["Resources"];
    let console_url = text(&t["Outputs"]["ConsoleUrl"]["Value"]);
    assert_eq!(console_url, "!Sub https://${OperatorHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/console/");

    // The function gets what config::console::from_env needs, pointing at this stack's pieces.
    let env = &r["OperatorFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(text(&env["CONSOLE_AUTH"]), "cognito");
    assert_eq!(text(&env["COGNITO_CLIENT_ID"]), "!Ref OperatorUserPoolClient");
    assert_eq!(text(&env["COGNITO_DOMAIN"]), "!Sub https://${OperatorUserPoolDomain}.auth.${AWS::Region}.amazoncognito.com");
    assert_eq!(text(&env["CONSOLE_REDIRECT_URI"]), console_url);
    let vars: Vec<(String, String)> = env.as_mapping().unwrap().iter().map(|(k, v)| (text(k), text(v))).collect();
    let config = line_oa::config::console::from_lookup(|k| {
        // Intrinsics resolved the way CloudFormation would, with made-up ids.
        vars.iter().find(|(key, _)| key == k).map(|(_, v)| {
            v.trim_start_matches("!Sub ")
                .replace("!Ref OperatorUserPoolClient", "4example5client6id")
                .replace("${OperatorUserPoolDomain}", "line-oa-1")
                .replace("${OperatorHttpApi}", "abc123")
                .replace("${AWS::Region}", "ap-northeast-1")
                .replace("${AWS::URLSuffix}", "amazonaws.com")
        })
    });
    let config = serde_json::to_value(config.expect("the template's console settings are valid")).unwrap();
    assert_eq!(config["auth"], "cognito");
    assert_eq!(config["redirect_uri"], "https://abc123.execute-api.ap-northeast-1.amazonaws.com/console/");

    // The app client: a public SPA client, code grant only, back to the console.
    let client = &r["OperatorUserPoolClient"]["Properties"];
    assert_eq!(text(&client["GenerateSecret"]), "false");
    assert_eq!(text(&client["AllowedOAuthFlowsUserPoolClient"]), "true");
    assert_eq!(text(&client["AllowedOAuthFlows"]), "code");
    assert_eq!(text(&client["AllowedOAuthScopes"]), "openid | email | profile");
    assert_eq!(text(&client["SupportedIdentityProviders"]), "COGNITO");
    assert_eq!(text(&client["CallbackURLs"]), console_url);
    assert_eq!(text(&client["LogoutURLs"]), console_url);
    assert_eq!(text(&r["OperatorUserPoolDomain"]["Properties"]["ManagedLoginVersion"]), "2");
    assert_eq!(text(&r["OperatorUserPool"]["Properties"]["UserPoolTier"]), "ESSENTIALS", "managed login in Japanese needs Essentials");

    // The same HTTP API: the API behind the authorizer, the console without.
    let routes = template_routes();
    let expect = |key: &str, jwt: bool| {
        let (method, path) = key.split_once(' ').unwrap();
        GatewayRoute { route_key: key.into(), method: method.into(), path: path.into(), jwt }
    };
    assert_eq!(routes, vec![expect("ANY /api/{proxy+}", true), expect("GET /console", false), expect("GET /console/{proxy+}", false)]);
    for (name, res) in r.as_mapping().unwrap() {
        if res["Type"].as_str() == Some("AWS::ApiGatewayV2::Route") {
            assert_eq!(text(&res["Properties"]["ApiId"]), "!Ref OperatorHttpApi", "{}", text(name));
            assert_eq!(text(&res["Properties"]["Target"]), "!Sub integrations/${OperatorIntegration}", "{}", text(name));
        }
    }
    assert_eq!(text(&r["OperatorApiRoute"]["Properties"]["AuthorizerId"]), "!Ref OperatorJwtAuthorizer");
    assert_eq!(text(&r["OperatorJwtAuthorizer"]["Properties"]["JwtConfiguration"]["Audience"]), "!Ref OperatorUserPoolClient");

    // Notices link into this console unless another one is named.
    let notify = text(&r["WorkerFunction"]["Properties"]["Environment"]["Variables"]["NOTIFY_CONSOLE_URL"]);
    assert!(notify.ends_with(&format!("{}#/c/{{conversation}}", console_url.trim_start_matches("!Sub "))), "{notify}");
}
