//! Handle one logged inbound event: update the conversation, decide, reply at most once.
//! Runs after the webhook has answered (the local background task, or the stream worker).

use std::sync::Arc;

use crate::domain::conversation::{ConversationState, ReplyClaim, UserProfile};
use crate::domain::event::Event;
use crate::domain::event::EventKind;
use crate::domain::ids::{LineId, ReplyToken};
use crate::domain::notice::reasons;
use crate::domain::outbound::OutboundMessage;
use crate::domain::rules::{decide_with, Decision, ResponseMode};

use crate::line_api::{LineApi, Profile};
use crate::metrics::Metrics;
use crate::model::GroundedModel;
use crate::store::{Conversations, EventLog, InboundRecord, OutboundStatus, SendMethod};

use self::earlier::Earlier;
use super::conversation_writes::ConversationWrites;
use super::live_settings::LiveSettings;
use super::staff_notices::{mark_notice, StaffNotices};
use super::{Retention, ServiceError};

mod earlier;
mod model;
mod send;

/// The worker's use case: handle one logged event. Built by `ServiceParts::build`.
#[derive(Clone)]
pub struct Handler {
    /// Where a reply's outcome is recorded (its claim is in the conversation's state).
    pub(super) log: Arc<dyn EventLog>,
    pub(super) conversations: Arc<dyn Conversations>,
    pub(super) line: Arc<dyn LineApi>,
    pub(super) settings: LiveSettings,
    pub(super) notices: StaffNotices,
    pub(super) retention: Retention,
    /// `ServiceParts::started_ms`: a claim made before it was cut off by the run that made it.
    pub(super) started_ms: Option<i64>,
    /// Asked only when `[ai.model]` is on and the rules say it may answer (`handle::model`).
    pub(super) model: Arc<dyn GroundedModel>,
    /// The model's calls and tokens.
    pub(super) metrics: Metrics,
}
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
        let (outcome, decided) = self.decide_and_reply(record, &mut looked_up).await?;
        // After the reply, so the customer never waits for it; a failure changes nothing else.
        // Only when this run decided: a handling run again leaves it to the next message.
        if let Some(state) = decided {
            self.refresh_profile(&state, looked_up).await;
        }
        Ok(outcome)
    }

    /// Fetches the user's LINE display name and picture at first contact and daily after
    /// (hourly after a failure), for the console's list; `looked_up` is one the greeting just got.
    /// `state` is the one the decision wrote: what it says is due needs no second read.
    async fn refresh_profile(&self, state: &ConversationState, looked_up: Option<Profile>) {
        let now = self.retention.now_ms();
        let id = &state.id;
        let Some(line_id) = id.line_id().filter(|_| state.wants_profile(now) && self.line.sends()) else { return };
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

    /// Decides and replies; also returns the state the decision wrote (None when this run
    /// found the event handled, or being handled, by an earlier one).
    async fn decide_and_reply(
        &self,
        record: &InboundRecord,
        looked_up: &mut Option<Profile>,
    ) -> Result<(HandleOutcome, Option<ConversationState>), ServiceError> {
        let event = Event::from_raw_json(&record.raw).map_err(ServiceError::Malformed)?;
        let at = self.decided_at(record);
        let settings = self.settings.current().await;
        let rules = &settings.rules;
        let (id, event_id) = (&record.conversation, record.event_id.as_str());
        let now = self.retention.now_ms();
        let mut decision: Option<Decision> = None;
        let mut notice: Option<String> = None;
        // The model's verdict, kept if a conflicting write makes the event be decided again.
        let asked = tokio::sync::OnceCell::new();
        let (event_ref, asked_ref) = (&event, &asked);
        // The event, the decision's state changes (attention, throttle, notice), the claim of its
        // reply and the version: one write. Two handlers of one event both read it undecided;
        // the write of one wins, the other reads again and finds it decided. The model is asked
        // before that write, on a copy of the state read, when the rules say it may answer.
        let written = self
            .conversations
            .prepared_update_conversation(
                id,
                || Ok(ConversationState::new(id.clone())),
                |state| async move {
                    let mut copy = rules.model.is_some().then(|| state.clone());
                    let finished = self.before_deciding(state, record).await?;
                    let question = copy.as_mut().and_then(|copy| {
                        copy.replies.retain(|claim| !finished.contains(&claim.event_id));
                        copy.apply(event_ref, record.timestamp_ms);
                        self.model_question(rules, copy, event_ref, at)
                    });
                    let verdict = match question {
                        Some(q) => Some(asked_ref.get_or_init(|| self.ask_model(&q, event_id)).await.clone()),
                        None => None,
                    };
                    Ok((finished, verdict))
                },
                |s, (finished, verdict)| {
                    s.replies.retain(|claim| !finished.contains(&claim.event_id));
                    s.apply(&event, record.timestamp_ms);
                    let d = decide_with(rules, s, &event, at, verdict.as_ref());
                    d.apply_to(s);
                    // An automatic reply spends the token; otherwise staff may still use it.
                    if !d.reply.is_empty() {
                        s.reply_token = None;
                        if event.reply_token.is_some() {
                            s.replies.push(ReplyClaim { event_id: event_id.to_owned(), at_ms: record.timestamp_ms, claimed_ms: now });
                        }
                    }
                    notice = staff_need(&d, &event).filter(|_| mark_notice(s, record.timestamp_ms));
                    decision = Some(d);
                    Ok(())
                },
            )
            .await;
        let state = match written {
            Ok(state) => state,
            Err(Earlier::Failed(e)) => return Err(e),
            Err(Earlier::Claimed { state, claim }) => {
                let outcome = self.resume(record, &event, &state, claim.claimed_ms, &settings, looked_up).await?;
                return Ok((outcome, None));
            }
            Err(Earlier::Decided) => return Ok((HandleOutcome::AlreadyHandled, None)),
            Err(Earlier::Logged { state, existing }) if existing.status == OutboundStatus::Sending => {
                let outcome = self.resume(record, &event, &state, existing.created_ms, &settings, looked_up).await?;
                return Ok((outcome, None));
            }
            Err(Earlier::Logged { existing, .. }) => {
                // Written again, as a retried handling always did: a legal hold's TTL drop that
                // failed after the outcome was written (and failed that handling) is repeated.
                self.log.finish_outbound(&existing).await?;
                return Ok((HandleOutcome::AlreadyHandled, None));
            }
        };
        let decision = decision.expect("the change runs at least once when the write succeeds");
        if let Some(reason) = &notice {
            self.notices.send_notice(id, reason, record.timestamp_ms, Some(event_id)).await;
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
            if let Err(e) = self.line.leave(id).await {
                tracing::warn!(error = %e, conversation = %id, "could not leave");
            }
        }
        if decision.reply.is_empty() {
            return Ok((HandleOutcome::NoReply(decision.reason), Some(state)));
        }
        let Some(token) = event.reply_token.as_deref() else {
            return Ok((HandleOutcome::NoReply("no reply token".into()), Some(state)));
        };
        let messages = self.render(&decision.reply, &event, looked_up).await;
        let out = self.outbound(record, &messages, &decision.reason, now);
        let outcome = self.send(out, &messages, record, &ReplyToken::new(token), settings.push_fallback, false).await?;
        Ok((outcome, Some(state)))
    }

    /// When an event is decided as of: when the user sent it, so a late or replayed event is
    /// decided as on time.
    fn decided_at(&self, record: &InboundRecord) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(record.timestamp_ms)
            .or_else(|_| jiff::Timestamp::from_millisecond(self.retention.now_ms()))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
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
