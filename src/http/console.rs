//! The operator console: the static files under `console/`, embedded in the binary (read from
//! disk in debug builds, so an edit shows on reload), and `config.json`, which tells the page
//! how staff sign in. No credential is needed for any of it: the data is behind `/api`.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rust_embed::Embed;
use serde::Serialize;

#[derive(Embed)]
#[folder = "console/"]
#[exclude = "README.md"]
struct Files;

/// How the console signs staff in; served as `/console/config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "auth", rename_all = "snake_case")]
pub enum ConsoleConfig {
    /// The local server: an operator token (`line-oa operator-token`), checked with `GET /api/me`.
    Token,
    /// AWS: Cognito's managed login, authorization code + PKCE, with a public app client.
    Cognito {
        /// `https://<prefix>.auth.<region>.amazoncognito.com`
        cognito_domain: String,
        client_id: String,
        redirect_uri: String,
        logout_uri: String,
        /// Where `/api` is, when not on the console's own origin.
        #[serde(skip_serializing_if = "Option::is_none")]
        api_base: Option<String>,
    },
}

impl ConsoleConfig {
    /// Origins besides our own the page may call (`connect-src`): Cognito's token endpoint, the API.
    fn extra_origins(&self) -> Vec<&str> {
        match self {
            Self::Token => Vec::new(),
            Self::Cognito { cognito_domain, api_base, .. } => {
                let mut origins = vec![origin(cognito_domain)];
                origins.extend(api_base.as_deref().map(origin));
                origins
            }
        }
    }

    /// The page's Content-Security-Policy: our own scripts and styles only, no inline code, no
    /// eval; images from us, from blobs (media fetched with the bearer header) and https
    /// (LINE profile pictures, presigned archive links).
    pub fn content_security_policy(&self) -> String {
        let connect = std::iter::once("'self'").chain(self.extra_origins()).collect::<Vec<_>>().join(" ");
        format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: https:; media-src 'self' blob: https:; \
             connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    }
}

/// `https://host[:port]` of a URL (the part a CSP source names).
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

#[derive(Clone)]
struct Console {
    config: ConsoleConfig,
    csp: HeaderValue,
}

/// `/console`, `/console/`, `/console/config.json` and `/console/<file>`.
pub fn router(config: ConsoleConfig) -> Router {
    let csp = HeaderValue::from_str(&config.content_security_policy()).expect("a CSP is a valid header value");
    Router::new()
        .route("/console", get(|| async { (StatusCode::PERMANENT_REDIRECT, [(LOCATION, "/console/")]) }))
        .route("/console/", get(index))
        .route("/console/config.json", get(config_json))
        .route("/console/{*path}", get(file))
        .with_state(Console { config, csp })
}

async fn config_json(State(console): State<Console>) -> Response {
    ([(CACHE_CONTROL, "no-store")], Json(console.config)).into_response()
}

async fn index(State(console): State<Console>, headers: HeaderMap) -> Response {
    serve("index.html", &console, &headers)
}

async fn file(State(console): State<Console>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &console, &headers)
}

fn serve(path: &str, console: &Console, headers: &HeaderMap) -> Response {
    let Some(file) = Files::get(path) else {
        return (StatusCode::NOT_FOUND, [(CONTENT_TYPE, "text/plain; charset=utf-8")], "not found").into_response();
    };
    let hash = file.metadata.sha256_hash();
    let etag = format!("\"{}\"", hex16(&hash));
    // Names are not hashed, so the browser revalidates every time; an unchanged file is a 304.
    let cache =
        [(CACHE_CONTROL, HeaderValue::from_static("no-cache")), (ETAG, HeaderValue::from_str(&etag).expect("hex is a valid header"))];
    if headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let content_type = match file.metadata.mimetype() {
        t if t.starts_with("text/") || t.ends_with("javascript") || t.ends_with("json") => format!("{t}; charset=utf-8"),
        t => t.to_owned(),
    };
    let mut response = (cache, file.data.into_owned()).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    h.insert(CONTENT_SECURITY_POLICY, console.csp.clone());
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

fn hex16(hash: &[u8; 32]) -> String {
    hex::encode(&hash[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_cognito_and_a_separate_api_only() {
        assert!(!ConsoleConfig::Token.content_security_policy().contains("https://"));
        let cognito = ConsoleConfig::Cognito {
            cognito_domain: "https://shop.auth.ap-northeast-1.amazoncognito.com".into(),
            client_id: "abc".into(),
            redirect_uri: "https://x.example/console/".into(),
            logout_uri: "https://x.example/console/".into(),
            api_base: Some("https://api.example/v1/".into()),
        };
        let csp = cognito.content_security_policy();
        assert!(csp.contains("connect-src 'self' https://shop.auth.ap-northeast-1.amazoncognito.com https://api.example;"), "{csp}");
        assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe"), "{csp}");
    }

    #[test]
    fn config_json_says_how_to_sign_in() {
        assert_eq!(serde_json::to_value(ConsoleConfig::Token).unwrap(), serde_json::json!({ "auth": "token" }));
    }
}
