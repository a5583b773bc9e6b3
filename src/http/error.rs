//! The one place errors become HTTP statuses. Bodies are JSON; 5xx details go to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::domain::signature::SignatureError;
use crate::service::ServiceError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("{0}")]
    BadRequest(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Service(ServiceError::Signature(_)) => StatusCode::UNAUTHORIZED,
            ApiError::Service(ServiceError::Malformed(_)) => StatusCode::BAD_REQUEST,
            // LINE redelivers on 5xx (when redelivery is on): the event is not lost.
            ApiError::Service(ServiceError::Store(StoreError::Unavailable { .. } | StoreError::Throttled { .. })) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            // The input, not the store: a 5xx would only make LINE send it again.
            ApiError::Service(ServiceError::Store(StoreError::Invalid { .. })) => StatusCode::BAD_REQUEST,
            ApiError::Service(ServiceError::Destination { .. }) => StatusCode::FORBIDDEN,
            ApiError::Service(ServiceError::Store(_) | ServiceError::InFlight(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::TooLarge(_) => "body_too_large",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Service(ServiceError::Signature(SignatureError::Missing)) => "signature_missing",
            ApiError::Service(ServiceError::Signature(_)) => "signature_invalid",
            ApiError::Service(ServiceError::Malformed(_)) => "malformed_body",
            ApiError::Service(ServiceError::Store(StoreError::Invalid { .. })) => "invalid_input",
            ApiError::Service(ServiceError::Destination { .. }) => "wrong_destination",
            ApiError::Service(ServiceError::Store(_) | ServiceError::InFlight(_)) => "store_unavailable",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            "temporarily unavailable; LINE will redeliver".to_owned()
        } else {
            tracing::warn!(error = %self, "request refused");
            self.to_string()
        };
        (status, Json(json!({ "error": self.code(), "message": message }))).into_response()
    }
}
