//! The operator API (`/api/...`): the staff side of LINE's chat screen. One route table feeds
//! the router and the test that holds it to `openapi/operator-api.yml`.

use axum::body::{to_bytes, Body};
use axum::extract::RawQuery;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::{Extension, Router};
use serde::de::DeserializeOwned;

use crate::domain::ids::ConversationId;
use crate::domain::staff::Role;
use crate::service::audit::AuditTrail;
use crate::service::export::jobs::ExportJobs;
use crate::service::operator::MediaCopies;
use crate::service::Operator;

mod audit;
mod auth;
mod catalog;
mod conversations;
mod error;
mod exports;
mod faq;
mod holds;

pub use auth::{role_from_groups, Authenticator};
pub use error::Failure;

/// Operator requests are small JSON; settings TOML is the largest.
const MAX_BODY_BYTES: usize = 256 * 1024;

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub role: Role,
    /// The action's name in the audit trail; None for reads that are not a conversation's.
    pub audit: Option<&'static str>,
    handler: MethodRouter<Operator>,
}

fn route(method: &'static str, path: &'static str, role: Role, handler: MethodRouter<Operator>) -> Route {
    Route { method, path, role, audit: None, handler }
}

impl Route {
    fn audited(mut self, action: &'static str) -> Self {
        self.audit = Some(action);
        self
    }
}

/// Every route the operator API serves.
pub fn routes() -> Vec<Route> {
    use catalog as cat;
    use conversations as conv;
    use Role::{Admin, Operator};
    vec![
        route("GET", "/api/me", Operator, get(conv::me)),
        route("GET", "/api/conversations", Operator, get(conv::list)),
        route("GET", "/api/conversations/{id}", Operator, get(conv::one)).audited("conversation.read"),
        route("GET", "/api/inbox", Operator, get(conv::inbox)),
        route("GET", "/api/conversations/{id}/messages", Operator, get(conv::messages)).audited("conversation.read"),
        route("PUT", "/api/conversations/{id}/name", Operator, put(conv::name)).audited("name.set"),
        route("GET", "/api/conversations/{id}/media/{message_id}", Operator, get(conv::media)),
        route("GET", "/api/conversations/{id}/media/{message_id}/content", Operator, get(conv::media_content)).audited("media.read"),
        route("POST", "/api/conversations/{id}/messages", Operator, post(conv::send)).audited("reply"),
        route("POST", "/api/conversations/{id}/read", Operator, post(conv::read)).audited("conversation.mark_read"),
        route("PUT", "/api/conversations/{id}/status", Operator, put(conv::status)).audited("status"),
        route("PUT", "/api/conversations/{id}/pin", Operator, put(conv::pin)).audited("pin.set"),
        route("DELETE", "/api/conversations/{id}/pin", Operator, delete(conv::unpin)).audited("pin.release"),
        route("PUT", "/api/conversations/{id}/spam", Operator, put(conv::spam)).audited("spam.set"),
        route("DELETE", "/api/conversations/{id}/spam", Operator, delete(conv::unspam)).audited("spam.clear"),
        route("GET", "/api/conversations/{id}/notes", Operator, get(conv::notes)),
        route("POST", "/api/conversations/{id}/notes", Operator, post(conv::add_note)).audited("note.add"),
        route("DELETE", "/api/conversations/{id}/notes/{note_id}", Operator, delete(conv::delete_note)).audited("note.delete"),
        route("PUT", "/api/conversations/{id}/tags/{tag_id}", Operator, put(cat::tag_user)).audited("tag.assign"),
        route("DELETE", "/api/conversations/{id}/tags/{tag_id}", Operator, delete(cat::untag_user)).audited("tag.unassign"),
        route("GET", "/api/tags", Operator, get(cat::tags)),
        route("POST", "/api/tags", Operator, post(cat::create_tag)).audited("tag.create"),
        route("PATCH", "/api/tags/{tag_id}", Operator, patch(cat::rename_tag)).audited("tag.rename"),
        route("DELETE", "/api/tags/{tag_id}", Operator, delete(cat::delete_tag)).audited("tag.delete"),
        route("GET", "/api/tags/{tag_id}/conversations", Operator, get(cat::tagged)),
        route("GET", "/api/canned-replies", Operator, get(cat::canned_list)),
        route("POST", "/api/canned-replies", Operator, post(cat::canned_create)).audited("canned.create"),
        route("GET", "/api/canned-replies/{canned_id}", Operator, get(cat::canned_one)),
        route("PUT", "/api/canned-replies/{canned_id}", Operator, put(cat::canned_update)).audited("canned.update"),
        route("DELETE", "/api/canned-replies/{canned_id}", Operator, delete(cat::canned_delete)).audited("canned.delete"),
        route("GET", "/api/search", Operator, get(conv::search)),
        route("GET", "/api/faq", Operator, get(faq::list)),
        route("POST", "/api/faq", Admin, post(faq::create)).audited("faq.create"),
        route("PUT", "/api/faq/{faq_id}", Admin, put(faq::update)).audited("faq.update"),
        route("DELETE", "/api/faq/{faq_id}", Admin, delete(faq::delete)).audited("faq.delete"),
        // Beside /api/faq, not under it: an FAQ may be called anything, "try" too.
        route("POST", "/api/faq-trial", Operator, post(faq::try_it)),
        route("GET", "/api/settings", Admin, get(cat::settings)),
        route("PUT", "/api/settings", Admin, put(cat::save_settings)).audited("settings.save"),
        route("POST", "/api/exports", Operator, post(exports::start)).audited("export.start"),
        route("GET", "/api/exports/{job_id}", Operator, get(exports::status)),
        route("GET", "/api/exports/{job_id}/file", Operator, get(exports::file)).audited("export.download"),
        route("GET", "/api/holds", Admin, get(holds::list)),
        route("PUT", "/api/conversations/{id}/hold", Admin, put(holds::hold)).audited("hold.set"),
        route("DELETE", "/api/conversations/{id}/hold", Admin, delete(holds::release)).audited("hold.release"),
        route("GET", "/api/audit", Admin, get(audit::list)),
    ]
}

/// The operator API router: authentication on every route (unknown paths under `/api` too),
/// the admin role where the table says so. Media comes from `media`, the archive's copy.
pub fn router(operator: Operator, auth: Authenticator, exports: ExportJobs, media: MediaCopies, trail: AuditTrail) -> Router {
    let mut api = Router::new();
    for r in routes() {
        let handler = match r.audit {
            Some(action) => r.handler.route_layer(from_fn_with_state((trail.clone(), action), audit::record)),
            None => r.handler,
        };
        // The role check runs first (outermost): a refused request did nothing to record.
        let handler = match r.role {
            Role::Admin => handler.route_layer(from_fn(auth::require_admin)),
            Role::Operator => handler,
        };
        api = api.route(r.path, handler);
    }
    api.fallback(|| async { Failure::NoRoute })
        .method_not_allowed_fallback(|| async { Failure::MethodNotAllowed })
        .layer(Extension(exports))
        .layer(Extension(media))
        .layer(Extension(trail))
        .layer(from_fn_with_state(auth, auth::authenticate))
        .with_state(operator)
}

async fn json_body<T: DeserializeOwned>(body: Body) -> Result<T, Failure> {
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| Failure::TooLarge(MAX_BODY_BYTES))?;
    if bytes.is_empty() {
        return Err(Failure::BadRequest("a JSON body is required".into()));
    }
    // serde's message names the field and the problem ("missing field `text`", "unknown field ...").
    serde_json::from_slice(&bytes).map_err(|e| Failure::BadRequest(format!("invalid JSON body: {e}")))
}

fn query<T: DeserializeOwned>(RawQuery(raw): RawQuery) -> Result<T, Failure> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).map_err(|e| Failure::BadRequest(format!("invalid query: {e}")))
}

fn conversation_id(raw: &str) -> Result<ConversationId, Failure> {
    ConversationId::parse(raw)
        .ok_or_else(|| Failure::BadRequest(format!("`id`: {raw:?} is not a conversation id (user:U…, group:C…, room:R…)")))
}
