//! Tags, canned replies and (admin) settings routes.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::conversations::{filter, list_with};
use super::{conversation_id, json_body, query, Failure};
use crate::domain::staff::Staff;
use crate::service::Operator;

type Reply = Result<Json<Value>, Failure>;

pub async fn tag_user(State(operator): State<Operator>, Path((id, tag_id)): Path<(String, String)>) -> Reply {
    let state = operator.tag_user(&conversation_id(&id)?, &tag_id).await?;
    Ok(Json(json!(operator.view(&state).await?)))
}

pub async fn untag_user(State(operator): State<Operator>, Path((id, tag_id)): Path<(String, String)>) -> Reply {
    let state = operator.untag_user(&conversation_id(&id)?, &tag_id).await?;
    Ok(Json(json!(operator.view(&state).await?)))
}

pub async fn tags(State(operator): State<Operator>) -> Reply {
    let (registry, _) = operator.tag_registry().await?;
    Ok(Json(json!({ "items": registry.tags })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: String,
}

pub async fn create_tag(State(operator): State<Operator>, body: Body) -> Result<(StatusCode, Json<Value>), Failure> {
    let b: NameBody = json_body(body).await?;
    Ok((StatusCode::CREATED, Json(json!(operator.create_tag(&b.name).await?))))
}

pub async fn rename_tag(State(operator): State<Operator>, Path(tag_id): Path<String>, body: Body) -> Reply {
    let b: NameBody = json_body(body).await?;
    Ok(Json(json!(operator.rename_tag(&tag_id, &b.name).await?)))
}

pub async fn delete_tag(State(operator): State<Operator>, Path(tag_id): Path<String>) -> Result<StatusCode, Failure> {
    operator.delete_tag(&tag_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaggedQuery {
    limit: Option<usize>,
    after: Option<String>,
}

/// Users with a tag: the conversation list filtered by it.
pub async fn tagged(State(operator): State<Operator>, Path(tag_id): Path<String>, raw: RawQuery) -> Reply {
    let q: TaggedQuery = query(raw)?;
    let (registry, _) = operator.tag_registry().await?;
    if registry.get(&tag_id).is_none() {
        return Err(crate::service::operator::OperatorError::NotFound(format!("tag {tag_id:?}")).into());
    }
    list_with(&operator, filter(None, Some(tag_id), Some("user"), None)?, q.limit, q.after).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedQuery {
    q: Option<String>,
}

pub async fn canned_list(State(operator): State<Operator>, raw: RawQuery) -> Reply {
    let q: CannedQuery = query(raw)?;
    Ok(Json(json!({ "items": operator.canned_replies(q.q.as_deref()).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedBody {
    name: String,
    text: String,
}

pub async fn canned_create(State(operator): State<Operator>, body: Body) -> Result<(StatusCode, Json<Value>), Failure> {
    let b: CannedBody = json_body(body).await?;
    Ok((StatusCode::CREATED, Json(json!(operator.create_canned(&b.name, &b.text).await?))))
}

pub async fn canned_one(State(operator): State<Operator>, Path(canned_id): Path<String>) -> Reply {
    Ok(Json(json!(operator.canned_reply(&canned_id).await?.0)))
}

pub async fn canned_update(State(operator): State<Operator>, Path(canned_id): Path<String>, body: Body) -> Reply {
    let b: CannedBody = json_body(body).await?;
    Ok(Json(json!(operator.update_canned(&canned_id, &b.name, &b.text).await?)))
}

pub async fn canned_delete(State(operator): State<Operator>, Path(canned_id): Path<String>) -> Result<StatusCode, Failure> {
    operator.delete_canned(&canned_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn settings(State(operator): State<Operator>) -> Reply {
    let (settings, version) = operator.settings_for_editing().await;
    Ok(Json(json!({
        "toml": &*settings.source,
        "version": version,
        "source": if version == 0 { "file" } else { "api" },
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    toml: String,
    /// The version read with GET: a save over someone else's change is refused.
    version: u64,
}

pub async fn save_settings(State(operator): State<Operator>, Extension(staff): Extension<Staff>, body: Body) -> Reply {
    let b: SettingsBody = json_body(body).await?;
    let version = operator.save_settings(&b.toml, b.version, &staff.name).await.map_err(crate::service::operator::OperatorError::from)?;
    tracing::info!(by = %staff.name, version, "settings replaced through the operator API");
    Ok(Json(json!({ "version": version })))
}
