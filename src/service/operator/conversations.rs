//! Conversations: list, read, mark, pin, spam, notes.

use serde::{Deserialize, Serialize};

use super::Operator;
use super::{new_id, page_limit, OperatorError, MAX_EXAMINED};
use crate::domain::conversation::{ConversationState, ModePin, ReplyBlocked};
use crate::domain::ids::ConversationId;
use crate::domain::inbox::ConversationFilter;
use crate::domain::rules::{ResponseMode, Rules};
use crate::domain::staff::Staff;
use crate::domain::tags::TagRegistry;
use crate::service::conversation_writes::ConversationWrites;
use crate::store::{collections, Doc, InboxCounts, LogItem, Page, PageRequest, StoreError};

pub const MAX_NOTE_CHARS: usize = 1_000;
/// A staff-given name; LINE's own screen allows 20 characters, we allow a little more.
pub const MAX_STAFF_NAME_CHARS: usize = 50;
/// The longest a timed pin may run (a permanent one has no end).
const MAX_PIN_MINUTES: u32 = 60 * 24 * 90;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TagRef {
    pub id: String,
    pub name: String,
}

/// One conversation as the list and detail routes show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationView {
    pub id: String,
    pub source_type: String,
    pub last_activity_ms: i64,
    pub last_text: Option<String>,
    pub unread: bool,
    pub needs_attention: bool,
    pub attention_reason: Option<String>,
    pub resolved: bool,
    pub spam: bool,
    pub blocked: bool,
    pub has_written: bool,
    pub tags: Vec<TagRef>,
    pub pin: Option<ModePin>,
    /// The user's LINE display name and picture (from LINE's profile API), if known.
    pub display_name: Option<String>,
    pub picture_url: Option<String>,
    /// The name staff gave the user, shown instead of the LINE name.
    pub staff_name: Option<String>,
    /// Whether staff may write now; if not, `reply_blocked` says why.
    pub can_reply: bool,
    pub reply_blocked: Option<ReplyBlocked>,
    /// The response mode in force for this conversation now, and why.
    pub mode: ModeView,
    pub version: u64,
}

/// A response mode in force and why, for staff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeView {
    pub mode: ResponseMode,
    pub pinned: bool,
    /// In response hours (true), out of them (false), or hours off (None).
    pub open: Option<bool>,
    /// Why, as a code a screen translates: `in_hours`, `out_of_hours`, `hours_off`, `pinned`, `group`.
    pub basis: &'static str,
    pub reason: String,
}

impl ModeView {
    /// The account's mode at `now_ms` by its response hours.
    pub fn account(rules: &Rules, now_ms: i64) -> Self {
        let at = jiff::Timestamp::from_millisecond(now_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let (mode, open) = rules.mode_at(at);
        let (basis, reason) = match open {
            Some(true) => ("in_hours", "in response hours"),
            Some(false) => ("out_of_hours", "out of response hours"),
            None => ("hours_off", "response hours off"),
        };
        Self { mode, pinned: false, open, basis, reason: reason.into() }
    }

    /// For one conversation: a pin beats the hours; LINE never answers groups by itself.
    pub fn conversation(s: &ConversationState, rules: &Rules, now_ms: i64) -> Self {
        let account = Self::account(rules, now_ms);
        if !s.id.is_user() {
            return Self { mode: ResponseMode::Chat, basis: "group", reason: "groups and rooms are answered by hand".into(), ..account };
        }
        match s.pin.as_ref().filter(|p| p.is_active(now_ms)) {
            Some(pin) => Self {
                mode: pin.mode,
                pinned: true,
                basis: "pinned",
                reason: match pin.until_ms {
                    Some(_) => format!("pinned by {} for a while", pin.by),
                    None => format!("pinned by {} until released", pin.by),
                },
                ..account
            },
            None => account,
        }
    }
}

impl ConversationView {
    pub fn new(s: &ConversationState, registry: &TagRegistry, rules: &Rules, now_ms: i64) -> Self {
        let blocked = s.reply_blocked();
        Self {
            id: s.id.to_string(),
            source_type: s.id.as_str().split_once(':').map_or("none", |(kind, _)| kind).to_owned(),
            last_activity_ms: s.activity_ms(),
            last_text: s.last_text.clone(),
            unread: s.is_unread(),
            needs_attention: s.needs_attention,
            attention_reason: s.attention_reason.clone(),
            resolved: s.resolved,
            spam: s.spam,
            blocked: s.is_blocked(),
            has_written: s.has_written,
            // A deleted tag disappears from every user at once.
            tags: s.tags.iter().filter_map(|id| registry.get(id).map(|t| TagRef { id: t.id.clone(), name: t.name.clone() })).collect(),
            pin: s.pin.clone().filter(|p| p.is_active(now_ms)),
            display_name: s.profile.as_ref().and_then(|p| p.display_name.clone()),
            picture_url: s.profile.as_ref().and_then(|p| p.picture_url.clone()),
            staff_name: s.staff_name.clone(),
            can_reply: blocked.is_none(),
            reply_blocked: blocked,
            mode: ModeView::conversation(s, rules, now_ms),
            version: s.version,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    pub mode: String,
    /// Minutes from now; absent = until unpinned.
    #[serde(default)]
    pub minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteView {
    pub id: String,
    pub text: String,
    pub by: String,
    pub at_ms: i64,
}

impl Operator {
    pub(crate) async fn existing_conversation(&self, id: &ConversationId) -> Result<ConversationState, OperatorError> {
        self.conversations.conversation(id).await?.ok_or_else(|| OperatorError::NotFound(format!("conversation {id}")))
    }

    /// Read, change, versioned write; re-read on conflict. Unknown conversations are not created.
    pub(crate) async fn modify_conversation(
        &self,
        id: &ConversationId,
        change: impl FnMut(&mut ConversationState) -> Result<(), OperatorError>,
    ) -> Result<ConversationState, OperatorError> {
        let missing = || Err(OperatorError::NotFound(format!("conversation {id}")));
        self.conversations.try_update_conversation(id, missing, change).await.map_err(|e| match e {
            OperatorError::Store(StoreError::Conflict(_)) => {
                OperatorError::Conflict(format!("conversation {id} is changing too fast; try again"))
            }
            e => e,
        })
    }

    pub async fn view(&self, state: &ConversationState) -> Result<ConversationView, OperatorError> {
        let settings = self.settings.current().await;
        Ok(ConversationView::new(state, &self.tag_registry().await?.0, &settings.rules, self.retention.now_ms()))
    }

    /// Every conversation with the tag `tag` (an export of a tag exports these); a tag that is
    /// not in the registry is `NotFound`.
    pub async fn conversations_tagged(&self, tag: &str) -> Result<Vec<ConversationId>, OperatorError> {
        let (registry, _) = self.tag_registry().await?;
        if registry.get(tag).is_none() {
            return Err(OperatorError::NotFound(format!("tag {tag:?}")));
        }
        let filter = ConversationFilter { tag: Some(tag.to_owned()), ..Default::default() };
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let page = self.list_conversations(&filter, Some(200), after).await?;
            ids.extend(page.items.iter().filter_map(|c| ConversationId::parse(&c.id)));
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(ids),
            }
        }
    }

    /// Newest activity first. A filtered page may come back short, with a cursor to go on.
    pub async fn list_conversations(
        &self,
        filter: &ConversationFilter,
        limit: Option<usize>,
        after: Option<String>,
    ) -> Result<Page<ConversationView>, OperatorError> {
        let limit = page_limit(limit, 50)?;
        let (registry, _) = self.tag_registry().await?;
        let settings = self.settings.current().await;
        let now = self.retention.now_ms();
        let mut items = Vec::new();
        let mut cursor = after;
        let mut examined = 0;
        loop {
            let page = self.conversations.conversations_by_activity(&PageRequest { limit: limit.max(25), after: cursor }).await?;
            let count = page.items.len();
            for (i, state) in page.items.iter().enumerate() {
                examined += 1;
                if filter.matches(state) {
                    items.push(ConversationView::new(state, &registry, &settings.rules, now));
                }
                if items.len() == limit || examined >= MAX_EXAMINED {
                    let more = i + 1 < count || page.next.is_some();
                    return Ok(Page { items, next: more.then(|| self.conversations.activity_cursor(state)) });
                }
            }
            match page.next {
                None => return Ok(Page { items, next: None }),
                next => cursor = next,
            }
        }
    }

    pub async fn messages(&self, id: &ConversationId, limit: Option<usize>, after: Option<String>) -> Result<Page<LogItem>, OperatorError> {
        let limit = page_limit(limit, 100)?;
        self.existing_conversation(id).await?;
        Ok(self.log.log(id, &PageRequest { limit, after }).await?)
    }

    /// The log newest first, from the end or from before `before` (a sort key): a long
    /// conversation opens at its end.
    pub async fn messages_newest(
        &self,
        id: &ConversationId,
        limit: Option<usize>,
        before: Option<String>,
    ) -> Result<Page<LogItem>, OperatorError> {
        let limit = page_limit(limit, 50)?;
        self.existing_conversation(id).await?;
        Ok(self.log.log_newest(id, &PageRequest { limit, after: before }).await?)
    }

    /// Unread and needs-attention counts and the newest activity: the console's idle poll.
    pub async fn inbox(&self) -> Result<InboxCounts, OperatorError> {
        Ok(self.conversations.inbox().await?)
    }

    /// The name staff give a user (None or blank clears it).
    pub async fn set_staff_name(&self, id: &ConversationId, name: Option<&str>) -> Result<ConversationState, OperatorError> {
        let name = name.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        if let Some(n) = &name {
            let chars = n.chars().count();
            if chars > MAX_STAFF_NAME_CHARS {
                return Err(OperatorError::invalid("name", format!("{chars} characters; at most {MAX_STAFF_NAME_CHARS}")));
            }
        }
        self.modify_conversation(id, |s| {
            s.staff_name = name.clone();
            Ok(())
        })
        .await
    }

    pub async fn mark_read(&self, id: &ConversationId) -> Result<ConversationState, OperatorError> {
        let now = self.retention.now_ms();
        self.modify_conversation(id, |s| {
            s.last_read_ms = s.last_read_ms.max(now).max(s.last_inbound_ms.unwrap_or(0));
            Ok(())
        })
        .await
    }

    /// `needs_attention`, `resolved` or `open` (neither).
    pub async fn set_status(&self, id: &ConversationId, status: &str, staff: &Staff) -> Result<ConversationState, OperatorError> {
        let now = self.retention.now_ms();
        let reason = format!("marked by {}", staff.name);
        let status = match status {
            "needs_attention" | "resolved" | "open" => status,
            other => return Err(OperatorError::invalid("status", format!("{other:?}: expected needs_attention, resolved or open"))),
        };
        self.modify_conversation(id, |s| {
            match status {
                "needs_attention" => s.flag(reason.clone()),
                "resolved" => s.resolve(now),
                _ => {
                    s.needs_attention = false;
                    s.attention_reason = None;
                    s.resolved = false;
                }
            }
            Ok(())
        })
        .await
    }

    pub async fn pin(&self, id: &ConversationId, request: &PinRequest, staff: &Staff) -> Result<ConversationState, OperatorError> {
        let mode = ResponseMode::parse(&request.mode).ok_or_else(|| {
            OperatorError::invalid("mode", format!("{:?}: expected chat, smart_chat, auto_response or ai_response", request.mode))
        })?;
        let now = self.retention.now_ms();
        let until_ms = match request.minutes {
            Some(0) => return Err(OperatorError::invalid("minutes", "must be at least 1 (omit it to pin until unpinned)")),
            Some(m) if m > MAX_PIN_MINUTES => {
                return Err(OperatorError::invalid("minutes", format!("at most {MAX_PIN_MINUTES} (90 days)")))
            }
            Some(m) => Some(now + i64::from(m) * 60_000),
            None => None,
        };
        let pin = ModePin { mode, until_ms, by: staff.name.clone(), at_ms: now };
        self.modify_conversation(id, |s| {
            s.pin = Some(pin.clone());
            Ok(())
        })
        .await
    }

    pub async fn unpin(&self, id: &ConversationId) -> Result<ConversationState, OperatorError> {
        self.modify_conversation(id, |s| {
            s.pin = None;
            Ok(())
        })
        .await
    }

    pub async fn set_spam(&self, id: &ConversationId, spam: bool) -> Result<ConversationState, OperatorError> {
        self.modify_conversation(id, |s| {
            s.spam = spam;
            Ok(())
        })
        .await
    }

    pub async fn add_note(&self, id: &ConversationId, text: &str, staff: &Staff) -> Result<NoteView, OperatorError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(OperatorError::invalid("text", "must not be empty"));
        }
        let chars = text.chars().count();
        if chars > MAX_NOTE_CHARS {
            return Err(OperatorError::invalid("text", format!("{chars} characters; at most {MAX_NOTE_CHARS}")));
        }
        self.existing_conversation(id).await?;
        let now = self.retention.now_ms();
        let note = NoteView { id: new_id(now), text: text.to_owned(), by: staff.name.clone(), at_ms: now };
        let body = serde_json::to_string(&note).expect("a note serialises");
        self.documents.put_doc(&collections::notes(id), &Doc { id: note.id.clone(), body, version: 0 }).await?;
        Ok(note)
    }

    pub async fn notes(&self, id: &ConversationId) -> Result<Vec<NoteView>, OperatorError> {
        self.existing_conversation(id).await?;
        self.all_docs(&collections::notes(id)).await
    }

    pub async fn delete_note(&self, id: &ConversationId, note_id: &str) -> Result<(), OperatorError> {
        let collection = collections::notes(id);
        let doc = self.documents.doc(&collection, note_id).await?.ok_or_else(|| OperatorError::NotFound(format!("note {note_id:?}")))?;
        self.documents.delete_doc(&collection, note_id, doc.version).await.map_err(|e| match e {
            StoreError::Conflict(_) => OperatorError::NotFound(format!("note {note_id:?}")),
            e => e.into(),
        })
    }
}
