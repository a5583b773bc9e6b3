//! The one versioned read-change-write loop over a conversation, for every use case that
//! changes one (handling, staff actions, reminders).

use std::future::Future;

use crate::domain::conversation::ConversationState;
use crate::domain::ids::ConversationId;
use crate::store::{Conversations, StoreError};

/// How many times an optimistic conversation update is re-read and retried on conflict.
const CONFLICT_RETRIES: usize = 8;

/// Read, change, write with a version check; re-read on conflict.
pub(crate) trait ConversationWrites {
    /// A conversation not stored yet starts empty.
    async fn update_conversation(
        &self,
        id: &ConversationId,
        change: impl FnMut(&mut ConversationState),
    ) -> Result<ConversationState, StoreError>;

    /// `if_absent` decides what a conversation not stored yet is (a new one, or an error),
    /// `change` may refuse.
    async fn try_update_conversation<E: From<StoreError>>(
        &self,
        id: &ConversationId,
        if_absent: impl Fn() -> Result<ConversationState, E>,
        change: impl FnMut(&mut ConversationState) -> Result<(), E>,
    ) -> Result<ConversationState, E>;

    /// As `try_update_conversation`, with a look at each state read before it is changed
    /// (`prepare`, given a copy, which may read elsewhere, or refuse), whose answer `change` gets.
    async fn prepared_update_conversation<P, E: From<StoreError>, F: Future<Output = Result<P, E>>>(
        &self,
        id: &ConversationId,
        if_absent: impl Fn() -> Result<ConversationState, E>,
        prepare: impl FnMut(ConversationState) -> F,
        change: impl FnMut(&mut ConversationState, P) -> Result<(), E>,
    ) -> Result<ConversationState, E>;
}

impl<T: Conversations + ?Sized> ConversationWrites for T {
    async fn update_conversation(
        &self,
        id: &ConversationId,
        mut change: impl FnMut(&mut ConversationState),
    ) -> Result<ConversationState, StoreError> {
        self.try_update_conversation(
            id,
            || Ok(ConversationState::new(id.clone())),
            |s| {
                change(s);
                Ok::<_, StoreError>(())
            },
        )
        .await
    }

    async fn try_update_conversation<E: From<StoreError>>(
        &self,
        id: &ConversationId,
        if_absent: impl Fn() -> Result<ConversationState, E>,
        mut change: impl FnMut(&mut ConversationState) -> Result<(), E>,
    ) -> Result<ConversationState, E> {
        self.prepared_update_conversation(id, if_absent, |_| std::future::ready(Ok(())), |s, ()| change(s)).await
    }

    async fn prepared_update_conversation<P, E: From<StoreError>, F: Future<Output = Result<P, E>>>(
        &self,
        id: &ConversationId,
        if_absent: impl Fn() -> Result<ConversationState, E>,
        mut prepare: impl FnMut(ConversationState) -> F,
        mut change: impl FnMut(&mut ConversationState, P) -> Result<(), E>,
    ) -> Result<ConversationState, E> {
        for _ in 0..CONFLICT_RETRIES {
            let mut state = match self.conversation(id).await? {
                Some(state) => state,
                None => if_absent()?,
            };
            let prepared = prepare(state.clone()).await?;
            change(&mut state, prepared)?;
            match self.save_conversation(&state).await {
                Ok(()) => {
                    state.version += 1;
                    return Ok(state);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(id.to_string()).into())
    }
}
