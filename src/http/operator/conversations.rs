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
use crate::domain::staff::Staff;
use crate::service::operator::{ManualReply, PinRequest, SearchQuery};
use crate::service::Service;
use crate::store::LogItem;

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
struct PageQuery {
    limit: Option<usize>,
    after: Option<String>,
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

pub(super) async fn list_with(service: &Service, filter: ConversationFilter, limit: Option<usize>, after: Option<String>) -> Reply {
    let page = service.list_conversations(&filter, limit, after).await?;
    Ok(Json(json!({ "items": page.items, "next": page.next })))
}

pub async fn me(Extension(staff): Extension<Staff>) -> Json<Value> {
    Json(json!({ "name": staff.name, "role": staff.role }))
}

pub async fn list(State(service): State<Service>, raw: RawQuery) -> Reply {
    let q: ListQuery = query(raw)?;
    let filter = filter(q.status.as_deref(), q.tag, q.source.as_deref(), q.q.as_deref())?;
    list_with(&service, filter, q.limit, q.after).await
}

pub async fn one(State(service): State<Service>, Path(id): Path<String>) -> Reply {
    let id = conversation_id(&id)?;
    let state = service.existing_conversation(&id).await?;
    Ok(Json(json!(service.view(&state).await?)))
}

fn message_view(item: &LogItem) -> Value {
    match item {
        LogItem::In(r) => json!({
            "direction": "in",
            "id": r.event_id,
            "timestamp_ms": r.timestamp_ms,
            "event_type": r.event_type,
            "message_type": r.message_type,
            "text": text_of(item),
            "event": serde_json::from_str::<Value>(&r.raw).unwrap_or(Value::Null),
        }),
        LogItem::Out(r) => json!({
            "direction": "out",
            "id": r.id,
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

pub async fn messages(State(service): State<Service>, Path(id): Path<String>, raw: RawQuery) -> Reply {
    let id = conversation_id(&id)?;
    let q: PageQuery = query(raw)?;
    let page = service.messages(&id, q.limit, q.after).await?;
    Ok(Json(json!({ "items": page.items.iter().map(message_view).collect::<Vec<_>>(), "next": page.next })))
}

pub async fn send(
    State(service): State<Service>,
    Path(id): Path<String>,
    Extension(staff): Extension<Staff>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), Failure> {
    let id = conversation_id(&id)?;
    let request: ManualReply = json_body(body).await?;
    let record = service.send_manual(&id, &request, &staff).await?;
    Ok((StatusCode::CREATED, Json(message_view(&LogItem::Out(record)))))
}

async fn conversation_reply(service: &Service, state: crate::domain::conversation::ConversationState) -> Reply {
    Ok(Json(json!(service.view(&state).await?)))
}

pub async fn read(State(service): State<Service>, Path(id): Path<String>) -> Reply {
    let state = service.mark_read(&conversation_id(&id)?).await?;
    conversation_reply(&service, state).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
}

pub async fn status(State(service): State<Service>, Path(id): Path<String>, Extension(staff): Extension<Staff>, body: Body) -> Reply {
    let id = conversation_id(&id)?;
    let b: StatusBody = json_body(body).await?;
    let state = service.set_status(&id, &b.status, &staff).await?;
    conversation_reply(&service, state).await
}

pub async fn pin(State(service): State<Service>, Path(id): Path<String>, Extension(staff): Extension<Staff>, body: Body) -> Reply {
    let id = conversation_id(&id)?;
    let request: PinRequest = json_body(body).await?;
    let state = service.pin(&id, &request, &staff).await?;
    conversation_reply(&service, state).await
}

pub async fn unpin(State(service): State<Service>, Path(id): Path<String>) -> Reply {
    let state = service.unpin(&conversation_id(&id)?).await?;
    conversation_reply(&service, state).await
}

pub async fn spam(State(service): State<Service>, Path(id): Path<String>) -> Reply {
    let state = service.set_spam(&conversation_id(&id)?, true).await?;
    conversation_reply(&service, state).await
}

pub async fn unspam(State(service): State<Service>, Path(id): Path<String>) -> Reply {
    let state = service.set_spam(&conversation_id(&id)?, false).await?;
    conversation_reply(&service, state).await
}

pub async fn notes(State(service): State<Service>, Path(id): Path<String>) -> Reply {
    let notes = service.notes(&conversation_id(&id)?).await?;
    Ok(Json(json!({ "items": notes })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

pub async fn add_note(
    State(service): State<Service>,
    Path(id): Path<String>,
    Extension(staff): Extension<Staff>,
    body: Body,
) -> Result<(StatusCode, Json<Value>), Failure> {
    let id = conversation_id(&id)?;
    let b: NoteBody = json_body(body).await?;
    let note = service.add_note(&id, &b.text, &staff).await?;
    Ok((StatusCode::CREATED, Json(json!(note))))
}

pub async fn delete_note(State(service): State<Service>, Path((id, note_id)): Path<(String, String)>) -> Result<StatusCode, Failure> {
    service.delete_note(&conversation_id(&id)?, &note_id).await?;
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

fn instant(key: &str, value: Option<&str>) -> Result<Option<i64>, Failure> {
    value
        .map(|v| {
            v.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|_| Failure::BadRequest(format!("`{key}`: {v:?} is not an RFC 3339 time like 2026-11-25T09:00:00Z")))
        })
        .transpose()
}

pub async fn search(State(service): State<Service>, raw: RawQuery) -> Reply {
    let p: SearchParams = query(raw)?;
    let search = SearchQuery {
        text: p.q.ok_or_else(|| Failure::BadRequest("`q`: the text to search for is required".into()))?,
        conversation: p.conversation.as_deref().map(conversation_id).transpose()?,
        from_ms: instant("from", p.from.as_deref())?,
        to_ms: instant("to", p.to.as_deref())?,
        limit: p.limit,
        after: p.after,
    };
    Ok(Json(json!(service.search(&search).await?)))
}
