//! `Conversations`: state saved only from the version read (a stale write is a `Conflict`),
//! listed newest activity first with cursors, and the inbox counts kept with every save.

use std::sync::Arc;

use line_oa::domain::conversation::ConversationState;
use line_oa::domain::ids::ConversationId;
use line_oa::store::{Conversations, InboxCounts, PageRequest, StoreError};

use super::read_all;

const T0: i64 = 1_700_000_000_000;

/// Saves `state` as read (or new) after `change`, and returns it as stored now.
async fn save(store: &dyn Conversations, id: &ConversationId, change: impl FnOnce(&mut ConversationState)) -> ConversationState {
    let mut state = store.conversation(id).await.unwrap().unwrap_or_else(|| ConversationState::new(id.clone()));
    change(&mut state);
    store.save_conversation(&state).await.unwrap();
    store.conversation(id).await.unwrap().unwrap()
}

/// The whole list, `limit` at a time.
async fn list(store: &dyn Conversations, limit: usize) -> Vec<ConversationId> {
    let states = read_all(limit, |page| async move { store.conversations_by_activity(&page).await.unwrap() }).await;
    states.into_iter().map(|s| s.id).collect()
}

async fn conversation_state_uses_optimistic_versions(store: Arc<dyn Conversations>) {
    let id = ConversationId::user("U6");
    assert_eq!(store.conversation(&id).await.unwrap(), None);
    let mut state = ConversationState::new(id.clone());
    state.has_written = true;
    store.save_conversation(&state).await.unwrap();
    // A second writer that also read version 0 loses.
    assert!(matches!(store.save_conversation(&state).await, Err(StoreError::Conflict(_))));
    let stored = store.conversation(&id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert!(stored.has_written);
    let mut next = stored.clone();
    next.flag("complaint");
    store.save_conversation(&next).await.unwrap();
    assert!(matches!(store.save_conversation(&stored).await, Err(StoreError::Conflict(_))));
    let last = store.conversation(&id).await.unwrap().unwrap();
    assert_eq!((last.version, last.needs_attention), (2, true));
}

async fn conversations_list_newest_activity_first_and_a_cursor_resumes_after_its_state(store: Arc<dyn Conversations>) {
    let mut newest_first = Vec::new();
    for i in 0..7 {
        let id = ConversationId::user(&format!("Uact{i}"));
        save(store.as_ref(), &id, |s| s.last_activity_ms = T0 + i * 60_000).await;
        newest_first.insert(0, id);
    }
    assert_eq!(list(store.as_ref(), 3).await, newest_first);
    let first = store.conversations_by_activity(&PageRequest { limit: 3, after: None }).await.unwrap();
    let third = &first.items[2];
    let resumed = store.conversations_by_activity(&PageRequest { limit: 2, after: Some(store.activity_cursor(third)) }).await.unwrap();
    assert_eq!(resumed.items.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), newest_first[3..5]);
}

async fn a_conversation_active_again_moves_to_the_top_once(store: Arc<dyn Conversations>) {
    let ids: Vec<_> = (0..4).map(|i| ConversationId::user(&format!("Umove{i}"))).collect();
    for (i, id) in ids.iter().enumerate() {
        save(store.as_ref(), id, |s| s.last_inbound_ms = Some(T0 + i as i64 * 1000)).await;
    }
    save(store.as_ref(), &ids[0], |s| s.last_inbound_ms = Some(T0 + 10_000)).await;
    let listed = list(store.as_ref(), 10).await;
    assert_eq!(listed, vec![ids[0].clone(), ids[3].clone(), ids[2].clone(), ids[1].clone()], "moved, not listed twice");
}

async fn the_inbox_counts_unread_and_attention_and_follow_every_save(store: Arc<dyn Conversations>) {
    assert_eq!(store.inbox().await.unwrap(), InboxCounts::default(), "an empty store counts nothing");
    let (a, b, spam) = (ConversationId::user("Uin-a"), ConversationId::user("Uin-b"), ConversationId::user("Uin-spam"));
    save(store.as_ref(), &a, |s| s.last_inbound_ms = Some(T0)).await;
    save(store.as_ref(), &b, |s| {
        s.last_inbound_ms = Some(T0 + 1000);
        s.flag("complaint");
    })
    .await;
    save(store.as_ref(), &spam, |s| {
        s.last_inbound_ms = Some(T0 + 2000);
        s.spam = true;
        s.flag("spam link");
    })
    .await;
    let counts = store.inbox().await.unwrap();
    assert_eq!((counts.unread, counts.needs_attention), (2, 1), "spam is not counted: {counts:?}");
    assert_eq!(counts.latest_activity_ms, Some(T0 + 2000), "the newest activity of any conversation");

    // Saves that change nothing counted leave the counts alone; those that do move them.
    save(store.as_ref(), &a, |s| s.tags.push("vip".into())).await;
    save(store.as_ref(), &a, |s| s.last_read_ms = T0).await;
    save(store.as_ref(), &b, |s| s.needs_attention = false).await;
    let counts = store.inbox().await.unwrap();
    assert_eq!((counts.unread, counts.needs_attention), (1, 0), "{counts:?}");
    save(store.as_ref(), &a, |s| s.last_inbound_ms = Some(T0 + 5000)).await;
    let counts = store.inbox().await.unwrap();
    assert_eq!((counts.unread, counts.latest_activity_ms), (2, Some(T0 + 5000)), "{counts:?}");
}

for_every_adapter!(
    conversation_state_uses_optimistic_versions,
    conversations_list_newest_activity_first_and_a_cursor_resumes_after_its_state,
    a_conversation_active_again_moves_to_the_top_once,
    the_inbox_counts_unread_and_attention_and_follow_every_save,
);
