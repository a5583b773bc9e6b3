//! Conversation routes: list, read, reply, mark, pin, spam, notes, search.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{conversation_id, json_body, query, Failure};
use crate::domain::export::text_of;
use crate::domain::inbox::{ConversationFilter, SourceFilter, StatusFilter};
use crate::domain::keywords::normalize;
use crate::domain::media::media_message;
use crate::domain::staff::Staff;
use crate::service::operator::{ManualReply, MediaCopies, MediaLink, ModeView, PinRequest, SearchQuery};
use crate::service::Operator;
use crate::store::{log_sort_key, LogItem};

type Reply = Result<Json<Value>, Failure>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    tag: Option<String>,
    source: Option<String>,
    q: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesQuery {
    limit: Option<usize>,
    after: Option<String>,
    before: Option<String>,
    order: Option<String>,
}

pub(super) fn filter(
    status: Option<&str>,
    tag: Option<String>,
    source: Option<&str>,
    q: Option<&str>,
) -> Result<ConversationFilter, Failure> {
    Ok(ConversationFilter {
        status: status
            .map(|s| {
                StatusFilter::parse(s)
                    .ok_or_else(|| Failure::BadRequest(format!("`status`: {s:?}: expected unread, needs_attention, resolved or spam")))
            })
            .transpose()?,
        tag,
        source: source
            .map(|s| SourceFilter::parse(s).ok_or_else(|| Failure::BadRequest(format!("`source`: {s:?}: expected user, group or room"))))
            .transpose()?,
        text: q.map(normalize).filter(|t| !t.is_empty()),
    })
}

pub(super) async fn list_with(operator: &Operator, filter: ConversationFilter, limit: Option<usize>, after: Option<String>) -> Reply {
    let page = operator.list_conversations(&filter, limit, after).await?;
    Ok(Json(json!({ "items": page.items, "next": page.next })))
}

/// Who is calling, and what the console needs to start: the account, its timezone, the mode now.
pub async fn me(State(operator): State<Operator>, Extension(staff): Extension<Staff>) -> Json<Value> {
    let settings = operator.settings().await;
    let rules = &settings.rules;
    Json(json!({
        "name": staff.name,
        "role": staff.role,
        "account_name": rules.account_name,
        "timezone": rules.timezone.iana_name().unwrap_or("UTC"),
        "response": ModeView::account(rules, operator.now_ms()),
    }))
}

/// Unread and needs-attention counts and the newest activity: what an idle poll reads.
pub async fn inbox(State(operator): State<Operator>) -> Reply {
    Ok(Json(json!(operator.inbox().await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: Option<String>,
}

pub async fn name(State(operator): State<Operator>, Path(id): Path<String>, body: Body) -> Reply {
    let id = conversation_id(&id)?;
    let b: NameBody = json_body(body).await?;
    let state = operator.set_staff_name(&id, b.name.as_deref()).await?;
    conversation_reply(&operator, state).await
}

/// Media the user sent: where the project's own copy is.
pub async fn media(
    Extension(media): Extension<MediaCopies>,
    Path((id, message_id)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Reply {
    let id = conversation_id(&id)?;
    let copy = media.find(&id, &message_id).await?;
    let (url, authenticated) = match &copy.link {
        MediaLink::Presigned { url, .. } => (url.clone(), false),
        // The route's own path plus `/content` (works under a stage prefix too).
        MediaLink::ThroughApi => (format!("{}/content", uri.path()), true),
    };
    Ok(Json(json!({ "url": url, "authenticated": authenticated, "content_type": copy.content_type, "size": copy.size })))
}

pub async fn media_content(
    Extension(media): Extension<MediaCopies>,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<axum::response::Response, Failure> {
    use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
    use axum::response::IntoResponse;
    let id = conversation_id(&id)?;
    let (content_type, bytes) = media.content(&id, &message_id).await?;
    // Never rendered as a page of ours: a download, or an <img>/<video> through a blob URL.
    let headers = [
        (CONTENT_TYPE, content_type),
        (CONTENT_DISPOSITION, format!("attachment; filename=\"{message_id}\"")),
        (CACHE_CONTROL, "private, max-age=3600".to_owned()),
    ];
    Ok((headers, [("x-content-type-options", "nosniff")], bytes).into_response())
}

pub async fn list(State(operator): State<Operator>, raw: RawQuery) -> Reply {
    let q: ListQuery = query(raw)?;
    let filter = filter(q.status.as_deref(), q.tag, q.source.as_deref(), q.q.as_deref())?;
    list_with(&operator, filter, q.limit, q.after).await
}

pub async fn one(State(operator): State<Operator>, Path(id): Path<String>) -> Reply {
    let id = conversation_id(&id)?;
    let state = operator.existing_conversation(&id).await?;
    Ok(Json(json!(operator.view(&state).await?)))
}

fn message_view(item: &LogItem) -> Value {
    match item {
        LogItem::In(r) => json!({
            "direction": "in",
            "id": r.event_id,
            "cursor": log_sort_key(r.timestamp_ms, true, r.event_id.as_str()),
            "media": media_message(item).map(|m| json!({
                "message_id": m.message_id,
                "type": m.message_type,
                "file_name": serde_json::from_str::<Value>(&r.raw).ok().and_then(|v| v.pointer("/message/fileName").and_then(Value::as_str).map(str::to_owned)),
            })),
            "timestamp_ms": r.timestamp_ms,
            "event_type": r.event_type,
            "message_type": r.message_type,
            "text": text_of(item),
            "event": serde_json::from_str::<Value>(&r.raw).unwrap_or(Value::Null),
        }),
        LogItem::Out(r) => json!({
            "direction": "out",
            "id": r.id,
            "cursor": log_sort_key(r.timestamp_ms, false, &r.id),
            "sent_by": r.reason.strip_prefix("manual reply by ").map(|rest| rest.split(';').next().unwrap_or(rest)),
            "error": r.reason.split_once("; failed: ").or_else(|| r.reason.split_once("; outcome unknown: ")).map(|(_, e)| e),
            "timestamp_ms": r.timestamp_ms,
            "created_ms": r.created_ms,
            "automatic": !r.id.starts_with("manual-"),
            "method": r.method,
            "status": r.status,
            // For an automatic reply: the rule decision and why; for a manual one: who sent it.
            "reason": r.reason,
            "text": text_of(item),
            "messages": serde_json::from_str::<Value>(&r.messages).unwrap_or(Value::Null),
        }),
    }
}

/// Oldest first (`after` a cursor: the tail since the newest seen), or `order=newest` (from
/// the end, `before` a cursor: older pages).
pub async fn messages(State(operator): State<Operator>, Path(id): Path<String>, raw: RawQuery) -> Reply {
    let id = conversation_id(&id)?;
    let q: MessagesQuery = query(raw)?;
    let page = match q.order.as_deref() {
        None | Some("oldest") => {
            if q.before.is_some() {
                return Err(Failure::BadRequest("`before`: only with order=newest (oldest first pages go on with `after`)".into()));
            }
            operator.messages(&id, q.limit, q.after).await?
        }
        Some("newest") => {
            if q.after.is_some() {
                return Err(Failure::BadRequest("`after`: only oldest first; newest first pages go on with `before`".into()));
            }
            operator.messages_newest(&id, q.limit, q.before).await?
        }
        Some(other) => return Err(Failure::BadRequest(format!("`order`: {other:?}: expected oldest or newest"))),
    };
    Ok(Json(json!({ "items": page.items.iter().map(message_view).collect::<Vec<_>>(), "next": page.next })))
}

pub async fn send(
    State(operator): State<Operator>,
    Path(id): Path<String>,
    Extension(staff): Extension<Staff>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), Failure> {
    let id = conversation_id(&id)?;
    let request: ManualReply = json_body(body).await?;
    let record = operator.send_manual(&id, &request, &staff).await?;
    Ok((StatusCode::CREATED, Json(message_view(&LogItem::Out(record)))))
}

async fn conversation_reply(operator: &Operator, state: crate::domain::conversation::ConversationState) -> Reply {
    Ok(Json(json!(operator.view(&state).await?)))
}

pub async fn read(State(operator): State<Operator>, Path(id): Path<String>) -> Reply {
    let state = operator.mark_read(&conversation_id(&id)?).await?;
    conversation_reply(&operator, state).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
}

pub async fn status(State(operator): State<Operator>, Path(id): Path<String>, Extension(staff): Extension<Staff>, body: Body) -> Reply {
    let id = conversation_id(&id)?;
    let b: StatusBody = json_body(body).await?;
    let state = operator.set_status(&id, &b.status, &staff).await?;
    conversation_reply(&operator, state).await
}

pub async fn pin(State(operator): State<Operator>, Path(id): Path<String>, Extension(staff): Extension<Staff>, body: Body) -> Reply {
    let id = conversation_id(&id)?;
    let request: PinRequest = json_body(body).await?;
    let state = operator.pin(&id, &request, &staff).await?;
    conversation_reply(&operator, state).await
}

pub async fn unpin(State(operator): State<Operator>, Path(id): Path<String>) -> Reply {
    let state = operator.unpin(&conversation_id(&id)?).await?;
    conversation_reply(&operator, state).await
}

pub async fn spam(State(operator): State<Operator>, Path(id): Path<String>) -> Reply {
    let state = operator.set_spam(&conversation_id(&id)?, true).await?;
    conversation_reply(&operator, state).await
}

pub async fn unspam(State(operator): State<Operator>, Path(id): Path<String>) -> Reply {
    let state = operator.set_spam(&conversation_id(&id)?, false).await?;
    conversation_reply(&operator, state).await
}

pub async fn notes(State(operator): State<Operator>, Path(id): Path<String>) -> Reply {
    let notes = operator.notes(&conversation_id(&id)?).await?;
    Ok(Json(json!({ "items": notes })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

pub async fn add_note(
    State(operator): State<Operator>,
    Path(id): Path<String>,
    Extension(staff): Extension<Staff>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), Failure> {
    let id = conversation_id(&id)?;
    let b: NoteBody = json_body(body).await?;
    let note = operator.add_note(&id, &b.text, &staff).await?;
    Ok((StatusCode::CREATED, Json(json!(note))))
}

pub async fn delete_note(State(operator): State<Operator>, Path((id, note_id)): Path<(String, String)>) -> Result<StatusCode, Failure> {
    operator.delete_note(&conversation_id(&id)?, &note_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    q: Option<String>,
    conversation: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    after: Option<String>,
}

pub(super) fn instant(key: &str, value: Option<&str>) -> Result<Option<i64>, Failure> {
    value
        .map(|v| {
            v.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|_| Failure::BadRequest(format!("`{key}`: {v:?} is not an RFC 3339 time like 2026-11-25T09:00:00Z")))
        })
        .transpose()
}

pub async fn search(State(operator): State<Operator>, raw: RawQuery) -> Reply {
    let p: SearchParams = query(raw)?;
    let search = SearchQuery {
        text: p.q.ok_or_else(|| Failure::BadRequest("`q`: the text to search for is required".into()))?,
        conversation: p.conversation.as_deref().map(conversation_id).transpose()?,
        from_ms: instant("from", p.from.as_deref())?,
        to_ms: instant("to", p.to.as_deref())?,
        limit: p.limit,
        after: p.after,
    };
    Ok(Json(json!(operator.search(&search).await?)))
}
