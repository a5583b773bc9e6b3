//! Manual replies: staff write to a user, as in LINE's chat. A still-fresh reply token is used
//! (free), else a push with an `X-Line-Retry-Key`; every attempt is logged, failures too.

use serde::{Deserialize, Serialize};

use super::Operator;
use super::OperatorError;
use crate::domain::conversation::ReplyBlocked;
use crate::domain::ids::{ConversationId, LineId, ReplyToken};
use crate::domain::outbound::{prepare, OutboundMessage, MAX_MESSAGES_PER_REQUEST};
use crate::domain::staff::Staff;
use crate::line_api::LineApiError;
use crate::store::{Claim, Doc, OutboundRecord, OutboundStatus, SendMethod, StoreError};

/// Namespace of retry keys and record ids derived from a client's idempotency key.
const MANUAL_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x2d4e_8b1a_77c3_4f0e_a5b9_13c6_90de_f421);
const MAX_CLIENT_ID_CHARS: usize = 100;

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ManualMessage {
    Text {
        text: String,
    },
    Sticker {
        package_id: String,
        sticker_id: String,
    },
    Image {
        original_content_url: String,
        #[serde(default)]
        preview_image_url: Option<String>,
    },
    /// A canned reply by id: its text is sent.
    Canned {
        id: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualReply {
    pub messages: Vec<ManualMessage>,
    /// An idempotency key: the same key sends once, however often the request is repeated.
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct ClientKey {
    timestamp_ms: i64,
}

impl Operator {
    pub async fn send_manual(
        &self,
        conversation: &ConversationId,
        request: &ManualReply,
        staff: &Staff,
    ) -> Result<OutboundRecord, OperatorError> {
        let messages = self.manual_messages(&request.messages).await?;
        let prepared = prepare(&messages).map_err(|e| OperatorError::invalid("messages", e.to_string()))?;
        let state = self.existing_conversation(conversation).await?;
        // Groups and rooms are answered by hand (LINE never answers them by itself); a user
        // only after their first message, and not once they blocked the account.
        match state.reply_blocked() {
            None => {}
            Some(ReplyBlocked::NeverWrote) => {
                return Err(OperatorError::NotAllowed(
                    "the user has not written yet: LINE allows chat messages only after the user's first message".into(),
                ))
            }
            Some(ReplyBlocked::Blocked) => return Err(OperatorError::NotAllowed("the user has blocked the account".into())),
            Some(ReplyBlocked::Left) => return Err(OperatorError::NotAllowed("the account is no longer in this group or room".into())),
        }
        let now = self.retention.now_ms();
        let (id, timestamp_ms) = match &request.client_id {
            Some(key) => self.client_key(conversation, key, now).await?,
            None => (format!("manual-{}", uuid::Uuid::new_v4()), now),
        };
        let mut out = OutboundRecord {
            conversation: conversation.clone(),
            id: id.clone(),
            timestamp_ms,
            created_ms: now,
            method: SendMethod::Push,
            messages: serde_json::to_string(&prepared.iter().map(OutboundMessage::to_line_json).collect::<Vec<_>>()).unwrap_or_default(),
            status: OutboundStatus::Sending,
            reason: format!("manual reply by {}", staff.name),
            expires_at: self.retention.expires_at(now),
        };
        match self.log.claim_outbound(&out).await? {
            Claim::Claimed => {}
            Claim::Exists(existing) if existing.status == OutboundStatus::Sending => {
                return Err(OperatorError::Conflict(format!("message {id} is being sent; look at the log before retrying")))
            }
            // A repeat of a request that already went through: the same answer, nothing sent.
            Claim::Exists(existing) => return Ok(existing),
        }
        if !self.line.sends() {
            out.status = OutboundStatus::Logged;
            out.method = SendMethod::Log;
            self.log.finish_outbound(&out).await?;
            self.after_staff_reply(conversation, now, &messages).await?;
            return Ok(out);
        }
        // Only one operator can take the token: the conversation write is versioned.
        let mut token = None;
        self.modify_conversation(conversation, |s| {
            token = s.take_reply_token(now);
            Ok(())
        })
        .await?;
        let result = match token {
            Some(t) => match self.line.reply(&ReplyToken::new(t.token), &prepared).await {
                Ok(()) => {
                    out.method = SendMethod::Reply;
                    Ok(())
                }
                // Expired meanwhile: a push sends it all the same.
                Err(LineApiError::InvalidReplyToken) => self.push_manual(conversation, &prepared, &id).await,
                // Our own interrupted attempt may have used the token: pushing could send twice.
                Err(LineApiError::OutcomeUnknown { interrupted }) => {
                    tracing::warn!(conversation = %conversation, id = %id, %interrupted, "manual reply outcome unknown; not pushed");
                    out.status = OutboundStatus::Unknown;
                    out.reason = format!("{}; outcome unknown: {interrupted}", out.reason);
                    self.log.finish_outbound(&out).await?;
                    // Most likely delivered: the conversation counts as answered.
                    self.after_staff_reply(conversation, now, &messages).await?;
                    return Ok(out);
                }
                Err(e) => Err(e),
            },
            None => self.push_manual(conversation, &prepared, &id).await,
        };
        match result {
            Ok(()) => {
                out.status = OutboundStatus::Sent;
                self.log.finish_outbound(&out).await?;
                self.after_staff_reply(conversation, now, &messages).await?;
                Ok(out)
            }
            Err(e) => {
                tracing::warn!(conversation = %conversation, id = %id, error = %e, "manual reply failed");
                out.status = OutboundStatus::Failed;
                out.reason = format!("{}; failed: {e}", out.reason);
                self.log.finish_outbound(&out).await?;
                Err(OperatorError::Line(e))
            }
        }
    }

    async fn push_manual(&self, conversation: &ConversationId, messages: &[OutboundMessage], id: &str) -> Result<(), LineApiError> {
        let to = conversation.line_id().unwrap_or_default();
        match self.line.push(&LineId::new(to), messages, uuid::Uuid::new_v5(&MANUAL_NAMESPACE, id.as_bytes())).await {
            Ok(()) | Err(LineApiError::AlreadyAccepted { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn after_staff_reply(&self, conversation: &ConversationId, now: i64, messages: &[OutboundMessage]) -> Result<(), OperatorError> {
        let preview = match messages.first() {
            Some(OutboundMessage::Text { text }) => text.clone(),
            Some(other) => format!("[{}]", other.type_name()),
            None => String::new(),
        };
        self.modify_conversation(conversation, |s| {
            s.record_staff_reply(now, preview.clone());
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// The record id and time bound to a client's idempotency key (the first request's).
    async fn client_key(&self, conversation: &ConversationId, key: &str, now: i64) -> Result<(String, i64), OperatorError> {
        if key.is_empty() || key.chars().count() > MAX_CLIENT_ID_CHARS {
            return Err(OperatorError::invalid("client_id", format!("1 to {MAX_CLIENT_ID_CHARS} characters")));
        }
        let collection = format!("manual:{conversation}");
        let id = format!("manual-{}", uuid::Uuid::new_v5(&MANUAL_NAMESPACE, format!("{conversation}/{key}").as_bytes()));
        let body = serde_json::to_string(&ClientKey { timestamp_ms: now }).expect("serialises");
        match self.documents.put_doc(&collection, &Doc { id: key.to_owned(), body, version: 0 }).await {
            Ok(()) => Ok((id, now)),
            Err(StoreError::Conflict(_)) => {
                let doc = self.documents.doc(&collection, key).await?.ok_or_else(|| OperatorError::Conflict("retry".into()))?;
                let earlier: ClientKey = serde_json::from_str(&doc.body).map_err(|e| StoreError::corrupt(key, e))?;
                Ok((id, earlier.timestamp_ms))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn manual_messages(&self, messages: &[ManualMessage]) -> Result<Vec<OutboundMessage>, OperatorError> {
        if messages.is_empty() {
            return Err(OperatorError::invalid("messages", "at least one message"));
        }
        if messages.len() > MAX_MESSAGES_PER_REQUEST {
            return Err(OperatorError::invalid("messages", format!("at most {MAX_MESSAGES_PER_REQUEST}")));
        }
        let mut out = Vec::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            let message = match m {
                ManualMessage::Text { text } => OutboundMessage::text(text.clone()),
                ManualMessage::Sticker { package_id, sticker_id } => {
                    OutboundMessage::Sticker { package_id: package_id.clone(), sticker_id: sticker_id.clone() }
                }
                ManualMessage::Image { original_content_url, preview_image_url } => OutboundMessage::Image {
                    original_content_url: original_content_url.clone(),
                    preview_image_url: preview_image_url.clone(),
                },
                ManualMessage::Canned { id } => match self.canned_reply(id).await {
                    Ok((canned, _)) => OutboundMessage::text(canned.text),
                    Err(OperatorError::NotFound(what)) => {
                        return Err(OperatorError::invalid(format!("messages[{i}].id"), format!("{what} not found")))
                    }
                    Err(e) => return Err(e),
                },
            };
            if let OutboundMessage::Text { text } = &message {
                let units = text.encode_utf16().count();
                if units > crate::domain::outbound::MAX_TEXT_UTF16 {
                    return Err(OperatorError::invalid(
                        format!("messages[{i}].text"),
                        format!("{units} UTF-16 units; LINE takes at most 5000"),
                    ));
                }
            }
            message.validate().map_err(|e| OperatorError::invalid(format!("messages[{i}]"), e.to_string()))?;
            out.push(message);
        }
        Ok(out)
    }
}
