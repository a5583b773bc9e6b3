//! `AuditLog`: append-only (an id is written once), read newest first with cursors.

use std::sync::Arc;

use line_oa::domain::audit::{audit_id, AuditRecord};
use line_oa::store::{AuditLog, PageRequest, StoreError};

use super::read_all;

fn record(at_ms: i64, action: &str, expires_at: Option<i64>) -> AuditRecord {
    AuditRecord {
        id: audit_id(at_ms, 42),
        at_ms,
        actor: "alice".into(),
        role: "admin".into(),
        action: action.into(),
        conversation: Some("user:U1".into()),
        targets: vec!["note=n1".into()],
        detail: Some("status=done".into()),
        request_id: format!("req-{at_ms}"),
        status: 200,
        expires_at,
    }
}

async fn audit_records_page_newest_first_with_cursors(store: Arc<dyn AuditLog>) {
    let empty = store.audit(&PageRequest { limit: 3, after: None }).await.unwrap();
    assert!(empty.items.is_empty() && empty.next.is_none());
    let mut newest_first = Vec::new();
    // Appended out of time order: read back by time all the same.
    for i in [3, 0, 6, 1, 4, 2, 5] {
        let r = record(1_764_000_000_000 + i * 1000, "note.add", Some(1_800_000_000));
        store.append_audit(&r).await.unwrap();
        newest_first.push(r);
    }
    newest_first.sort_by(|a, b| b.id.cmp(&a.id));
    let seen = read_all(3, |page| {
        let store = store.clone();
        async move { store.audit(&page).await.unwrap() }
    })
    .await;
    assert_eq!(seen, newest_first);
}

async fn an_audit_record_is_appended_once_and_a_kept_one_reads_back_without_ttl(store: Arc<dyn AuditLog>) {
    let kept = record(1_764_000_000_000, "hold.set", None);
    store.append_audit(&kept).await.unwrap();
    let again = store.append_audit(&AuditRecord { action: "reply".into(), ..kept.clone() }).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "append-only: {again:?}");
    let page = store.audit(&PageRequest { limit: 10, after: None }).await.unwrap();
    assert_eq!(page.items, vec![kept], "the first record stays, its TTL still none");
}

for_every_adapter!(audit_records_page_newest_first_with_cursors, an_audit_record_is_appended_once_and_a_kept_one_reads_back_without_ttl,);
