//! What the operator function serves on AWS: the operator API behind API Gateway's JWT authorizer
//! and the console, whose `config.json` comes from the function's environment (read by
//! `config::console`).

use axum::Router;

use super::console::{self, ConsoleConfig};
use super::operator::{self, Authenticator};
use crate::service::audit::AuditTrail;
use crate::service::export::jobs::ExportJobs;
use crate::service::operator::MediaCopies;
use crate::service::Operator;

/// The router the operator Lambda hands to `lambda_http::run`: `/api/...` (claims from the JWT
/// authorizer) and `/console/...` (no credential). Tests run this same router in-process.
pub fn operator_function_router(
    operator: Operator,
    exports: ExportJobs,
    media: MediaCopies,
    trail: AuditTrail,
    console: ConsoleConfig,
) -> Router {
    operator::router(operator, Authenticator::ApiGatewayJwt, exports, media, trail).merge(console::router(console))
}
