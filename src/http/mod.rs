//! The HTTP edge: one axum Router served by the local server and, through `lambda_http`, by Lambda.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::domain::explain::{explain, ExplainRequest, Explanation};
use crate::domain::signature::SIGNATURE_HEADER;
use crate::service::{Ingest, Operator};

pub mod console;
pub mod console_config;
pub mod error;
pub mod operator;

pub use error::ApiError;

/// LINE's webhook bodies are small; anything over 1 MiB is refused before it is read whole.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Called after events are logged: the local server hands them to its background worker; on
/// Lambda the DynamoDB Stream does that job, so it is a no-op.
pub type OnLogged = Arc<dyn Fn(Logged<'_>) + Send + Sync>;

pub use crate::service::Logged;

/// The hook for deployments where the store itself triggers the handling (Lambda, tests).
pub fn ignore_logged() -> OnLogged {
    Arc::new(|_: Logged<'_>| {})
}

#[derive(Clone)]
pub struct AppState {
    pub ingest: Ingest,
    pub on_logged: OnLogged,
}

pub fn router(state: AppState) -> Router {
    Router::new().route("/webhook", post(webhook)).route("/health", get(health)).with_state(state)
}

/// The dry-run endpoint of the local server (see `explain`), with the settings in force, at
/// the operator's now.
pub fn explain_routes(operator: Operator) -> Router {
    Router::new().route("/explain", post(explain_handler)).with_state(operator)
}

async fn explain_handler(State(operator): State<Operator>, body: Body) -> Result<Json<Explanation>, ApiError> {
    let body = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| ApiError::TooLarge(MAX_BODY_BYTES))?;
    let request: ExplainRequest = serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
    let settings = operator.settings().await;
    let now = jiff::Timestamp::from_millisecond(operator.now_ms())
        .map_err(|e| ApiError::BadRequest(format!("the clock is out of range: {e}")))?;
    explain(&settings.rules, &request, now).map(Json).map_err(|e| ApiError::BadRequest(e.to_string()))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let body = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| ApiError::TooLarge(MAX_BODY_BYTES))?;
    // HeaderMap lookups are case-insensitive.
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let result = state.ingest.ingest(&body, signature).await;
    if let Some(logged) = Logged::after(&result) {
        (state.on_logged)(logged);
    }
    let summary = result?;
    Ok(Json(json!({ "status": "ok", "logged": summary.new, "duplicates": summary.duplicates, "stale": summary.stale })))
}
