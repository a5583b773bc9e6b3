//! The audit trail in the embedded store: one table, keyed by the time-ordered record id.

use std::ops::Bound;

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::{corrupt, unavailable, EmbeddedStore};
use crate::domain::audit::AuditRecord;
use crate::store::{AuditLog, Page, PageRequest, StoreError};

/// record id -> AuditRecord JSON.
pub(super) const AUDIT: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("audit");

#[async_trait]
impl AuditLog for EmbeddedStore {
    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let id = record.id.clone();
        let bytes = serde_json::to_vec(record).map_err(|e| corrupt(&id, e))?;
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(AUDIT).map_err(unavailable)?;
                // Append-only: an id is never written twice.
                if table.get(id.as_str()).map_err(unavailable)?.is_some() {
                    return Ok(Err(StoreError::Conflict(id)));
                }
                table.insert(id.as_str(), bytes.as_slice()).map_err(unavailable)?;
                Ok(Ok(()))
            })
            .await?
    }

    async fn audit(&self, page: &PageRequest) -> Result<Page<AuditRecord>, StoreError> {
        let limit = page.limit.max(1);
        let txn = self.db.begin_read().map_err(unavailable)?;
        let table = txn.open_table(AUDIT).map_err(unavailable)?;
        let end = match &page.after {
            Some(id) => Bound::Excluded(id.as_str()),
            None => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut last = None;
        for entry in table.range::<&str>((Bound::Unbounded, end)).map_err(unavailable)?.rev() {
            let (key, value) = entry.map_err(unavailable)?;
            if items.len() == limit {
                return Ok(Page { items, next: last });
            }
            items.push(serde_json::from_slice(value.value()).map_err(|e| corrupt(key.value(), e))?);
            last = Some(key.value().to_owned());
        }
        Ok(Page { items, next: None })
    }
}
