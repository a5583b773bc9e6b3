//! Legal hold as a use case: what the operator API and `line-oa hold` call. A hold needs a
//! reason (it is a legal record); releasing gives items their TTL back from the retention.

use serde::Serialize;

use super::Operator;
use crate::domain::hold::Hold;
use crate::domain::ids::ConversationId;
use crate::store::{Holds, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error("a hold needs a reason (e.g. the case or request it is for)")]
    MissingReason,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a hold or release changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum HoldChange {
    /// On hold; `items` log items lost their TTL.
    Held { hold: Hold, items: usize },
    /// Released; `items` log items got their TTL back.
    Released { conversation: ConversationId, items: usize },
}

/// Holds (`held`) or releases a conversation. Idempotent: running it again finishes a run
/// that failed half-way.
pub async fn set_hold(
    store: &dyn Holds,
    conversation: &ConversationId,
    held: bool,
    reason: &str,
    retention_days: u32,
    now_ms: i64,
) -> Result<HoldChange, HoldError> {
    if !held {
        let items = store.release_hold(conversation, retention_days, now_ms).await?;
        tracing::info!(%conversation, items, "legal hold released");
        return Ok(HoldChange::Released { conversation: conversation.clone(), items });
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(HoldError::MissingReason);
    }
    // A repeated hold keeps when it began.
    let since_ms = store.hold(conversation).await?.map_or(now_ms, |h| h.since_ms);
    let hold = Hold { conversation: conversation.clone(), reason: reason.to_owned(), since_ms };
    let items = store.set_hold(&hold).await?;
    tracing::info!(%conversation, items, reason, "legal hold set");
    Ok(HoldChange::Held { hold, items })
}

impl Operator {
    /// `set_hold` with the operator's holds, retention and clock.
    pub async fn set_hold(&self, conversation: &ConversationId, held: bool, reason: &str) -> Result<HoldChange, HoldError> {
        set_hold(self.holds.as_ref(), conversation, held, reason, self.retention.days(), self.retention.now_ms()).await
    }

    pub async fn holds(&self) -> Result<Vec<Hold>, HoldError> {
        Ok(self.holds.holds().await?)
    }
}
