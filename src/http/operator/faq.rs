//! FAQ routes: list and try (staff), add, change and remove (admins, as for the settings the
//! FAQ lives in). Every change names the settings version it was read at.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{json_body, query, Failure};
use crate::domain::faq::Faq;
use crate::domain::staff::Staff;
use crate::service::operator::FaqDraft;
use crate::service::Operator;

type Reply = Result<Json<Value>, Failure>;

pub async fn list(State(operator): State<Operator>) -> Reply {
    Ok(Json(json!(operator.faqs().await)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryBody {
    entry: Faq,
    /// The settings version the FAQ was read at (`GET /api/faq`).
    version: u64,
}

pub async fn create(
    State(operator): State<Operator>,
    Extension(staff): Extension<Staff>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), Failure> {
    let b: EntryBody = json_body(body).await?;
    let id = b.entry.id.trim().to_owned();
    let version = operator.save_faq(None, b.entry, b.version, &staff.name).await?;
    tracing::info!(by = %staff.name, faq = %id, version, "FAQ added");
    Ok((StatusCode::CREATED, Json(json!({ "version": version }))))
}

pub async fn update(State(operator): State<Operator>, Extension(staff): Extension<Staff>, Path(faq_id): Path<String>, body: Body) -> Reply {
    let b: EntryBody = json_body(body).await?;
    let version = operator.save_faq(Some(&faq_id), b.entry, b.version, &staff.name).await?;
    tracing::info!(by = %staff.name, faq = %faq_id, version, "FAQ changed");
    Ok(Json(json!({ "version": version })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionQuery {
    version: u64,
}

pub async fn delete(
    State(operator): State<Operator>,
    Extension(staff): Extension<Staff>,
    Path(faq_id): Path<String>,
    raw: RawQuery,
) -> Reply {
    let q: VersionQuery = query(raw)?;
    let version = operator.delete_faq(&faq_id, q.version, &staff.name).await?;
    tracing::info!(by = %staff.name, faq = %faq_id, version, "FAQ removed");
    Ok(Json(json!({ "version": version })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TryBody {
    text: String,
    #[serde(default)]
    draft: Option<FaqDraft>,
}

pub async fn try_it(State(operator): State<Operator>, body: Body) -> Reply {
    let b: TryBody = json_body(body).await?;
    Ok(Json(json!(operator.try_faq(&b.text, b.draft).await?)))
}
