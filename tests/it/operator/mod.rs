//! The operator API end to end: through the local server's router over HTTP (bearer tokens)
//! and through the Lambda handler in-process (API Gateway events with JWT claims), each on the
//! embedded store and on DynamoDB over HTTP (moto on 127.0.0.1), with the LINE stand-in.

use std::sync::Arc;

use axum::Router;
use line_oa::domain::ids::ConversationId;
use line_oa::domain::staff::hash_token;
use line_oa::domain::staff::TokenTable;
use line_oa::http::operator::{router, Authenticator};
use line_oa::service::export::jobs::ExportJobs;
use line_oa::service::Service;
use line_oa::store::dynamodb::DynamoStore;
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{LogItem, PageRequest, Store};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::support::apps::{service, text_body_at, SETTINGS};
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::{create_bucket, create_table, dynamo_client, s3_client, sign};

mod access;
mod audit;
mod bad_input;
mod concurrency;
mod console_api;
mod failures;
mod faq;
mod openapi;
mod walk;

pub const ADMIN_TOKEN: &str = "loa_admin_token_for_tests_0123456789abcdef0123456789abcdef";
pub const OPERATOR_TOKEN: &str = "loa_operator_token_for_tests_0123456789abcdef0123456789abcd";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// The local server's router, over real HTTP, bearer tokens.
    Local,
    /// The Lambda handler in-process: API Gateway v2 events carrying the JWT authorizer's claims.
    Lambda,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Dynamo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Admin,
    Operator,
    /// No credential at all.
    Nobody,
    /// A credential that is not valid: an unknown token; on Lambda, claims without a staff group.
    Wrong,
}

pub struct Harness {
    pub entry: Entry,
    pub exports: ExportJobs,
    pub service: Service,
    pub store: Arc<dyn Store>,
    pub standin: LineStandin,
    pub archive: Arc<dyn line_oa::blob::BlobStore>,
    router: Router,
    url: Option<String>,
    http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Harness {
    pub async fn new(entry: Entry, backend: Backend) -> Self {
        let (mut store_embedded, mut store_dynamo) = (None, None);
        let (store, dir): (Arc<dyn Store>, _) = match backend {
            Backend::Embedded => {
                let dir = tempfile::tempdir().unwrap();
                let store = EmbeddedStore::open(dir.path()).unwrap();
                store_embedded = Some(store.clone());
                (Arc::new(store), Some(dir))
            }
            Backend::Dynamo => {
                let client = dynamo_client().await;
                let table = create_table(&client).await;
                let store = DynamoStore::new(client, table);
                store_dynamo = Some(store.clone());
                (Arc::new(store), None)
            }
        };
        let standin = LineStandin::start(StandinOptions::default()).await;
        let service = service(store.clone(), &standin, SETTINGS);
        let auth = match entry {
            Entry::Local => {
                let spec = format!("alice:admin:{},bob:operator:{}", hash_token(ADMIN_TOKEN), hash_token(OPERATOR_TOKEN));
                Authenticator::Tokens(Arc::new(TokenTable::parse(&spec).unwrap()))
            }
            Entry::Lambda => Authenticator::ApiGatewayJwt,
        };
        let tz = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
        let clock = line_oa::service::system_clock();
        let exports = match backend {
            Backend::Embedded => ExportJobs::local(store.clone(), dir.as_ref().unwrap().path().to_path_buf(), tz, clock),
            Backend::Dynamo => {
                let s3 = s3_client().await;
                let bucket = create_bucket(&s3).await;
                ExportJobs::on_aws(store.clone(), s3, &bucket, std::time::Duration::from_secs(900), tz, clock)
            }
        };
        let archive: Arc<dyn line_oa::blob::BlobStore> = match &dir {
            Some(dir) => Arc::new(line_oa::blob::dir::DirBlobStore::new(dir.path().join("archive"))),
            None => {
                let s3 = s3_client().await;
                Arc::new(line_oa::blob::s3::S3BlobStore::new(s3.clone(), create_bucket(&s3).await))
            }
        };
        let audit_log: Arc<dyn line_oa::store::AuditLog> = match backend {
            Backend::Embedded => Arc::new(store_embedded.clone().expect("the embedded store")),
            Backend::Dynamo => Arc::new(store_dynamo.clone().expect("the DynamoDB store")),
        };
        let trail = line_oa::service::audit::AuditTrail::new(audit_log, line_oa::service::system_clock(), 365);
        let router = router(
            service.operator.clone(),
            auth,
            exports.clone(),
            line_oa::service::operator::MediaCopies::new(archive.clone()),
            trail.clone(),
        );
        let url = match entry {
            Entry::Local => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("http://{}", listener.local_addr().unwrap());
                let app = router.clone();
                tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
                Some(url)
            }
            Entry::Lambda => None,
        };
        Self { entry, exports, service, store, standin, archive, router, url, http: reqwest::Client::new(), _dir: dir }
    }

    pub async fn call(&self, who: Who, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body_text = body.map(|b| b.to_string());
        self.call_raw(who, method, path, body_text.as_deref()).await
    }

    pub async fn call_raw(&self, who: Who, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        match self.entry {
            Entry::Local => {
                let url = format!("{}{path}", self.url.as_ref().unwrap());
                let mut request = self.http.request(method.parse().unwrap(), url);
                match who {
                    Who::Admin => request = request.bearer_auth(ADMIN_TOKEN),
                    Who::Operator => request = request.bearer_auth(OPERATOR_TOKEN),
                    Who::Wrong => request = request.bearer_auth("loa_not_a_token"),
                    Who::Nobody => {}
                }
                if let Some(b) = body {
                    request = request.header("content-type", "application/json").body(b.to_owned());
                }
                let response = request.send().await.expect("local operator API reachable");
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                (status, serde_json::from_str(&text).unwrap_or(Value::Null))
            }
            Entry::Lambda => {
                let event = api_gateway_event(who, method, path, body);
                let request = lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event");
                let response = self.router.clone().oneshot(request).await.unwrap();
                let status = response.status().as_u16();
                let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.unwrap();
                (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
            }
        }
    }

    /// A GET whose answer is a file: its status and bytes, following a redirect (as a browser).
    /// Puts a media copy into the archive, as the archiver stores one.
    pub async fn archive_media(&self, conversation: &str, message_id: &str, content_type: &str, bytes: &[u8]) {
        use line_oa::domain::media::{media_key, media_meta_key, MediaMessage, MediaRef};
        let m = MediaMessage {
            conversation: line_oa::domain::ids::ConversationId::parse(conversation).unwrap(),
            message_id: message_id.into(),
            message_type: "image".into(),
        };
        self.archive.put(&media_key(&m), bytes.to_vec(), content_type).await.unwrap();
        let reference = MediaRef { key: media_key(&m), content_type: content_type.into(), size: bytes.len() as u64, sha256: String::new() };
        self.archive.put(&media_meta_key(&m), serde_json::to_vec(&reference).unwrap(), "application/json").await.unwrap();
    }

    pub async fn download(&self, path: &str) -> (u16, Vec<u8>) {
        let (status, bytes, location) = match self.entry {
            Entry::Local => {
                let response =
                    self.http.get(format!("{}{path}", self.url.as_ref().unwrap())).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
                (response.status().as_u16(), response.bytes().await.unwrap().to_vec(), None)
            }
            Entry::Lambda => {
                let event = api_gateway_event(Who::Admin, "GET", path, None);
                let request = lambda_http::request::from_str(&event.to_string()).unwrap();
                let response = self.router.clone().oneshot(request).await.unwrap();
                let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
                let status = response.status().as_u16();
                (status, axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap().to_vec(), location)
            }
        };
        match location {
            // A presigned S3 link (moto on 127.0.0.1): what the browser fetches next.
            Some(url) if (300..400).contains(&status) => {
                let response = self.http.get(url).send().await.unwrap();
                (response.status().as_u16(), response.bytes().await.unwrap().to_vec())
            }
            _ => (status, bytes),
        }
    }

    /// A user writes: the webhook logs the event and the worker handles it, as in production.
    pub async fn user_writes(&self, user: &str, text: &str, event_id: &str, at_ms: i64) -> ConversationId {
        let body = text_body_at(event_id, user, text, &format!("token-{event_id}"), at_ms);
        self.service.ingest.ingest(&body, Some(&sign(&body))).await.expect("ingest");
        let id = ConversationId::user(user);
        let page = self.store.log(&id, &PageRequest { limit: 1000, after: None }).await.unwrap();
        for item in page.items {
            if let LogItem::In(record) = item {
                if record.event_id.as_str() == event_id {
                    self.service.handler.handle(&record).await.expect("handle");
                }
            }
        }
        id
    }
}

/// What API Gateway (HTTP API, payload 2.0) hands the function after its JWT authorizer.
fn api_gateway_event(who: Who, method: &str, path: &str, body: Option<&str>) -> Value {
    let (raw_path, raw_query) = path.split_once('?').unwrap_or((path, ""));
    let claims = match who {
        Who::Admin => Some(json!({ "cognito:username": "alice", "cognito:groups": "[admin operator]", "sub": "a-1" })),
        Who::Operator => Some(json!({ "cognito:username": "bob", "cognito:groups": "[operator]", "sub": "b-1" })),
        Who::Wrong => Some(json!({ "cognito:username": "eve", "cognito:groups": "[customers]", "sub": "e-1" })),
        Who::Nobody => None,
    };
    let mut context = json!({
        "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
        "http": { "method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "it" },
        "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": "$default", "stage": "$default", "time": "25/Nov/2026:00:00:00 +0000", "timeEpoch": 0
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({ "jwt": { "claims": claims, "scopes": null } });
    }
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": raw_path, "rawQueryString": raw_query,
        "headers": { "content-type": "application/json", "host": "api.example.com" },
        "requestContext": context,
        "body": body, "isBase64Encoded": false
    })
}

/// Every operator-visible thing, read as admin: equal before and after = nothing changed.
pub async fn snapshot(h: &Harness, conversations: &[&str]) -> Value {
    let mut out = json!({});
    for path in [
        "/api/conversations?limit=200",
        "/api/conversations?status=spam",
        "/api/tags",
        "/api/canned-replies",
        "/api/settings",
        "/api/holds",
    ] {
        out[path] = h.call(Who::Admin, "GET", path, None).await.1;
    }
    for c in conversations {
        for suffix in ["", "/messages", "/notes"] {
            let path = format!("/api/conversations/{c}{suffix}");
            out[&path] = h.call(Who::Admin, "GET", &path, None).await.1;
        }
    }
    out
}
