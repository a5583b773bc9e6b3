//! Operator API failures: what the routes refuse or fail with, sorted into the edge's kinds
//! (`http::error`, the one status table). JSON `{error, message}`, 4xx saying what to fix.

use axum::response::{IntoResponse, Response};

use crate::http::error::{export_kind, operator_kind, respond, Edge, Kind};
use crate::service::export::ExportError;
use crate::service::operator::OperatorError;

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
    /// An export job's storage, launch or file failed (its bad requests are `Operator`'s).
    #[error(transparent)]
    Export(ExportError),
}

impl Failure {
    pub fn kind(&self) -> Kind {
        match self {
            Self::Unauthorized => Kind::Unauthorized,
            Self::Forbidden(_) => Kind::Forbidden,
            Self::BadRequest(_) => Kind::BadRequest,
            Self::TooLarge(_) => Kind::BodyTooLarge,
            Self::NoRoute => Kind::NoRoute,
            Self::MethodNotAllowed => Kind::MethodNotAllowed,
            Self::Operator(e) => operator_kind(e),
            Self::Export(e) => export_kind(e),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        respond(Edge::Operator, self.kind(), &self)
    }
}
