//! `Documents`: a document is written only from the version read (0: must not exist yet),
//! deleted only at its version, and a collection lists in id order with cursors.

use std::sync::Arc;

use line_oa::store::{Doc, Documents, PageRequest, StoreError};

use super::read_all;

fn doc(id: &str, body: &str, version: u64) -> Doc {
    Doc { id: id.into(), body: body.into(), version }
}

async fn a_document_is_created_once_and_updated_only_from_its_version(store: Arc<dyn Documents>) {
    assert_eq!(store.doc("canned", "greeting").await.unwrap(), None, "nothing stored yet");
    store.put_doc("canned", &doc("greeting", r#"{"text":"hello"}"#, 0)).await.unwrap();
    assert_eq!(store.doc("canned", "greeting").await.unwrap(), Some(doc("greeting", r#"{"text":"hello"}"#, 1)));
    let again = store.put_doc("canned", &doc("greeting", r#"{"text":"hi"}"#, 0)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "a second create loses: {again:?}");

    store.put_doc("canned", &doc("greeting", r#"{"text":"hi"}"#, 1)).await.unwrap();
    let stale = store.put_doc("canned", &doc("greeting", r#"{"text":"hey"}"#, 1)).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "a write from a stale version loses: {stale:?}");
    assert_eq!(store.doc("canned", "greeting").await.unwrap(), Some(doc("greeting", r#"{"text":"hi"}"#, 2)));
    assert_eq!(store.doc("meta", "greeting").await.unwrap(), None, "collections are apart");
}

async fn a_document_is_deleted_only_at_its_current_version(store: Arc<dyn Documents>) {
    let absent = store.delete_doc("canned", "nothing", 1).await;
    assert!(matches!(absent, Err(StoreError::Conflict(_))), "deleting what is not there: {absent:?}");
    store.put_doc("canned", &doc("bye", "{}", 0)).await.unwrap();
    store.put_doc("canned", &doc("bye", r#"{"v":2}"#, 1)).await.unwrap();
    let stale = store.delete_doc("canned", "bye", 1).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert!(store.doc("canned", "bye").await.unwrap().is_some(), "a refused delete keeps it");
    store.delete_doc("canned", "bye", 2).await.unwrap();
    assert_eq!(store.doc("canned", "bye").await.unwrap(), None);
    store.put_doc("canned", &doc("bye", "{}", 0)).await.unwrap();
    assert_eq!(store.doc("canned", "bye").await.unwrap().map(|d| d.version), Some(1), "created anew after a delete");
}

async fn a_collection_lists_in_id_order_with_cursors_and_nothing_of_another(store: Arc<dyn Documents>) {
    let notes = "notes:user:U1";
    let mut ids: Vec<String> = (0..9).map(|i| format!("n{i}")).collect();
    // Written out of order; listed in id order.
    ids.reverse();
    for id in &ids {
        store.put_doc(notes, &doc(id, &format!(r#"{{"id":"{id}"}}"#), 0)).await.unwrap();
    }
    ids.reverse();
    // A collection whose name starts with this one's, and one that sorts right before it.
    store.put_doc("notes:user:U10", &doc("x", "{}", 0)).await.unwrap();
    store.put_doc("notes:user:U0", &doc("y", "{}", 0)).await.unwrap();

    let listed = read_all(4, |page| {
        let store = store.clone();
        async move { store.docs(notes, &page).await.unwrap() }
    })
    .await;
    for d in &listed {
        assert_eq!((d.body.clone(), d.version), (format!(r#"{{"id":"{}"}}"#, d.id), 1));
    }
    assert_eq!(listed.into_iter().map(|d| d.id).collect::<Vec<_>>(), ids);
    let empty = store.docs("tags", &PageRequest { limit: 4, after: None }).await.unwrap();
    assert!(empty.items.is_empty() && empty.next.is_none());
}

for_every_adapter!(
    a_document_is_created_once_and_updated_only_from_its_version,
    a_document_is_deleted_only_at_its_current_version,
    a_collection_lists_in_id_order_with_cursors_and_nothing_of_another,
);
