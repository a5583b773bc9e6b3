//! The one place errors become HTTP statuses. Every failure either router answers is a [`Kind`];
//! [`Kind::answer`] is the table (status, stable code), and the `*_kind` functions below sort each
//! layer's errors into kinds. The webhook's [`ApiError`] and the operator API's `Failure` both
//! answer through [`respond`]. Bodies are JSON `{error, message}`: a 4xx message says what to
//! fix; an opaque answer (a 5xx) says only that it may work later, and its error goes to the log,
//! once, with its source chain.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::domain::signature::SignatureError;
use crate::errors::Chain;
use crate::line_api::LineApiError;
use crate::service::archive::ArchiveError;
use crate::service::export::ExportError;
use crate::service::operator::OperatorError;
use crate::service::ServiceError;
use crate::store::StoreError;

/// Every kind of failure the HTTP edge answers, one row of the table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    // The request itself.
    BodyTooLarge,
    BadRequest,
    SignatureMissing,
    SignatureInvalid,
    MalformedBody,
    WrongDestination,
    Unauthorized,
    Forbidden,
    NoRoute,
    MethodNotAllowed,
    // What it asks for.
    NotFound,
    Invalid,
    LimitReached,
    NotAllowed,
    Conflict,
    // What it needs.
    StoreUnavailable,
    /// The store refused the input (DynamoDB's ValidationException: a key over its size limit).
    StoreRefused,
    ReplyInFlight,
    LineUnavailable,
    LineRefused,
    ArchiveUnavailable,
    ExportStorageUnavailable,
    ExportRunnerUnavailable,
    /// Ours: data we cannot read back, a file we could not write, a bug.
    Internal,
}

impl Kind {
    pub const ALL: [Kind; 24] = [
        Kind::BodyTooLarge,
        Kind::BadRequest,
        Kind::SignatureMissing,
        Kind::SignatureInvalid,
        Kind::MalformedBody,
        Kind::WrongDestination,
        Kind::Unauthorized,
        Kind::Forbidden,
        Kind::NoRoute,
        Kind::MethodNotAllowed,
        Kind::NotFound,
        Kind::Invalid,
        Kind::LimitReached,
        Kind::NotAllowed,
        Kind::Conflict,
        Kind::StoreUnavailable,
        Kind::StoreRefused,
        Kind::ReplyInFlight,
        Kind::LineUnavailable,
        Kind::LineRefused,
        Kind::ArchiveUnavailable,
        Kind::ExportStorageUnavailable,
        Kind::ExportRunnerUnavailable,
        Kind::Internal,
    ];

    /// Kinds only the webhook answers; the operator API's document lists every other code.
    pub const WEBHOOK_ONLY: [Kind; 5] =
        [Kind::SignatureMissing, Kind::SignatureInvalid, Kind::MalformedBody, Kind::WrongDestination, Kind::ReplyInFlight];

    /// The table: the status and the stable code (the `error` of the body) of each kind.
    pub fn answer(self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Kind::BodyTooLarge => (S::PAYLOAD_TOO_LARGE, "body_too_large"),
            Kind::BadRequest => (S::BAD_REQUEST, "bad_request"),
            Kind::SignatureMissing => (S::UNAUTHORIZED, "signature_missing"),
            Kind::SignatureInvalid => (S::UNAUTHORIZED, "signature_invalid"),
            Kind::MalformedBody => (S::BAD_REQUEST, "malformed_body"),
            Kind::WrongDestination => (S::FORBIDDEN, "wrong_destination"),
            Kind::Unauthorized => (S::UNAUTHORIZED, "unauthorized"),
            Kind::Forbidden => (S::FORBIDDEN, "forbidden"),
            Kind::NoRoute => (S::NOT_FOUND, "no_route"),
            Kind::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Kind::NotFound => (S::NOT_FOUND, "not_found"),
            Kind::Invalid => (S::BAD_REQUEST, "invalid"),
            Kind::LimitReached => (S::UNPROCESSABLE_ENTITY, "limit_reached"),
            Kind::NotAllowed => (S::CONFLICT, "not_allowed"),
            Kind::Conflict => (S::CONFLICT, "conflict"),
            // LINE redelivers on 5xx (when redelivery is on): the event is not lost.
            Kind::StoreUnavailable => (S::SERVICE_UNAVAILABLE, "store_unavailable"),
            // The input, not the store: a 5xx would only make LINE send it again.
            Kind::StoreRefused => (S::BAD_REQUEST, "invalid_input"),
            Kind::ReplyInFlight => (S::SERVICE_UNAVAILABLE, "reply_in_flight"),
            Kind::LineUnavailable => (S::SERVICE_UNAVAILABLE, "line_unavailable"),
            Kind::LineRefused => (S::BAD_GATEWAY, "line_refused"),
            Kind::ArchiveUnavailable => (S::SERVICE_UNAVAILABLE, "archive_unavailable"),
            Kind::ExportStorageUnavailable => (S::SERVICE_UNAVAILABLE, "export_storage_unavailable"),
            Kind::ExportRunnerUnavailable => (S::SERVICE_UNAVAILABLE, "export_runner_unavailable"),
            Kind::Internal => (S::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }

    /// Whether the error's own message goes to the caller: a 4xx says what to fix, and what
    /// became of a staff message sent to LINE is LINE's to say (the reply logs it where it was
    /// sent). Every other 5xx is opaque.
    pub fn shows_message(self) -> bool {
        !self.answer().0.is_server_error() || matches!(self, Kind::LineRefused | Kind::LineUnavailable)
    }
}

pub fn store_kind(e: &StoreError) -> Kind {
    match e {
        StoreError::Unavailable { .. } | StoreError::Throttled { .. } => Kind::StoreUnavailable,
        StoreError::Conflict { .. } => Kind::Conflict,
        StoreError::Invalid { .. } => Kind::StoreRefused,
        StoreError::Corrupt { .. } => Kind::Internal,
    }
}

pub fn archive_kind(e: &ArchiveError) -> Kind {
    match e {
        ArchiveError::Storage { .. } => Kind::ArchiveUnavailable,
        ArchiveError::Store(e) => store_kind(e),
        ArchiveError::Corrupt { .. } => Kind::Internal,
    }
}

pub fn export_kind(e: &ExportError) -> Kind {
    match e {
        ExportError::Store(e) => store_kind(e),
        ExportError::Storage { .. } => Kind::ExportStorageUnavailable,
        ExportError::Launch { .. } => Kind::ExportRunnerUnavailable,
        ExportError::Write(_) => Kind::Internal,
        ExportError::UnknownJob(_) => Kind::NotFound,
        ExportError::Request(_) => Kind::Invalid,
    }
}

pub fn line_kind(e: &LineApiError) -> Kind {
    match e {
        LineApiError::Unavailable { .. } => Kind::LineUnavailable,
        LineApiError::InvalidReplyToken
        | LineApiError::AlreadyAccepted { .. }
        | LineApiError::OutcomeUnknown { .. }
        | LineApiError::Rejected { .. } => Kind::LineRefused,
    }
}

pub fn operator_kind(e: &OperatorError) -> Kind {
    match e {
        OperatorError::NotFound(_) => Kind::NotFound,
        OperatorError::Invalid { .. } => Kind::Invalid,
        OperatorError::Limit(_) => Kind::LimitReached,
        OperatorError::NotAllowed(_) => Kind::NotAllowed,
        OperatorError::Conflict(_) => Kind::Conflict,
        OperatorError::Line(e) => line_kind(e),
        OperatorError::Store(e) => store_kind(e),
        OperatorError::Archive(e) => archive_kind(e),
    }
}

/// The webhook's use case. LINE does not redeliver a 4xx, so only what the body itself caused
/// is one: a conflicting write while logging is a race that LINE's redelivery settles.
pub fn service_kind(e: &ServiceError) -> Kind {
    match e {
        ServiceError::Signature(SignatureError::Missing) => Kind::SignatureMissing,
        ServiceError::Signature(_) => Kind::SignatureInvalid,
        ServiceError::Malformed(_) => Kind::MalformedBody,
        ServiceError::Destination { .. } => Kind::WrongDestination,
        ServiceError::Store(StoreError::Conflict { .. }) => Kind::StoreUnavailable,
        ServiceError::Store(e) => store_kind(e),
        ServiceError::InFlight(_) => Kind::ReplyInFlight,
    }
}

/// Which router answers: what an opaque answer says, and how a refusal is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edge {
    Webhook,
    Operator,
}

/// The answer to `error`, sorted as `kind`. An opaque answer is logged here with the source
/// chain (never the body of the request); a refusal is logged briefly.
pub(crate) fn respond(edge: Edge, kind: Kind, error: &(dyn std::error::Error + 'static)) -> Response {
    let (status, code) = kind.answer();
    let message = if kind.shows_message() {
        match edge {
            Edge::Webhook => tracing::warn!(status = status.as_u16(), code, error = %error, "request refused"),
            Edge::Operator => tracing::info!(status = status.as_u16(), code, "operator request refused"),
        }
        error.to_string()
    } else {
        match edge {
            Edge::Webhook => tracing::error!(status = status.as_u16(), code, error = %Chain(error), "request failed"),
            Edge::Operator => tracing::error!(status = status.as_u16(), code, error = %Chain(error), "operator request failed"),
        }
        match edge {
            Edge::Webhook => "temporarily unavailable; LINE will redeliver",
            Edge::Operator => "temporarily unavailable; try again",
        }
        .to_owned()
    };
    (status, Json(json!({ "error": code, "message": message }))).into_response()
}

/// The webhook's (and the local dry-run endpoint's) failures.
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
    pub fn kind(&self) -> Kind {
        match self {
            ApiError::TooLarge(_) => Kind::BodyTooLarge,
            ApiError::BadRequest(_) => Kind::BadRequest,
            ApiError::Service(e) => service_kind(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        respond(Edge::Webhook, self.kind(), &self)
    }
}

#[cfg(test)]
mod tests;
