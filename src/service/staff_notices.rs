//! Telling staff a conversation needs them (SNS and/or a signed webhook), and reminding them
//! once if nobody answers. One notice per need: while one is unanswered, more messages in the
//! same conversation do not notify again.

use std::sync::Arc;

use crate::domain::conversation::ConversationState;
use crate::domain::ids::ConversationId;
use crate::domain::notice::{should_renotify, staff_answered_since, FollowUp, RenotifyDelay, StaffNotice};
use crate::notify::{Notifier, NotifyConfig};
use crate::store::{Conversations, PageRequest, StoreError};

use super::conversation_writes::ConversationWrites;
use super::Retention;

/// The sweep looks back this far past the re-notify delay; older needs were reminded or dropped.
const SWEEP_LOOKBACK_MS: i64 = 2 * 86_400_000;

/// Needs-attention notices and their one reminder.
#[derive(Clone)]
pub struct StaffNotices {
    notifier: Arc<dyn Notifier>,
    renotify: RenotifyDelay,
    console_url: Option<String>,
    /// Where a notice is recorded (and a reminder claimed) before it is sent.
    conversations: Arc<dyn Conversations>,
    retention: Retention,
}

/// Records a notice in the state (inside the versioned write) unless one is still unanswered.
/// Returns whether to send it once the write has landed.
pub(crate) fn mark_notice(state: &mut ConversationState, at_ms: i64) -> bool {
    let pending = state.notified_ms.is_some_and(|n| !staff_answered_since(n, state.staff_answered_ms));
    if pending {
        return false;
    }
    state.notified_ms = Some(at_ms);
    state.renotified = false;
    true
}

impl StaffNotices {
    pub fn new(conversations: Arc<dyn Conversations>, notifier: Arc<dyn Notifier>, config: &NotifyConfig, retention: Retention) -> Self {
        Self { notifier, renotify: config.renotify, console_url: config.console_url.clone(), conversations, retention }
    }

    /// Sends a needs-attention notice. A failure is logged, not returned: the conversation is
    /// flagged in the store whatever happens, and the sweep reminds later.
    pub(crate) async fn send_notice(&self, conversation: &ConversationId, reason: &str, at_ms: i64, event_id: Option<&str>) {
        let mut notice = StaffNotice::needs_attention(conversation.clone(), reason, at_ms).with_console_url(self.console_url.as_deref());
        if let Some(id) = event_id {
            notice = notice.with_event_id(id);
        }
        if let Err(e) = self.notifier.notify(&notice).await {
            tracing::error!(error = %e, conversation = %conversation, reason, "could not notify staff");
        }
    }

    /// Reminds staff once about conversations still unanswered after the re-notify delay.
    /// Run every few minutes (local: a timer; AWS: an EventBridge schedule on the worker).
    pub async fn renotify_sweep(&self) -> Result<usize, StoreError> {
        let Some(delay_ms) = self.renotify.as_ms() else { return Ok(0) };
        let now = self.retention.now_ms();
        let mut sent = 0;
        let mut after = None;
        loop {
            let page = self.conversations.conversations_by_activity(&PageRequest { limit: 100, after }).await?;
            for state in &page.items {
                if state.activity_ms() < now - delay_ms - SWEEP_LOOKBACK_MS {
                    return Ok(sent);
                }
                if self.due(state, now) && self.remind(state, now).await? {
                    sent += 1;
                }
            }
            match page.next {
                None => return Ok(sent),
                next => after = next,
            }
        }
    }

    fn due(&self, state: &ConversationState, now: i64) -> bool {
        state
            .notified_ms
            .is_some_and(|n| should_renotify(&FollowUp::from_times(n, state.staff_answered_ms, state.renotified), self.renotify, now))
    }

    /// Claims the reminder with a versioned write, sends it, and gives the claim back if the send
    /// failed (so the next sweep tries again): at most one reminder goes out per need.
    async fn remind(&self, state: &ConversationState, now: i64) -> Result<bool, StoreError> {
        let mut claimed = None;
        self.conversations
            .update_conversation(&state.id, |s| {
                claimed = None;
                if self.due(s, now) {
                    s.renotified = true;
                    claimed = s.notified_ms;
                }
            })
            .await?;
        let Some(notified_ms) = claimed else { return Ok(false) };
        let reason = state.attention_reason.clone().unwrap_or_else(|| "unanswered".into());
        let notice =
            StaffNotice::renotify(state.id.clone(), &reason, notified_ms, self.renotify).with_console_url(self.console_url.as_deref());
        match self.notifier.notify(&notice).await {
            Ok(()) => Ok(true),
            Err(e) => {
                tracing::error!(error = %e, conversation = %state.id, "could not send the reminder; will retry");
                self.conversations
                    .update_conversation(&state.id, |s| {
                        if s.notified_ms == Some(notified_ms) {
                            s.renotified = false;
                        }
                    })
                    .await?;
                Ok(false)
            }
        }
    }
}
