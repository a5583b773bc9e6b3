//! The AWS side of the operator console on 127.0.0.1:
//! - [`CognitoStandin`]: Cognito's managed login and OAuth 2.0 endpoints (`/oauth2/authorize`, a
//!   sign-in form, `/oauth2/token`, `/logout`) for one public app client, authorization code +
//!   PKCE (S256) only, ID tokens signed HS256 with a per-run key. It records what it was asked.
//! - [`ApiGatewayStandin`]: API Gateway's HTTP API in front of the operator function, with the
//!   routes template.yaml declares (read from it): on JWT routes it verifies the bearer ID token
//!   (signature, issuer, audience, expiry) and hands the function the claims the way API Gateway
//!   does (`requestContext.authorizer.jwt.claims`, every value a string); on the console routes no
//!   authorizer. Each request becomes an API Gateway v2 event JSON and runs through `lambda_http`'s
//!   own adapter, the one `lambda_http::run` wraps the handler in, and the function's response JSON
//!   is turned back into HTTP as API Gateway does.
//! - [`CognitoStack`]: both, around the router `src/bin/operator.rs` runs, configured from the
//!   environment keys template.yaml sets.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use futures::FutureExt;
use hmac::{Hmac, Mac};
use line_oa::config::console as console_config;
use line_oa::http::console::ConsoleConfig;
use line_oa::http::console_config::operator_function_router;
use line_oa::service::export::jobs::ExportJobs;
use line_oa::service::Service;
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::Store;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::apps::service;
use super::line_standin::{LineStandin, StandinOptions};

/// Cognito's authorization codes are valid for five minutes.
pub const CODE_LIFETIME: Duration = Duration::from_secs(300);
/// The app client's ID and access token validity in template.yaml (60 minutes).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const SESSION_COOKIE: &str = "standin-session";

// ------------------------------------------------------------------------------------ Cognito

/// A user of the pool. As in template.yaml's pool (`UsernameAttributes: [email]`), people sign in
/// with their e-mail address and Cognito's username is a generated UUID (the `sub`), which is
/// what `cognito:username` carries in the ID token.
#[derive(Clone, Debug)]
pub struct StandinUser {
    pub email: String,
    pub password: String,
    pub groups: Vec<String>,
    pub sub: String,
    /// Created by an administrator and not signed in yet: the first sign-in must set a new password.
    pub temporary: bool,
}

impl StandinUser {
    pub fn new(email: &str, password: &str, groups: &[&str]) -> Self {
        let sub = uuid::Uuid::new_v4().to_string();
        Self {
            email: email.into(),
            password: password.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            sub,
            temporary: false,
        }
    }

    /// As `admin-create-user` leaves it: FORCE_CHANGE_PASSWORD.
    pub fn with_temporary_password(mut self) -> Self {
        self.temporary = true;
        self
    }
}

#[derive(Clone, Debug)]
pub struct CognitoOptions {
    pub client_id: String,
    /// The app client's `CallbackURLs` / `LogoutURLs`: compared exactly, as Cognito does.
    pub callback_urls: Vec<String>,
    pub logout_urls: Vec<String>,
    /// Origins that may call `/oauth2/token` from a page (CORS).
    pub allowed_origins: Vec<String>,
    pub users: Vec<StandinUser>,
}

/// One request the stand-in got: query (GET) or form (POST) parameters, passwords redacted, and
/// what it did about it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub params: BTreeMap<String, String>,
    pub origin: Option<String>,
    /// `ok` / `redirect ...` / the refusal (`invalid_grant: ...`).
    pub outcome: String,
}

impl Recorded {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }
}

#[derive(Clone, Debug)]
struct Authorization {
    client_id: String,
    redirect_uri: String,
    state: String,
    code_challenge: String,
    scope: String,
    nonce: Option<String>,
    lang: String,
}

#[derive(Clone, Debug)]
struct IssuedCode {
    authorization: Authorization,
    sub: String,
    expires_at: i64,
}

struct CognitoState {
    url: String,
    options: CognitoOptions,
    key: Vec<u8>,
    users: Mutex<Vec<StandinUser>>,
    /// Sign-in forms shown, by their hidden `login` id.
    logins: Mutex<HashMap<String, Authorization>>,
    /// A login id whose password was right but temporary: the user's sub.
    password_change: Mutex<HashMap<String, String>>,
    codes: Mutex<HashMap<String, IssuedCode>>,
    sessions: Mutex<HashMap<String, String>>,
    refresh_tokens: Mutex<HashMap<String, String>>,
    recorded: Mutex<Vec<Recorded>>,
    /// Seconds added to the real clock (`advance`), to expire codes and tokens.
    offset: Mutex<i64>,
}

#[derive(Clone)]
pub struct CognitoStandin {
    state: Arc<CognitoState>,
}

fn random(n: usize) -> String {
    let mut s = String::new();
    while s.len() < n {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(n);
    s
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// PKCE S256: BASE64URL(SHA256(ASCII(code_verifier))).
pub fn s256(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

/// A fresh PKCE verifier (43 to 128 unreserved characters) and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = format!("{}-{}._~{}", random(32), random(16), random(8));
    let challenge = s256(&verifier);
    (verifier, challenge)
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).expect("pairs encode");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(LOCATION, to.to_owned())]).into_response()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

impl CognitoStandin {
    pub async fn start(options: CognitoOptions) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(CognitoState {
            url,
            users: Mutex::new(options.users.clone()),
            options,
            key: random(64).into_bytes(),
            logins: Mutex::default(),
            password_change: Mutex::default(),
            codes: Mutex::default(),
            sessions: Mutex::default(),
            refresh_tokens: Mutex::default(),
            recorded: Mutex::default(),
            offset: Mutex::new(0),
        });
        let standin = Self { state };
        let app = Router::new()
            .route("/oauth2/authorize", get(authorize))
            .route("/login", get(login_page).post(login))
            .route("/login/new-password", axum::routing::post(new_password))
            .route("/oauth2/token", axum::routing::post(token).options(token_preflight))
            .route("/logout", get(logout))
            .with_state(standin.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        standin
    }

    /// `https://<prefix>.auth.<region>.amazoncognito.com` on AWS; here `http://127.0.0.1:<port>`.
    pub fn domain(&self) -> String {
        self.state.url.clone()
    }

    /// The token issuer (on AWS `https://cognito-idp.<region>.amazonaws.com/<pool id>`).
    pub fn issuer(&self) -> String {
        format!("{}/ap-northeast-1_standin", self.state.url)
    }

    pub fn client_id(&self) -> String {
        self.state.options.client_id.clone()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.recorded.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    /// The user's current password (after a first sign-in changed it).
    pub fn password_of(&self, email: &str) -> Option<String> {
        self.state.users.lock().unwrap().iter().find(|u| u.email == email).map(|u| u.password.clone())
    }

    /// Moves the stand-in's clock on: codes and tokens expire as if `by` had passed.
    pub fn advance(&self, by: Duration) {
        *self.state.offset.lock().unwrap() += by.as_secs() as i64;
    }

    fn now(&self) -> i64 {
        jiff::Timestamp::now().as_second() + *self.state.offset.lock().unwrap()
    }

    fn record(&self, method: &str, path: &str, params: &BTreeMap<String, String>, headers: &HeaderMap, outcome: impl Into<String>) {
        let mut params = params.clone();
        for secret in ["password", "new_password", "confirm_password"] {
            if let Some(v) = params.get_mut(secret) {
                *v = "(redacted)".into();
            }
        }
        let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.state.recorded.lock().unwrap().push(Recorded {
            method: method.into(),
            path: path.into(),
            params,
            origin,
            outcome: outcome.into(),
        });
    }

    fn sign(&self, claims: &Value) -> String {
        let header = json!({ "alg": "HS256", "typ": "JWT", "kid": "standin-hs256" });
        let input = format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
        let signature = hmac_sha256(&self.state.key, input.as_bytes());
        format!("{input}.{}", b64url(&signature))
    }

    /// What API Gateway's JWT authorizer checks: the signature (here HS256 with the stand-in's
    /// key; on AWS the pool's JWKS), `iss`, `aud` (or an access token's `client_id`) against
    /// the configured audience, `exp`, `nbf`. Returns the claims.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, String> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, signature] = parts[..] else { return Err("not a JWT (three dot-separated parts)".into()) };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|e| format!("bad base64url: {e}"));
        let header: Value = serde_json::from_slice(&decode(header)?).map_err(|e| format!("bad header: {e}"))?;
        if header["alg"] != "HS256" {
            return Err(format!("unexpected alg {}", header["alg"]));
        }
        let expected = hmac_sha256(&self.state.key, format!("{}.{}", parts[0], parts[1]).as_bytes());
        if decode(signature)? != expected {
            return Err("the signature does not verify".into());
        }
        let claims: Map<String, Value> = serde_json::from_slice(&decode(payload)?).map_err(|e| format!("bad payload: {e}"))?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer().as_str()) {
            return Err(format!("issuer {:?} is not {}", claims.get("iss"), self.issuer()));
        }
        let audience = claims.get("aud").or_else(|| claims.get("client_id")).and_then(Value::as_str);
        if audience != Some(self.state.options.client_id.as_str()) {
            return Err(format!("audience {audience:?} is not the app client"));
        }
        let now = self.now();
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp > now => {}
            Some(_) => return Err("the token has expired".into()),
            None => return Err("no exp claim".into()),
        }
        if claims.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| nbf > now) {
            return Err("the token is not valid yet".into());
        }
        Ok(claims)
    }

    fn user_by_sub(&self, sub: &str) -> Option<StandinUser> {
        self.state.users.lock().unwrap().iter().find(|u| u.sub == sub).cloned()
    }

    /// The token endpoint's answer for `sub`: an ID token as Cognito shapes it, an access token,
    /// and (for the code grant) a refresh token.
    fn tokens(&self, sub: &str, scope: &str, nonce: Option<&str>, with_refresh: bool) -> Value {
        let user = self.user_by_sub(sub).expect("tokens for a known user");
        let now = self.now();
        let exp = now + TOKEN_LIFETIME.as_secs() as i64;
        let mut id = json!({
            "sub": user.sub,
            "aud": self.state.options.client_id,
            "iss": self.issuer(),
            "token_use": "id",
            "auth_time": now,
            "iat": now,
            "exp": exp,
            "cognito:username": user.sub,
            "cognito:groups": user.groups,
            "email": user.email,
            "email_verified": true,
            "jti": uuid::Uuid::new_v4().to_string(),
            "origin_jti": uuid::Uuid::new_v4().to_string(),
        });
        if let Some(nonce) = nonce {
            id["nonce"] = json!(nonce);
        }
        let access = json!({
            "sub": user.sub,
            "client_id": self.state.options.client_id,
            "iss": self.issuer(),
            "token_use": "access",
            "scope": scope,
            "auth_time": now,
            "iat": now,
            "exp": exp,
            "username": user.sub,
            "cognito:groups": user.groups,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let mut answer = json!({
            "id_token": self.sign(&id),
            "access_token": self.sign(&access),
            "expires_in": TOKEN_LIFETIME.as_secs(),
            "token_type": "Bearer",
        });
        if with_refresh {
            let refresh = random(96);
            self.state.refresh_tokens.lock().unwrap().insert(refresh.clone(), sub.to_owned());
            answer["refresh_token"] = json!(refresh);
        }
        answer
    }

    /// Ends the sign-in: a one-time code bound to the authorization (and its PKCE challenge), a
    /// session cookie (Cognito's, so the next authorize skips the form), back to the app.
    fn complete(&self, authorization: Authorization, sub: &str) -> Response {
        let code = random(36);
        let expires_at = self.now() + CODE_LIFETIME.as_secs() as i64;
        let to = with_query(&authorization.redirect_uri, &[("code", &code), ("state", &authorization.state)]);
        self.state.codes.lock().unwrap().insert(code, IssuedCode { authorization, sub: sub.to_owned(), expires_at });
        let session = random(32);
        self.state.sessions.lock().unwrap().insert(session.clone(), sub.to_owned());
        let set_cookie = format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax");
        (StatusCode::FOUND, [(LOCATION, to), (SET_COOKIE, set_cookie)]).into_response()
    }

    fn form_page(&self, login: &str, lang: &str, error: Option<&str>) -> Response {
        let ja = lang == "ja";
        let (title, email, password, submit) = if ja {
            ("サインイン", "メールアドレス", "パスワード", "サインイン")
        } else {
            ("Sign in", "Email address", "Password", "Sign in")
        };
        let error = error.map(|e| format!("<p role=\"alert\" id=\"error\">{}</p>", escape(e))).unwrap_or_default();
        let html = format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>{title}</title></head><body><main>\
             <h1>{title}</h1>{error}<form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"login\" value=\"{login}\">\
             <label for=\"username\">{email}</label><input id=\"username\" name=\"username\" type=\"email\" autocomplete=\"username\" required>\
             <label for=\"password\">{password}</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
             <button id=\"signin\" type=\"submit\">{submit}</button></form></main></body></html>",
            lang = escape(lang),
            login = escape(login),
        );
        Html(html).into_response()
    }

    fn new_password_page(&self, login: &str, lang: &str, error: Option<&str>) -> Response {
        let ja = lang == "ja";
        let (title, new, confirm, submit) = if ja {
            ("パスワードの変更", "新しいパスワード", "新しいパスワード (確認)", "パスワードを変更")
        } else {
            ("Change password", "New password", "Confirm new password", "Change password")
        };
        let error = error.map(|e| format!("<p role=\"alert\" id=\"error\">{}</p>", escape(e))).unwrap_or_default();
        let html = format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>{title}</title></head><body><main>\
             <h1>{title}</h1>{error}<form method=\"post\" action=\"/login/new-password\">\
             <input type=\"hidden\" name=\"login\" value=\"{login}\">\
             <label for=\"new_password\">{new}</label><input id=\"new_password\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" required>\
             <label for=\"confirm_password\">{confirm}</label><input id=\"confirm_password\" name=\"confirm_password\" type=\"password\" autocomplete=\"new-password\" required>\
             <button id=\"change\" type=\"submit\">{submit}</button></form></main></body></html>",
            lang = escape(lang),
            login = escape(login),
        );
        Html(html).into_response()
    }
}

fn bad_request_page(message: &str) -> Response {
    let html = format!("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>Error</title></head><body><main><h1>An error was encountered with the requested page.</h1><p id=\"error\">{}</p></main></body></html>", escape(message));
    (StatusCode::BAD_REQUEST, Html(html)).into_response()
}

fn form_params(body: &Bytes) -> BTreeMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default().into_iter().collect()
}

async fn authorize(State(s): State<CognitoStandin>, Query(params): Query<BTreeMap<String, String>>, headers: HeaderMap) -> Response {
    let p = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let options = &s.state.options;
    // Without a known client and a registered redirect URI there is nowhere safe to send an error.
    if p("client_id") != options.client_id {
        s.record("GET", "/oauth2/authorize", &params, &headers, "refused: unknown client_id");
        return bad_request_page("invalid client_id");
    }
    if !options.callback_urls.iter().any(|u| u == p("redirect_uri")) {
        s.record("GET", "/oauth2/authorize", &params, &headers, "refused: redirect_uri is not a callback URL of the client");
        return bad_request_page("redirect_mismatch");
    }
    let redirect_uri = p("redirect_uri").to_owned();
    let refuse = |why: &str| {
        s.record("GET", "/oauth2/authorize", &params, &headers, format!("redirect error=invalid_request: {why}"));
        redirect(&with_query(&redirect_uri, &[("error", "invalid_request"), ("error_description", why), ("state", p("state"))]))
    };
    if p("response_type") != "code" {
        return refuse("response_type must be code");
    }
    if p("code_challenge_method") != "S256" || p("code_challenge").len() != 43 {
        return refuse("PKCE is required: code_challenge (S256, 43 characters) and code_challenge_method=S256");
    }
    if p("state").is_empty() {
        return refuse("state is required");
    }
    let scopes: Vec<&str> = p("scope").split([' ', '+']).filter(|s| !s.is_empty()).collect();
    if !scopes.contains(&"openid") || scopes.iter().any(|s| !["openid", "email", "profile"].contains(s)) {
        return refuse("scope must include openid and only the client's scopes (openid email profile)");
    }
    let authorization = Authorization {
        client_id: options.client_id.clone(),
        redirect_uri,
        state: p("state").to_owned(),
        code_challenge: p("code_challenge").to_owned(),
        scope: scopes.join(" "),
        nonce: params.get("nonce").cloned(),
        lang: params.get("lang").cloned().unwrap_or_else(|| "en".into()),
    };
    // Signed in already (Cognito's session cookie): straight back with a code.
    let session = cookie(&headers, SESSION_COOKIE).and_then(|c| s.state.sessions.lock().unwrap().get(&c).cloned());
    if let Some(sub) = session {
        s.record("GET", "/oauth2/authorize", &params, &headers, "redirect with a code (session)");
        return s.complete(authorization, &sub);
    }
    let login = random(24);
    let lang = authorization.lang.clone();
    s.state.logins.lock().unwrap().insert(login.clone(), authorization);
    s.record("GET", "/oauth2/authorize", &params, &headers, "redirect to the sign-in form");
    redirect(&with_query("/login", &[("login", &login), ("lang", &lang)]))
}

async fn login_page(State(s): State<CognitoStandin>, Query(params): Query<BTreeMap<String, String>>, headers: HeaderMap) -> Response {
    let login = params.get("login").cloned().unwrap_or_default();
    let Some(authorization) = s.state.logins.lock().unwrap().get(&login).cloned() else {
        s.record("GET", "/login", &params, &headers, "refused: unknown login");
        return bad_request_page("Start the sign-in from the app.");
    };
    s.record("GET", "/login", &params, &headers, "ok");
    s.form_page(&login, &authorization.lang, None)
}

async fn login(State(s): State<CognitoStandin>, headers: HeaderMap, body: Bytes) -> Response {
    let params = form_params(&body);
    let p = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let Some(authorization) = s.state.logins.lock().unwrap().get(p("login")).cloned() else {
        s.record("POST", "/login", &params, &headers, "refused: unknown login");
        return bad_request_page("Start the sign-in from the app.");
    };
    let ja = authorization.lang == "ja";
    let user = s.state.users.lock().unwrap().iter().find(|u| u.email.eq_ignore_ascii_case(p("username").trim())).cloned();
    match user {
        Some(user) if user.password == p("password") => {
            if user.temporary {
                s.state.password_change.lock().unwrap().insert(p("login").to_owned(), user.sub.clone());
                s.record("POST", "/login", &params, &headers, "new password required");
                return s.new_password_page(p("login"), &authorization.lang, None);
            }
            s.state.logins.lock().unwrap().remove(p("login"));
            s.record("POST", "/login", &params, &headers, "redirect with a code");
            s.complete(authorization, &user.sub)
        }
        _ => {
            s.record("POST", "/login", &params, &headers, "refused: incorrect username or password");
            let message = if ja {
                "ユーザー名またはパスワードが正しくありません。"
            } else {
                "Incorrect username or password."
            };
            s.form_page(p("login"), &authorization.lang, Some(message))
        }
    }
}

async fn new_password(State(s): State<CognitoStandin>, headers: HeaderMap, body: Bytes) -> Response {
    let params = form_params(&body);
    let p = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let login = p("login");
    let (Some(authorization), Some(sub)) =
        (s.state.logins.lock().unwrap().get(login).cloned(), s.state.password_change.lock().unwrap().get(login).cloned())
    else {
        s.record("POST", "/login/new-password", &params, &headers, "refused: unknown login");
        return bad_request_page("Start the sign-in from the app.");
    };
    let new = p("new_password");
    // template.yaml's password policy: 12+ characters, lower, upper, digit.
    let strong = new.chars().count() >= 12
        && new.chars().any(|c| c.is_ascii_lowercase())
        && new.chars().any(|c| c.is_ascii_uppercase())
        && new.chars().any(|c| c.is_ascii_digit());
    if new != p("confirm_password") || !strong {
        s.record("POST", "/login/new-password", &params, &headers, "refused: password does not conform to policy or does not match");
        return s.new_password_page(login, &authorization.lang, Some("Password does not conform to policy."));
    }
    if let Some(user) = s.state.users.lock().unwrap().iter_mut().find(|u| u.sub == sub) {
        user.password = new.to_owned();
        user.temporary = false;
    }
    s.state.logins.lock().unwrap().remove(login);
    s.state.password_change.lock().unwrap().remove(login);
    s.record("POST", "/login/new-password", &params, &headers, "redirect with a code");
    s.complete(authorization, &sub)
}

fn cors(s: &CognitoStandin, headers: &HeaderMap, response: &mut Response) {
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if s.state.options.allowed_origins.iter().any(|o| o == origin) {
        let h = response.headers_mut();
        h.insert("access-control-allow-origin", HeaderValue::from_str(origin).unwrap());
        h.insert("vary", HeaderValue::from_static("Origin"));
    }
}

async fn token_preflight(State(s): State<CognitoStandin>, headers: HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    cors(&s, &headers, &mut response);
    let h = response.headers_mut();
    h.insert("access-control-allow-methods", HeaderValue::from_static("POST"));
    h.insert("access-control-allow-headers", HeaderValue::from_static("content-type, authorization"));
    h.insert("access-control-max-age", HeaderValue::from_static("600"));
    response
}

async fn token(State(s): State<CognitoStandin>, headers: HeaderMap, body: Bytes) -> Response {
    let params = form_params(&body);
    let form_encoded =
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let outcome = if !form_encoded {
        Err(("invalid_request", "the body must be application/x-www-form-urlencoded".to_owned()))
    } else {
        token_grant(&s, &params)
    };
    let mut response = match outcome {
        Ok(tokens) => {
            s.record("POST", "/oauth2/token", &params, &headers, "ok");
            (StatusCode::OK, [(CACHE_CONTROL, "no-store")], axum::Json(tokens)).into_response()
        }
        Err((code, why)) => {
            s.record("POST", "/oauth2/token", &params, &headers, format!("{code}: {why}"));
            let status = if code == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
            (status, axum::Json(json!({ "error": code }))).into_response()
        }
    };
    cors(&s, &headers, &mut response);
    response
}

type Refusal = (&'static str, String);

fn token_grant(s: &CognitoStandin, params: &BTreeMap<String, String>) -> Result<Value, Refusal> {
    let p = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if p("client_id") != s.state.options.client_id {
        return Err(("invalid_client", format!("unknown client_id {:?}", p("client_id"))));
    }
    if params.contains_key("client_secret") {
        return Err(("invalid_client", "a public client has no secret".into()));
    }
    match p("grant_type") {
        "authorization_code" => {
            // One use only: the code is gone whether or not what comes with it is right.
            let issued = s.state.codes.lock().unwrap().remove(p("code"));
            let Some(issued) = issued else { return Err(("invalid_grant", "unknown or already used code".into())) };
            if issued.expires_at <= s.now() {
                return Err(("invalid_grant", "the code has expired".into()));
            }
            if p("redirect_uri") != issued.authorization.redirect_uri {
                return Err(("invalid_grant", "redirect_uri differs from the authorization request's".into()));
            }
            let verifier = p("code_verifier");
            let well_formed =
                (43..=128).contains(&verifier.len()) && verifier.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
            if !well_formed {
                return Err(("invalid_grant", "code_verifier must be 43 to 128 unreserved characters".into()));
            }
            if s256(verifier) != issued.authorization.code_challenge {
                return Err(("invalid_grant", "BASE64URL(SHA256(code_verifier)) is not the code_challenge".into()));
            }
            Ok(s.tokens(&issued.sub, &issued.authorization.scope, issued.authorization.nonce.as_deref(), true))
        }
        "refresh_token" => {
            let sub = s.state.refresh_tokens.lock().unwrap().get(p("refresh_token")).cloned();
            let Some(sub) = sub else { return Err(("invalid_grant", "unknown refresh token".into())) };
            Ok(s.tokens(&sub, "openid email profile", None, false))
        }
        other => Err(("unsupported_grant_type", format!("{other:?}"))),
    }
}

async fn logout(State(s): State<CognitoStandin>, Query(params): Query<BTreeMap<String, String>>, headers: HeaderMap) -> Response {
    let p = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    if p("client_id") != s.state.options.client_id {
        s.record("GET", "/logout", &params, &headers, "refused: unknown client_id");
        return bad_request_page("invalid client_id");
    }
    if !s.state.options.logout_urls.iter().any(|u| u == p("logout_uri")) {
        s.record("GET", "/logout", &params, &headers, "refused: logout_uri is not a sign-out URL of the client");
        return bad_request_page("Required String parameter 'redirect_uri' is not present");
    }
    if let Some(c) = cookie(&headers, SESSION_COOKIE) {
        s.state.sessions.lock().unwrap().remove(&c);
    }
    s.record("GET", "/logout", &params, &headers, "redirect to logout_uri");
    let clear = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0");
    (StatusCode::FOUND, [(LOCATION, p("logout_uri").to_owned()), (SET_COOKIE, clear)]).into_response()
}

// -------------------------------------------------------------------------------- API Gateway

/// One route of the HTTP API, as template.yaml declares it (`AWS::ApiGatewayV2::Route`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayRoute {
    /// `ANY /api/{proxy+}`
    pub route_key: String,
    pub method: String,
    pub path: String,
    /// `AuthorizationType: JWT` (the Cognito authorizer) or `NONE`.
    pub jwt: bool,
}

impl GatewayRoute {
    /// API Gateway's match: the method (ANY = all), and the path exactly or, for a greedy
    /// `{proxy+}`, everything under its parent (`/console/` too). Returns the path parameters.
    fn matches(&self, method: &Method, path: &str) -> Option<BTreeMap<String, String>> {
        if self.method != "ANY" && self.method != method.as_str() {
            return None;
        }
        match self.path.strip_suffix("{proxy+}") {
            Some(parent) => path.strip_prefix(parent).map(|rest| BTreeMap::from([("proxy".to_owned(), rest.to_owned())])),
            None => (self.path == path).then(BTreeMap::new),
        }
    }
}

/// The operator HTTP API's routes from template.yaml (every Route on `OperatorHttpApi`).
pub fn template_routes() -> Vec<GatewayRoute> {
    let path = super::repo_dir().join("template.yaml");
    let text = std::fs::read_to_string(&path).expect("template.yaml");
    let template: serde_norway::Value = serde_norway::from_str(&text).expect("template.yaml parses");
    let mut routes = Vec::new();
    for (_, resource) in template["Resources"].as_mapping().expect("Resources").iter() {
        if resource["Type"].as_str() != Some("AWS::ApiGatewayV2::Route") {
            continue;
        }
        let props = &resource["Properties"];
        let key = props["RouteKey"].as_str().expect("a literal RouteKey").to_owned();
        let (method, path) = key.split_once(' ').expect("METHOD /path");
        let jwt = match props["AuthorizationType"].as_str() {
            Some("JWT") => true,
            Some("NONE") | None => false,
            Some(other) => panic!("route {key}: authorization {other} is not played by the stand-in"),
        };
        routes.push(GatewayRoute { route_key: key.clone(), method: method.into(), path: path.into(), jwt });
    }
    routes
}

struct GatewayState {
    routes: Vec<GatewayRoute>,
    function: Router,
    cognito: CognitoStandin,
    events: Mutex<Vec<Value>>,
}

#[derive(Clone)]
pub struct ApiGatewayStandin {
    pub url: String,
    state: Arc<GatewayState>,
}

/// API Gateway's own answers (the function is not invoked).
fn gateway_answer(status: StatusCode, message: &str) -> Response {
    (status, [(CONTENT_TYPE, "application/json")], json!({ "message": message }).to_string()).into_response()
}

/// Claims as API Gateway passes them on: strings; arrays as `[a b]`; numbers and booleans as text.
pub fn claims_as_api_gateway_renders_them(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => {
                    let items: Vec<String> = items.iter().map(|i| i.as_str().map(str::to_owned).unwrap_or_else(|| i.to_string())).collect();
                    format!("[{}]", items.join(" "))
                }
                other => other.to_string(),
            };
            (k.clone(), Value::String(text))
        })
        .collect()
}

impl ApiGatewayStandin {
    /// Binds first (the console's URL must be known before the function is configured), serves
    /// after [`ApiGatewayStandin::serve`].
    pub async fn bind() -> (tokio::net::TcpListener, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        (listener, url)
    }

    pub fn serve(
        listener: tokio::net::TcpListener,
        url: String,
        routes: Vec<GatewayRoute>,
        function: Router,
        cognito: CognitoStandin,
    ) -> Self {
        let state = Arc::new(GatewayState { routes, function, cognito, events: Mutex::default() });
        let app = Router::new().fallback(gateway).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, state }
    }

    /// Every event the function was invoked with (API Gateway v2 payload JSON).
    pub fn events(&self) -> Vec<Value> {
        self.state.events.lock().unwrap().clone()
    }

    pub fn routes(&self) -> &[GatewayRoute] {
        &self.state.routes
    }
}

fn is_text(content_type: &str) -> bool {
    let t = content_type.to_ascii_lowercase();
    t.starts_with("text/")
        || t.contains("json")
        || t.contains("javascript")
        || t.contains("xml")
        || t.starts_with("application/x-www-form-urlencoded")
}

async fn gateway(State(g): State<Arc<GatewayState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let Some((route, path_parameters)) = g.routes.iter().find_map(|r| r.matches(&parts.method, &path).map(|p| (r, p))) else {
        return gateway_answer(StatusCode::NOT_FOUND, "Not Found");
    };
    let mut authorizer = None;
    if route.jwt {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or_default();
        if header.is_empty() {
            return gateway_answer(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        let token = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).unwrap_or(header).trim();
        match g.cognito.verify(token) {
            Ok(claims) => authorizer = Some(json!({ "jwt": { "claims": claims_as_api_gateway_renders_them(&claims), "scopes": null } })),
            Err(why) => {
                let mut response = gateway_answer(StatusCode::UNAUTHORIZED, "Unauthorized");
                let value = format!("Bearer scope=\"\" error=\"invalid_token\" error_description=\"{why}\"");
                response.headers_mut().insert("www-authenticate", HeaderValue::from_str(&value).unwrap());
                return response;
            }
        }
    }
    let bytes = to_bytes(body, 10 * 1024 * 1024).await.unwrap_or_default();
    // Payload 2.0: header names lowercased, repeated headers joined by commas, cookies apart.
    let mut headers = Map::new();
    for name in parts.headers.keys() {
        if name == COOKIE {
            continue;
        }
        let values: Vec<&str> = parts.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        headers.insert(name.as_str().to_owned(), Value::String(values.join(",")));
    }
    let cookies: Vec<Value> = parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(|c| Value::String(c.trim().to_owned()))
        .filter(|c| c.as_str() != Some(""))
        .collect();
    let mut query = Map::new();
    for (k, v) in serde_urlencoded::from_str::<Vec<(String, String)>>(&raw_query).unwrap_or_default() {
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let content_type = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (body, base64) = if bytes.is_empty() {
        (Value::Null, false)
    } else if is_text(content_type) && std::str::from_utf8(&bytes).is_ok() {
        (Value::String(String::from_utf8(bytes.to_vec()).unwrap()), false)
    } else {
        (Value::String(STANDARD.encode(&bytes)), true)
    };
    let host = parts.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1").to_owned();
    let now = jiff::Timestamp::now();
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "standin",
        "domainName": host,
        "domainPrefix": host.split('.').next().unwrap_or_default(),
        "http": {
            "method": parts.method.as_str(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": parts.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or_default(),
        },
        "requestId": uuid::Uuid::new_v4().to_string(),
        "routeKey": route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string(),
        "timeEpoch": now.as_millisecond(),
    });
    if let Some(a) = authorizer {
        context["authorizer"] = a;
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = json!(path_parameters);
    }
    if !body.is_null() {
        event["body"] = body;
    }
    g.events.lock().unwrap().push(event.clone());
    invoke(&g.function, &event).await
}

/// The function as Lambda runs it: the event JSON through `lambda_http`'s adapter around the
/// router, the response JSON back into HTTP as API Gateway reads it.
pub async fn invoke(function: &Router, event: &Value) -> Response {
    let request: lambda_http::request::LambdaRequest = match serde_json::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => panic!("lambda_http refused the event: {e}\n{event:#}"),
    };
    // The adapter is not Send (it names the router's response type, whose body is not Sync), so
    // it only makes the call's future, which is; a Router is always ready.
    let call = {
        let mut adapter = lambda_http::Adapter::from(function.clone());
        let ready = std::future::poll_fn(|cx| lambda_http::Service::poll_ready(&mut adapter, cx)).now_or_never();
        assert!(matches!(ready, Some(Ok(()))), "a Router is always ready");
        lambda_http::Service::call(&mut adapter, lambda_http::LambdaEvent::new(request, lambda_http::Context::default()))
    };
    let answer = call.await;
    let answer = match answer {
        Ok(a) => serde_json::to_value(&a).expect("the response serialises"),
        // Lambda reports a handler error; API Gateway answers 500.
        Err(never) => match never {},
    };
    let status = StatusCode::from_u16(answer["statusCode"].as_u64().unwrap_or(500) as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match answer.get("body") {
        Some(Value::String(text)) if answer["isBase64Encoded"] == Value::Bool(true) => STANDARD.decode(text).expect("base64 body"),
        Some(Value::String(text)) => text.clone().into_bytes(),
        _ => Vec::new(),
    };
    let mut response = Response::builder().status(status).body(Body::from(body)).unwrap();
    let h = response.headers_mut();
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Some(value)) = (HeaderName::from_bytes(name.as_bytes()), value.as_str()) {
            h.append(name, HeaderValue::from_str(value).unwrap());
        }
    }
    for c in answer["cookies"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        h.append(SET_COOKIE, HeaderValue::from_str(c).unwrap());
    }
    response
}

// ------------------------------------------------------------------------------------ the stack

/// The operator function as deployed: Cognito, API Gateway with template.yaml's routes, the
/// router `src/bin/operator.rs` runs (configured from the environment keys the template sets),
/// an embedded store and the LINE stand-in.
pub struct CognitoStack {
    pub cognito: CognitoStandin,
    pub gateway: ApiGatewayStandin,
    pub console: ConsoleConfig,
    /// What template.yaml would put in the operator function's environment (console keys).
    pub environment: Vec<(&'static str, String)>,
    pub service: Service,
    pub store: Arc<dyn Store>,
    pub line: LineStandin,
    _dir: tempfile::TempDir,
}

impl CognitoStack {
    pub async fn start(users: Vec<StandinUser>, settings_toml: &str) -> Self {
        let (listener, api_url) = ApiGatewayStandin::bind().await;
        let console_url = format!("{api_url}/console/");
        let cognito = CognitoStandin::start(CognitoOptions {
            client_id: random(26),
            callback_urls: vec![console_url.clone()],
            logout_urls: vec![console_url.clone()],
            allowed_origins: vec![api_url.clone()],
            users,
        })
        .await;
        let environment = vec![
            ("CONSOLE_AUTH", "cognito".to_owned()),
            ("COGNITO_DOMAIN", cognito.domain()),
            ("COGNITO_CLIENT_ID", cognito.client_id()),
            ("CONSOLE_REDIRECT_URI", console_url.clone()),
        ];
        let env = environment.clone();
        let console = console_config::from_lookup(move |k| env.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone()))
            .expect("the console's environment as template.yaml sets it");
        let dir = tempfile::tempdir().unwrap();
        let embedded = EmbeddedStore::open(dir.path()).unwrap();
        let store: Arc<dyn Store> = Arc::new(embedded.clone());
        let line = LineStandin::start(StandinOptions::default()).await;
        let service = service(store.clone(), &line, settings_toml);
        let tz = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
        let exports = ExportJobs::local(store.clone(), dir.path().join("exports"), tz, line_oa::service::system_clock());
        let archive: Arc<dyn line_oa::blob::BlobStore> = Arc::new(line_oa::blob::dir::DirBlobStore::new(dir.path().join("archive")));
        let media = line_oa::service::operator::MediaCopies::new(archive);
        let trail = line_oa::service::audit::AuditTrail::new(Arc::new(embedded), line_oa::service::system_clock(), 365);
        let function = operator_function_router(service.operator.clone(), exports, media, trail, console.clone());
        let gateway = ApiGatewayStandin::serve(listener, api_url, template_routes(), function, cognito.clone());
        Self { cognito, gateway, console, environment, service, store, line, _dir: dir }
    }

    /// The `ConsoleUrl` output.
    pub fn console_url(&self) -> String {
        format!("{}/console/", self.gateway.url)
    }
}
