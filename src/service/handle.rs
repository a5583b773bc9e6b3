//! Handle one logged inbound event: update the conversation, decide, reply at most once.
//! Runs after the webhook has answered (the local background task, or the stream worker).

use std::sync::Arc;

use crate::domain::conversation::UserProfile;
use crate::domain::event::Event;
use crate::domain::event::EventKind;
use crate::domain::ids::{ConversationId, LineId, ReplyToken};
use crate::domain::notice::reasons;
use crate::domain::outbound::{prepare, OutboundMessage};
use crate::domain::rules::{decide, Decision, ResponseMode};

use crate::line_api::{LineApi, LineApiError, Profile};
use crate::store::{Claim, Conversations, EventLog, InboundRecord, OutboundRecord, OutboundStatus, SendMethod};

use super::conversation_writes::ConversationWrites;
use super::live_settings::LiveSettings;
use super::staff_notices::{mark_notice, StaffNotices};
use super::{Retention, ServiceError};

/// The worker's use case: handle one logged event. Built by `ServiceParts::build`.
#[derive(Clone)]
pub struct Handler {
    /// Where the reply is claimed and its outcome recorded.
    pub(super) log: Arc<dyn EventLog>,
    pub(super) conversations: Arc<dyn Conversations>,
    pub(super) line: Arc<dyn LineApi>,
    pub(super) settings: LiveSettings,
    pub(super) notices: StaffNotices,
    pub(super) retention: Retention,
    /// `ServiceParts::started_ms`: a claim made before it was cut off by the run that made it.
    pub(super) started_ms: Option<i64>,
}
/// A claim younger than this may still be in flight elsewhere (a send with every retry takes
/// under a minute); an older one was interrupted.
const CLAIM_LEASE_MS: i64 = 120_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandleOutcome {
    /// Nothing to send; the reason says why.
    NoReply(String),
    Sent {
        method: SendMethod,
    },
    /// Handled before (a redelivered stream record): nothing done again.
    AlreadyHandled,
    /// The reply could not be delivered; the conversation is flagged for staff.
    Failed(String),
    /// No access token: logged instead of sent.
    Logged,
    /// An interrupted attempt may have delivered the reply; it was not sent again.
    OutcomeUnknown(String),
}

/// A profile lookup never holds up handling for long: the console shows the id meanwhile.
const PROFILE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

impl Handler {
    pub async fn handle(&self, record: &InboundRecord) -> Result<HandleOutcome, ServiceError> {
        let mut looked_up = None;
        let outcome = self.decide_and_reply(record, &mut looked_up).await?;
        // After the reply, so the customer never waits for it; a failure changes nothing else.
        self.refresh_profile(&record.conversation, looked_up).await;
        Ok(outcome)
    }

    /// Fetches the user's LINE display name and picture at first contact and daily after
    /// (hourly after a failure), for the console's list; `looked_up` is one the greeting just got.
    async fn refresh_profile(&self, id: &ConversationId, looked_up: Option<Profile>) {
        let now = self.retention.now_ms();
        let wanted = match self.conversations.conversation(id).await {
            Ok(Some(state)) => state.wants_profile(now),
            _ => false,
        };
        let Some(line_id) = id.line_id().filter(|_| wanted && self.line.sends()) else { return };
        let result = match looked_up {
            Some(p) => Ok(Ok(p)),
            None if id.is_user() => tokio::time::timeout(PROFILE_TIMEOUT, self.line.profile(&LineId::new(line_id))).await,
            None => tokio::time::timeout(PROFILE_TIMEOUT, self.line.group_summary(&LineId::new(line_id))).await,
        };
        let fetched = match result {
            Ok(Ok(p)) => {
                let display_name = Some(p.display_name).filter(|n| !n.is_empty());
                Some(UserProfile { display_name, picture_url: p.picture_url, fetched_ms: now })
            }
            Ok(Err(e)) => {
                tracing::info!(conversation = %id, error = %e, "no LINE profile; the console shows the id");
                None
            }
            Err(_) => {
                tracing::info!(conversation = %id, "LINE profile timed out; tried again later");
                None
            }
        };
        let saved = self
            .conversations
            .update_conversation(id, |s| {
                s.profile_checked_ms = Some(now);
                if let Some(p) = &fetched {
                    s.profile = Some(p.clone());
                }
            })
            .await;
        if let Err(e) = saved {
            tracing::warn!(conversation = %id, error = %e, "could not save the LINE profile");
        }
    }

    async fn decide_and_reply(&self, record: &InboundRecord, looked_up: &mut Option<Profile>) -> Result<HandleOutcome, ServiceError> {
        let event = Event::from_raw_json(&record.raw).map_err(ServiceError::Malformed)?;
        // Decide by when the user sent it, so a late or replayed event is decided as on time.
        let at = jiff::Timestamp::from_millisecond(record.timestamp_ms)
            .or_else(|_| jiff::Timestamp::from_millisecond(self.retention.now_ms()))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let settings = self.settings.current().await;
        let rules = &settings.rules;
        let mut decision: Option<Decision> = None;
        let mut notice: Option<String> = None;
        // The event, the decision's state changes (attention, throttle, notice) and the version: one write.
        self.conversations
            .update_conversation(&record.conversation, |s| {
                s.apply(&event, record.timestamp_ms);
                let d = decide(rules, s, &event, at);
                d.apply_to(s);
                // An automatic reply spends the token; otherwise staff may still use it.
                if !d.reply.is_empty() {
                    s.reply_token = None;
                }
                notice = staff_need(&d, &event).filter(|_| mark_notice(s, record.timestamp_ms));
                decision = Some(d);
            })
            .await?;
        let decision = decision.expect("update_conversation runs the change at least once");
        if let Some(reason) = &notice {
            self.notices.send_notice(&record.conversation, reason, record.timestamp_ms, Some(record.event_id.as_str())).await;
        }
        tracing::info!(
            event_id = %record.event_id,
            conversation = %record.conversation,
            mode = decision.mode.map(|m| m.as_str()),
            category = decision.classification.as_ref().map(|c| c.category.as_str()),
            reason = %decision.reason,
            "decided"
        );
        if decision.leave {
            if let Err(e) = self.line.leave(&record.conversation).await {
                tracing::warn!(error = %e, conversation = %record.conversation, "could not leave");
            }
        }
        if decision.reply.is_empty() {
            return Ok(HandleOutcome::NoReply(decision.reason));
        }
        let Some(token) = event.reply_token.as_deref() else {
            return Ok(HandleOutcome::NoReply("no reply token".into()));
        };
        let messages = self.render(&decision.reply, &event, looked_up).await;
        self.reply_once(record, &ReplyToken::new(token), &messages, &decision.reason, settings.push_fallback).await
    }

    /// Fills `{nickname}` (the user's LINE display name, if LINE gives it).
    async fn render(&self, messages: &[OutboundMessage], event: &Event, looked_up: &mut Option<Profile>) -> Vec<OutboundMessage> {
        let wants_nickname = messages.iter().any(|m| matches!(m, OutboundMessage::Text { text } if text.contains("{nickname}")));
        let nickname = match (wants_nickname, event.source.as_ref().and_then(|s| s.user_id())) {
            (true, Some(user_id)) => match self.line.profile(&LineId::new(user_id)).await {
                Ok(p) => {
                    let name = p.display_name.clone();
                    *looked_up = Some(p);
                    name
                }
                Err(_) => String::new(),
            },
            _ => String::new(),
        };
        messages
            .iter()
            .map(|m| match m {
                OutboundMessage::Text { text } => OutboundMessage::text(text.replace("{nickname}", &nickname)),
                other => other.clone(),
            })
            .collect()
    }

    async fn reply_once(
        &self,
        record: &InboundRecord,
        token: &ReplyToken,
        messages: &[OutboundMessage],
        reason: &str,
        push_fallback: bool,
    ) -> Result<HandleOutcome, ServiceError> {
        let now = self.retention.now_ms();
        let mut out = OutboundRecord {
            conversation: record.conversation.clone(),
            id: record.event_id.to_string(),
            timestamp_ms: record.timestamp_ms,
            created_ms: now,
            method: SendMethod::Reply,
            messages: serde_json::to_string(&messages.iter().map(OutboundMessage::to_line_json).collect::<Vec<_>>()).unwrap_or_default(),
            status: OutboundStatus::Sending,
            reason: reason.to_owned(),
            expires_at: self.retention.expires_at(now),
        };
        let earlier_attempt_unknown = match self.log.claim_outbound(&out).await? {
            Claim::Claimed => false,
            Claim::Exists(existing) if existing.status == OutboundStatus::Sending => {
                let earlier_run = self.started_ms.is_some_and(|started| existing.created_ms < started);
                if !earlier_run && now - existing.created_ms < CLAIM_LEASE_MS {
                    return Err(ServiceError::InFlight(existing.id));
                }
                true
            }
            Claim::Exists(_) => return Ok(HandleOutcome::AlreadyHandled),
        };
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
    async fn unknown(&self, mut out: OutboundRecord, interrupted: String) -> Result<HandleOutcome, ServiceError> {
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
            })
            .await?;
        if notify {
            self.notices.send_notice(&out.conversation, reasons::REPLY_FAILED, out.timestamp_ms, Some(&out.id)).await;
        }
        Ok(HandleOutcome::Failed(why))
    }
}

/// Whether this decision leaves something staff must act on, and the notice's reason tag:
/// the rules flagged it (a complaint, a question they cannot answer), or a user's message was
/// left to staff by chat mode.
fn staff_need(decision: &Decision, event: &Event) -> Option<String> {
    if let Some(reason) = &decision.attention {
        return Some(reason.clone());
    }
    let left_to_staff = decision.reply.is_empty()
        && matches!(event.kind, EventKind::Message(_))
        && matches!(decision.mode, Some(ResponseMode::Chat | ResponseMode::SmartChat));
    left_to_staff.then(|| reasons::CHAT_HOURS.to_owned())
}
