//! What an earlier handling of an event left, read before deciding it again: the event
//! decided, its reply claimed (sending elsewhere, or interrupted), its outcome logged.

use super::{HandleOutcome, Handler};
use crate::domain::conversation::{ConversationState, ReplyClaim};
use crate::domain::event::Event;
use crate::domain::ids::{ConversationId, ReplyToken};
use crate::domain::rules::decide_with;
use crate::line_api::Profile;
use crate::service::ServiceError;
use crate::store::{InboundRecord, OutboundRecord, OutboundStatus, SendMethod, StoreError};

/// A claim younger than this may still be in flight elsewhere (a send with every retry takes
/// under a minute); an older one was interrupted.
const CLAIM_LEASE_MS: i64 = 120_000;
/// A claim with no outcome this old will never be run again on AWS (a stream keeps records 24
/// hours), and its reply token is long dead: the next decision of its conversation records it
/// "outcome unknown", as a run would, and forgets it.
const CLAIM_ABANDONED_MS: i64 = 24 * 3_600_000;

/// Why a handler does not decide an event: an earlier handling did (`Handler::before_deciding`
/// says how it tells), or reading failed.
pub(super) enum Earlier {
    /// Decided, with no reply claimed.
    Decided,
    /// Decided; its reply claimed in `state` and no outcome logged yet.
    Claimed {
        state: Box<ConversationState>,
        claim: ReplyClaim,
    },
    /// Its reply is in the log: an outcome, or a claim made there by an earlier version.
    Logged {
        state: Box<ConversationState>,
        existing: Box<OutboundRecord>,
    },
    Failed(ServiceError),
}

impl From<StoreError> for Earlier {
    fn from(e: StoreError) -> Self {
        Self::Failed(e.into())
    }
}

impl Handler {
    /// What an earlier handling of this event left in `state`, read before deciding; and the
    /// claims of earlier replies whose outcome is in the log now (forgotten in this write).
    pub(super) async fn before_deciding(&self, state: ConversationState, record: &InboundRecord) -> Result<Vec<String>, Earlier> {
        let (id, event_id) = (&record.conversation, record.event_id.as_str());
        if let Some(claim) = state.reply_claim(event_id) {
            // Its outcome may be logged already (the claim is forgotten only by a later write).
            return match self.log.outbound(id, claim.at_ms, event_id).await? {
                Some(existing) => Err(Earlier::Logged { state: Box::new(state), existing: Box::new(existing) }),
                None => Err(Earlier::Claimed { claim: claim.clone(), state: Box::new(state) }),
            };
        }
        if state.has_applied(event_id) {
            // Decided: a reply it claimed has its outcome logged (the claim is forgotten only
            // then). One claimed in the log itself, by a version before claims moved into the
            // state, may still be open.
            return match self.log.outbound(id, record.timestamp_ms, event_id).await? {
                Some(existing) => Err(Earlier::Logged { state: Box::new(state), existing: Box::new(existing) }),
                None => Err(Earlier::Decided),
            };
        }
        // Dropped from the recent ids long ago, perhaps: then the log has its reply.
        if state.may_have_forgotten(record.timestamp_ms) {
            if let Some(existing) = self.log.outbound(id, record.timestamp_ms, event_id).await? {
                return Err(Earlier::Logged { state: Box::new(state), existing: Box::new(existing) });
            }
        }
        let mut finished = Vec::new();
        let now = self.retention.now_ms();
        for claim in &state.replies {
            match self.log.outbound(id, claim.at_ms, &claim.event_id).await? {
                Some(logged) if logged.status != OutboundStatus::Sending => finished.push(claim.event_id.clone()),
                None if now - claim.claimed_ms >= CLAIM_ABANDONED_MS => {
                    // Only if nothing recorded one meanwhile: an outcome is written once.
                    self.log.claim_outbound(&self.abandoned(id, claim)).await?;
                    finished.push(claim.event_id.clone());
                }
                _ => {}
            }
        }
        Ok(finished)
    }

    /// The outcome of a claim abandoned by the run that made it (`CLAIM_ABANDONED_MS`).
    fn abandoned(&self, conversation: &ConversationId, claim: &ReplyClaim) -> OutboundRecord {
        tracing::warn!(%conversation, id = %claim.event_id, "a reply claimed a day ago has no outcome; recorded unknown");
        OutboundRecord {
            conversation: conversation.clone(),
            id: claim.event_id.clone(),
            timestamp_ms: claim.at_ms,
            created_ms: claim.claimed_ms,
            method: SendMethod::Reply,
            messages: "[]".into(),
            status: OutboundStatus::Unknown,
            reason: "outcome unknown: the run that claimed this reply stopped and it was never handled again".into(),
            expires_at: self.retention.expires_at(claim.claimed_ms),
        }
    }

    /// An earlier handling claimed this reply (at `claimed_ms`) and recorded no outcome: it is
    /// sending now (left to it), or it was interrupted. Then the reply is decided again as it was
    /// (the state holds the event and the decision's own notice) and sent with the token, never
    /// pushed: the interrupted attempt may have delivered it.
    pub(super) async fn resume(
        &self,
        record: &InboundRecord,
        event: &Event,
        state: &ConversationState,
        claimed_ms: i64,
        settings: &crate::settings::Settings,
        looked_up: &mut Option<Profile>,
    ) -> Result<HandleOutcome, ServiceError> {
        let now = self.retention.now_ms();
        let earlier_run = self.started_ms.is_some_and(|started| claimed_ms < started);
        if !earlier_run && now - claimed_ms < CLAIM_LEASE_MS {
            return Err(ServiceError::InFlight(record.event_id.to_string()));
        }
        let at = self.decided_at(record);
        // A reply the model gave is asked for again: its text is not kept in the claim.
        let verdict = match self.model_question(&settings.rules, state, event, at) {
            Some(q) => Some(self.ask_model(&q, record.event_id.as_str()).await),
            None => None,
        };
        let decision = decide_with(&settings.rules, state, event, at, verdict.as_ref());
        let messages = self.render(&decision.reply, event, looked_up).await;
        let out = self.outbound(record, &messages, &decision.reason, claimed_ms);
        match event.reply_token.as_deref().filter(|_| !decision.reply.is_empty()) {
            Some(token) => self.send(out, &messages, record, &ReplyToken::new(token), settings.push_fallback, true).await,
            None => self.unknown(out, "an earlier run stopped while sending; the rules no longer answer it".into()).await,
        }
    }
}
