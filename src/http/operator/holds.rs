//! Legal hold (admin): a held conversation's items lose their TTL until released.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{conversation_id, json_body, Failure};
use crate::domain::staff::Staff;
use crate::service::hold::HoldError;
use crate::service::operator::OperatorError;
use crate::service::Operator;

type Reply = Result<Json<Value>, Failure>;

impl From<HoldError> for Failure {
    fn from(e: HoldError) -> Self {
        match e {
            HoldError::MissingReason => OperatorError::invalid("reason", e.to_string()).into(),
            HoldError::Store(e) => OperatorError::Store(e).into(),
        }
    }
}

pub async fn list(State(operator): State<Operator>) -> Reply {
    Ok(Json(json!({ "items": operator.holds().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    reason: String,
}

pub async fn hold(State(operator): State<Operator>, Path(id): Path<String>, Extension(staff): Extension<Staff>, body: Body) -> Reply {
    let id = conversation_id(&id)?;
    let b: HoldBody = json_body(body).await?;
    let change = operator.set_hold(&id, true, &b.reason).await?;
    tracing::info!(by = %staff.name, conversation = %id, "legal hold set");
    Ok(Json(json!(change)))
}

pub async fn release(State(operator): State<Operator>, Path(id): Path<String>, Extension(staff): Extension<Staff>) -> Reply {
    let id = conversation_id(&id)?;
    let change = operator.set_hold(&id, false, "").await?;
    tracing::info!(by = %staff.name, conversation = %id, "legal hold released");
    Ok(Json(json!(change)))
}
