//! The audit trail at the edge: each route the table marks is recorded after it ran, with its
//! status, by one middleware, so no handler can forget. Only a few safe request fields are
//! kept (never a message's or a note's text).

use axum::body::{to_bytes, Body};
use axum::extract::{RawPathParams, RawQuery, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::{Extension, Json};
use lambda_http::request::RequestContext;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{query, Failure, MAX_BODY_BYTES};
use crate::domain::audit::AuditFilter;
use crate::domain::staff::Staff;
use crate::service::audit::{Action, AuditTrail};

/// Request fields worth keeping: what was chosen, never what was written.
const SAFE_FIELDS: [&str; 6] = ["status", "mode", "minutes", "format", "from_ms", "to_ms"];
const REQUEST_ID_HEADER: &str = "x-request-id";

/// API Gateway's request id on Lambda; locally a fresh one, returned in `x-request-id`.
fn request_id(request: &Request) -> String {
    match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) if ctx.request_id.is_some() => ctx.request_id.clone().unwrap_or_default(),
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

fn detail(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let mut kept = serde_json::Map::new();
    for field in SAFE_FIELDS {
        if let Some(v) = value.get(field).filter(|v| v.is_string() || v.is_number()) {
            kept.insert(field.to_owned(), v.clone());
        }
    }
    if let Some(kind) = value.pointer("/scope/kind") {
        kept.insert("scope".to_owned(), kind.clone());
    }
    (!kept.is_empty()).then(|| Value::Object(kept).to_string())
}

/// Wraps one route: `action` is its name in the trail.
pub async fn record(State((trail, action)): State<(AuditTrail, &'static str)>, request: Request, next: Next) -> Result<Response, Failure> {
    let staff = request.extensions().get::<Staff>().cloned().ok_or(Failure::Unauthorized)?;
    // Paging a conversation up or polling its tail is not another read of it.
    if action == "conversation.read" && request.uri().query().is_some_and(|q| q.contains("after=") || q.contains("before=")) {
        return Ok(next.run(request).await);
    }
    let id = request_id(&request);
    let (mut parts, body) = request.into_parts();
    let params = {
        let mut request = Request::from_parts(parts.clone(), Body::empty());
        use axum::RequestExt;
        request.extract_parts::<RawPathParams>().await.ok()
    };
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| Failure::TooLarge(MAX_BODY_BYTES))?;
    let kept = detail(&bytes);
    parts.headers.remove(REQUEST_ID_HEADER);
    let mut response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (mut conversation, mut targets) = (None, Vec::new());
    for (name, value) in params.iter().flat_map(|p| p.iter()) {
        match name {
            "id" => conversation = Some(value.to_owned()),
            other => targets.push(format!("{other}={value}")),
        }
    }
    let status = response.status().as_u16();
    let entry = Action { name: action, conversation, targets, detail: kept, request_id: id.clone(), status };
    if let Err(e) = trail.record(&staff, entry).await {
        // The action happened; failing its answer now would only invite a repeat.
        tracing::error!(alarm = "AuditWriteFailures", error = %e, action, actor = %staff.name, request_id = %id, "audit record not written");
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    actor: Option<String>,
    conversation: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

/// `GET /api/audit` (admin).
pub async fn list(Extension(trail): Extension<AuditTrail>, raw: RawQuery) -> Result<Json<Value>, Failure> {
    let q: AuditQuery = query(raw)?;
    let filter = AuditFilter {
        actor: q.actor,
        conversation: q.conversation,
        action: q.action,
        from_ms: super::conversations::instant("from", q.from.as_deref())?,
        to_ms: super::conversations::instant("to", q.to.as_deref())?,
    };
    let page = trail.list(&filter, q.limit, q.after).await?;
    Ok(Json(json!({ "items": page.items, "next": page.next })))
}
