//! The operator side's small documents in the embedded store: one partition keyed by
//! (collection, id), each value the body and its optimistic version.

use std::ops::Bound;

use async_trait::async_trait;

use super::{after_prefix, corrupt, key2, prefix, split2, EmbeddedStore};
use crate::store::{Doc, Documents, Page, PageRequest, StoreError};

#[derive(serde::Serialize, serde::Deserialize)]
struct DocValue {
    body: String,
    version: u64,
}

fn version_of(id: &str, value: Option<fjall::UserValue>) -> Result<Option<u64>, StoreError> {
    value.map(|v| serde_json::from_slice::<DocValue>(&v).map(|d| d.version).map_err(|e| corrupt(id, e))).transpose()
}

#[async_trait]
impl Documents for EmbeddedStore {
    async fn doc(&self, collection: &str, id: &str) -> Result<Option<Doc>, StoreError> {
        let value = self.parts.docs.latest(key2(collection, id))?;
        value
            .map(|v| {
                let d: DocValue = serde_json::from_slice(&v).map_err(|e| corrupt(id, e))?;
                Ok(Doc { id: id.to_owned(), body: d.body, version: d.version })
            })
            .transpose()
    }

    async fn put_doc(&self, collection: &str, doc: &Doc) -> Result<(), StoreError> {
        let (key, id, expected) = (key2(collection, &doc.id), doc.id.clone(), doc.version);
        let bytes = serde_json::to_vec(&DocValue { body: doc.body.clone(), version: expected + 1 }).map_err(|e| corrupt(&id, e))?;
        self.writer
            .write(move |txn, p| {
                let stored = version_of(&id, p.docs.get(txn, &key)?)?.unwrap_or(0);
                if stored != expected {
                    return Ok(Err(StoreError::Conflict(id)));
                }
                p.docs.insert(txn, key, bytes);
                Ok(Ok(()))
            })
            .await?
    }

    async fn delete_doc(&self, collection: &str, id: &str, version: u64) -> Result<(), StoreError> {
        let (key, id) = (key2(collection, id), id.to_owned());
        self.writer
            .write(move |txn, p| {
                if version_of(&id, p.docs.get(txn, &key)?)? != Some(version) {
                    return Ok(Err(StoreError::Conflict(id)));
                }
                p.docs.remove(txn, key);
                Ok(Ok(()))
            })
            .await?
    }

    async fn docs(&self, collection: &str, page: &PageRequest) -> Result<Page<Doc>, StoreError> {
        let collection = collection.to_owned();
        let limit = page.limit.max(1);
        let after = page.after.clone();
        self.blocking(move |ks, p| {
            let start = match &after {
                Some(id) => Bound::Excluded(key2(&collection, id)),
                None => Bound::Included(prefix(&collection)),
            };
            let mut items = Vec::new();
            let mut last = None;
            let snapshot = ks.read_tx();
            for entry in p.docs.range(&snapshot, (start, Bound::Excluded(after_prefix(&collection)))) {
                let (key, value) = entry?;
                let (_, id) = split2(&key)?;
                if items.len() == limit {
                    return Ok(Page { items, next: last });
                }
                let d: DocValue = serde_json::from_slice(&value).map_err(|e| corrupt(id, e))?;
                items.push(Doc { id: id.to_owned(), body: d.body, version: d.version });
                last = Some(id.to_owned());
            }
            Ok(Page { items, next: None })
        })
        .await
    }
}
