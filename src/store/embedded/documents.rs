//! The operator side's small documents in the embedded store: one table keyed by
//! (collection, id), each value the body and its optimistic version.

use std::ops::Bound;

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::{corrupt, unavailable, EmbeddedStore};
use crate::store::{Doc, Documents, Page, PageRequest, StoreError};

/// (collection, id) -> DocValue JSON.
pub(super) const DOCS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("docs");

#[derive(serde::Serialize, serde::Deserialize)]
struct DocValue {
    body: String,
    version: u64,
}

#[async_trait]
impl Documents for EmbeddedStore {
    async fn doc(&self, collection: &str, id: &str) -> Result<Option<Doc>, StoreError> {
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(DOCS).map_err(unavailable)?;
            let value = table.get((collection.as_str(), id.as_str())).map_err(unavailable)?;
            value
                .map(|v| {
                    let d: DocValue = serde_json::from_slice(v.value()).map_err(|e| corrupt(&id, e))?;
                    Ok(Doc { id: id.clone(), body: d.body, version: d.version })
                })
                .transpose()
        })
        .await
    }

    async fn put_doc(&self, collection: &str, doc: &Doc) -> Result<(), StoreError> {
        let (collection, id, expected) = (collection.to_owned(), doc.id.clone(), doc.version);
        let bytes = serde_json::to_vec(&DocValue { body: doc.body.clone(), version: expected + 1 }).map_err(|e| corrupt(&id, e))?;
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(DOCS).map_err(unavailable)?;
                let key = (collection.as_str(), id.as_str());
                let stored = match table.get(key).map_err(unavailable)? {
                    Some(v) => serde_json::from_slice::<DocValue>(v.value()).map_err(|e| corrupt(&id, e))?.version,
                    None => 0,
                };
                if stored != expected {
                    return Ok(Err(StoreError::Conflict(id.clone())));
                }
                table.insert(key, bytes.as_slice()).map_err(unavailable)?;
                Ok(Ok(()))
            })
            .await?
    }

    async fn delete_doc(&self, collection: &str, id: &str, version: u64) -> Result<(), StoreError> {
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(DOCS).map_err(unavailable)?;
                let key = (collection.as_str(), id.as_str());
                let stored = match table.get(key).map_err(unavailable)? {
                    Some(v) => Some(serde_json::from_slice::<DocValue>(v.value()).map_err(|e| corrupt(&id, e))?.version),
                    None => None,
                };
                if stored != Some(version) {
                    return Ok(Err(StoreError::Conflict(id.clone())));
                }
                table.remove(key).map_err(unavailable)?;
                Ok(Ok(()))
            })
            .await?
    }

    async fn docs(&self, collection: &str, page: &PageRequest) -> Result<Page<Doc>, StoreError> {
        let collection = collection.to_owned();
        let limit = page.limit.max(1);
        let after = page.after.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(DOCS).map_err(unavailable)?;
            let start = match &after {
                Some(id) => Bound::Excluded((collection.as_str(), id.as_str())),
                None => Bound::Included((collection.as_str(), "")),
            };
            let mut items = Vec::new();
            let mut last = None;
            for entry in table.range::<(&str, &str)>((start, Bound::Unbounded)).map_err(unavailable)? {
                let (key, value) = entry.map_err(unavailable)?;
                let (c, id) = key.value();
                if c != collection {
                    break;
                }
                if items.len() == limit {
                    return Ok(Page { items, next: last });
                }
                let d: DocValue = serde_json::from_slice(value.value()).map_err(|e| corrupt(id, e))?;
                items.push(Doc { id: id.to_owned(), body: d.body, version: d.version });
                last = Some(id.to_owned());
            }
            Ok(Page { items, next: None })
        })
        .await
    }
}
