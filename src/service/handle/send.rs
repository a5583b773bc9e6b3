//! Sending a claimed automatic reply once, and logging its outcome: sent, logged (no access
//! token), failed (flagged for staff) or unknown (an interrupted attempt may have delivered it).

use super::{HandleOutcome, Handler};
use crate::domain::ids::{ConversationId, LineId, ReplyToken};
use crate::domain::notice::reasons;
use crate::domain::outbound::{prepare, OutboundMessage};
use crate::line_api::LineApiError;
use crate::service::conversation_writes::ConversationWrites;
use crate::service::staff_notices::mark_notice;
use crate::service::ServiceError;
use crate::store::{InboundRecord, OutboundRecord, OutboundStatus, SendMethod};

impl Handler {
    /// The outbound record of this event's automatic reply, as claimed at `claimed_ms`.
    pub(super) fn outbound(&self, record: &InboundRecord, messages: &[OutboundMessage], reason: &str, claimed_ms: i64) -> OutboundRecord {
        OutboundRecord {
            conversation: record.conversation.clone(),
            id: record.event_id.to_string(),
            timestamp_ms: record.timestamp_ms,
            created_ms: claimed_ms,
            method: SendMethod::Reply,
            messages: serde_json::to_string(&messages.iter().map(OutboundMessage::to_line_json).collect::<Vec<_>>()).unwrap_or_default(),
            status: OutboundStatus::Sending,
            reason: reason.to_owned(),
            expires_at: self.retention.expires_at(claimed_ms),
        }
    }

    /// Sends the claimed reply `out` and logs its outcome, once. `earlier_attempt_unknown`: an
    /// interrupted attempt may have delivered it, so a refused token is not followed by a push.
    pub(super) async fn send(
        &self,
        mut out: OutboundRecord,
        messages: &[OutboundMessage],
        record: &InboundRecord,
        token: &ReplyToken,
        push_fallback: bool,
        earlier_attempt_unknown: bool,
    ) -> Result<HandleOutcome, ServiceError> {
        let prepared = match prepare(messages) {
            Ok(p) => p,
            Err(e) => return self.fail(out, format!("cannot send: {e}")).await,
        };
        if !self.line.sends() {
            self.line.reply(token, &prepared).await.ok();
            out.status = OutboundStatus::Logged;
            out.method = SendMethod::Log;
            self.log.finish_outbound(&out).await?;
            return Ok(HandleOutcome::Logged);
        }
        let result = match self.line.reply(token, &prepared).await {
            // The token may be spent by our own earlier attempt (a retry inside the client, or
            // an earlier run interrupted mid-send): pushing could send twice.
            Err(LineApiError::OutcomeUnknown { interrupted }) => return self.unknown(out, interrupted).await,
            Err(LineApiError::InvalidReplyToken) if earlier_attempt_unknown => {
                return self.unknown(out, "an earlier run stopped while sending".into()).await;
            }
            Err(LineApiError::InvalidReplyToken) if push_fallback => {
                out.method = SendMethod::Push;
                self.push(&record.conversation, &prepared, record).await
            }
            other => other,
        };
        match result {
            Ok(()) => {
                out.status = OutboundStatus::Sent;
                self.log.finish_outbound(&out).await?;
                Ok(HandleOutcome::Sent { method: out.method })
            }
            Err(e) => self.fail(out, e.to_string()).await,
        }
    }

    async fn push(&self, conversation: &ConversationId, messages: &[OutboundMessage], record: &InboundRecord) -> Result<(), LineApiError> {
        let to = conversation.line_id().ok_or_else(|| LineApiError::Rejected { status: 0, message: "no push target".into() })?;
        match self.line.push(&LineId::new(to), messages, record.event_id.retry_key()).await {
            // Accepted on an earlier try: it went out once, which is what we want.
            Ok(()) | Err(LineApiError::AlreadyAccepted { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Records a reply that may have gone out: never sent again, shown to staff as unknown.
    pub(super) async fn unknown(&self, mut out: OutboundRecord, interrupted: String) -> Result<HandleOutcome, ServiceError> {
        tracing::warn!(conversation = %out.conversation, id = %out.id, %interrupted, "reply outcome unknown; not sent again");
        out.status = OutboundStatus::Unknown;
        out.reason = format!("{}; outcome unknown: {interrupted}", out.reason);
        self.log.finish_outbound(&out).await?;
        Ok(HandleOutcome::OutcomeUnknown(interrupted))
    }

    /// Records a failed send and flags the conversation for staff: never silently lost.
    async fn fail(&self, mut out: OutboundRecord, why: String) -> Result<HandleOutcome, ServiceError> {
        tracing::warn!(conversation = %out.conversation, id = %out.id, %why, "reply failed; flagged for staff");
        out.status = OutboundStatus::Failed;
        out.reason = format!("{}; failed: {why}", out.reason);
        self.log.finish_outbound(&out).await?;
        let reason = format!("automatic reply failed: {why}");
        let mut notify = false;
        self.conversations
            .update_conversation(&out.conversation, |s| {
                s.flag(reason.clone());
                notify = mark_notice(s, out.timestamp_ms);
                // Its outcome is logged just above: the claim can go in this write.
                s.replies.retain(|claim| claim.event_id != out.id);
            })
            .await?;
        if notify {
            self.notices.send_notice(&out.conversation, reasons::REPLY_FAILED, out.timestamp_ms, Some(&out.id)).await;
        }
        Ok(HandleOutcome::Failed(why))
    }
}
