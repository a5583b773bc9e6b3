//! The audit trail in the embedded store: one partition, keyed by the time-ordered record id.

use std::ops::Bound;

use async_trait::async_trait;

use super::{corrupt, text, EmbeddedStore};
use crate::domain::audit::AuditRecord;
use crate::store::{AuditLog, Page, PageRequest, StoreError};

#[async_trait]
impl AuditLog for EmbeddedStore {
    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let id = record.id.clone();
        let bytes = serde_json::to_vec(record).map_err(|e| corrupt(&id, e))?;
        self.writer
            .write(move |txn, p| {
                // Append-only: an id is never written twice.
                if p.audit.contains(txn, id.as_str())? {
                    return Ok(Err(StoreError::Conflict(id)));
                }
                p.audit.insert(txn, id.as_str(), bytes);
                Ok(Ok(()))
            })
            .await?
    }

    async fn audit(&self, page: &PageRequest) -> Result<Page<AuditRecord>, StoreError> {
        let limit = page.limit.max(1);
        let end = match &page.after {
            Some(id) => Bound::Excluded(id.as_bytes().to_vec()),
            None => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut last = None;
        let snapshot = self.ks.read_tx();
        for entry in self.parts.audit.range(&snapshot, (Bound::Unbounded, end)).rev() {
            let (key, value) = entry?;
            let id = text(&key)?;
            if items.len() == limit {
                return Ok(Page { items, next: last });
            }
            items.push(serde_json::from_slice(&value).map_err(|e| corrupt(id, e))?);
            last = Some(id.to_owned());
        }
        Ok(Page { items, next: None })
    }
}
