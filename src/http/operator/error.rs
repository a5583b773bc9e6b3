//! Operator API failures as HTTP: JSON `{error, message}`, 4xx saying what to fix.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::line_api::LineApiError;
use crate::service::operator::OperatorError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("a valid operator credential is required (Authorization: Bearer ...)")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("no such route")]
    NoRoute,
    #[error("this route does not take that method")]
    MethodNotAllowed,
    #[error(transparent)]
    Operator(#[from] OperatorError),
}

impl Failure {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            Self::NoRoute => (StatusCode::NOT_FOUND, "no_route"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Operator(e) => match e {
                OperatorError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                OperatorError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid"),
                OperatorError::Limit(_) => (StatusCode::UNPROCESSABLE_ENTITY, "limit_reached"),
                OperatorError::NotAllowed(_) => (StatusCode::CONFLICT, "not_allowed"),
                OperatorError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
                OperatorError::Line(LineApiError::Unavailable { .. }) => (StatusCode::SERVICE_UNAVAILABLE, "line_unavailable"),
                OperatorError::Line(_) => (StatusCode::BAD_GATEWAY, "line_refused"),
                OperatorError::Store(StoreError::Conflict(_)) => (StatusCode::CONFLICT, "conflict"),
                OperatorError::Store(StoreError::Invalid { .. }) => (StatusCode::BAD_REQUEST, "invalid"),
                OperatorError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
                OperatorError::Archive(_) => (StatusCode::SERVICE_UNAVAILABLE, "archive_unavailable"),
            },
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error() && !matches!(self, Self::Operator(OperatorError::Line(_))) {
            tracing::error!(error = %self, "operator request failed");
            "temporarily unavailable; try again".to_owned()
        } else {
            tracing::info!(status = status.as_u16(), code, "operator request refused");
            self.to_string()
        };
        (status, Json(json!({ "error": code, "message": message }))).into_response()
    }
}
