//! Export jobs: start one (a conversation, a set, a tag, or everything, in a time range, as CSV or
//! XLSX), then poll it for its link. The job itself is `service::export::jobs`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::{json_body, Failure};
use crate::blob::Link;
use crate::domain::export_job::{ExportJobId, ExportRequest, Scope};
use crate::domain::staff::{Role, Staff};
use crate::service::export::jobs::{ExportJobs, JobView};
use crate::service::export::ExportError;
use crate::service::operator::OperatorError;
use crate::service::Operator;

/// Bad requests and unknown jobs read as the rest of the API's (naming the field, the id);
/// storage and launch failures keep their own kinds (`http::error::export_kind`).
impl From<ExportError> for Failure {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Request(problem) => OperatorError::invalid("scope", problem.to_string()).into(),
            ExportError::UnknownJob(id) => OperatorError::NotFound(format!("export job {id}")).into(),
            ExportError::Store(e) => OperatorError::Store(e).into(),
            other => Failure::Export(other),
        }
    }
}

fn job_id(raw: &str) -> Result<ExportJobId, Failure> {
    ExportJobId::parse(raw).ok_or_else(|| OperatorError::NotFound(format!("export job {raw:?}")).into())
}

/// A finished local job's link is a file on this machine: hand out our download route instead.
fn view_json(view: JobView) -> Value {
    let id = view.job.id.to_string();
    let mut out = json!(view);
    if matches!(view.link, Some(Link::File { .. })) {
        out["link"] = json!({ "kind": "url", "url": format!("/api/exports/{id}/file"), "expires_in_secs": null });
    }
    out
}

/// A tag scope (`{"kind": "tag", "tag_id": …}`) becomes the set of users with that tag now.
async fn resolve_tag(operator: &Operator, body: &mut Value) -> Result<(), Failure> {
    if body["scope"]["kind"] != "tag" {
        return Ok(());
    }
    let tag = body["scope"]["tag_id"].as_str().ok_or_else(|| OperatorError::invalid("scope.tag_id", "required for a tag scope"))?;
    let ids = operator.conversations_tagged(tag).await?;
    body["scope"] = json!({ "kind": "conversations", "ids": ids });
    Ok(())
}

pub async fn start(
    State(operator): State<Operator>,
    Extension(exports): Extension<ExportJobs>,
    Extension(staff): Extension<Staff>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), Failure> {
    let mut raw: Value = json_body(body).await?;
    resolve_tag(&operator, &mut raw).await?;
    let request: ExportRequest = serde_json::from_value(raw).map_err(|e| Failure::BadRequest(format!("invalid JSON body: {e}")))?;
    // Everything at once is the whole chat log: an admin's call.
    if matches!(request.scope, Scope::All) && !staff.role.allows(Role::Admin) {
        return Err(Failure::Forbidden(format!("{} is an operator; exporting every conversation needs the admin role", staff.name)));
    }
    let job = exports.start_by(request, Some(&staff.name)).await?;
    tracing::info!(by = %staff.name, job = %job.id, "export job started");
    Ok((StatusCode::ACCEPTED, Json(view_json(JobView { job, link: None }))))
}

pub async fn status(Extension(exports): Extension<ExportJobs>, Path(id): Path<String>) -> Result<Json<Value>, Failure> {
    let id = job_id(&id)?;
    let view = exports.status(&id).await?.ok_or_else(|| OperatorError::NotFound(format!("export job {id}")))?;
    Ok(Json(view_json(view)))
}

/// The finished file: streamed from the local folder, or a redirect to the presigned S3 link.
pub async fn file(Extension(exports): Extension<ExportJobs>, Path(id): Path<String>) -> Result<Response, Failure> {
    let id = job_id(&id)?;
    let view = exports.status(&id).await?.ok_or_else(|| OperatorError::NotFound(format!("export job {id}")))?;
    match view.link {
        Some(Link::Url { url, .. }) => Ok(Redirect::temporary(&url).into_response()),
        Some(Link::File { path }) => {
            let file = tokio::fs::File::open(&path).await.map_err(ExportError::storage_io)?;
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("export").to_owned();
            let kind = if name.ends_with(".xlsx") {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            } else {
                "text/csv; charset=utf-8"
            };
            let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
            Ok(([(header::CONTENT_TYPE, kind.to_owned()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))], body)
                .into_response())
        }
        None => Err(OperatorError::Conflict(format!("export job {id} has no file yet; poll GET /api/exports/{id}")).into()),
    }
}
