//! The audit trail in DynamoDB: one partition, `AUDIT` / `<record id>` (time-ordered), read
//! newest first; TTL on `expires_at` like the log (records of settings and holds have none).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{classify, from_item, to_item, DynamoStore};
use crate::domain::audit::AuditRecord;
use crate::store::{AuditLog, Page, PageRequest, StoreError};

pub const AUDIT_PK: &str = "AUDIT";

#[derive(Serialize, Deserialize)]
struct AuditRow {
    pk: String,
    sk: String,
    #[serde(flatten)]
    record: AuditRecord,
}

#[async_trait]
impl AuditLog for DynamoStore {
    async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let row = AuditRow { pk: AUDIT_PK.into(), sk: record.sort_key(), record: record.clone() };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&row, &row.sk)?))
            // Append-only: never replaces a record.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e, &row.sk))
    }

    async fn audit(&self, page: &PageRequest) -> Result<Page<AuditRecord>, StoreError> {
        let out = self
            .page_of_partition(AUDIT_PK, page)
            .key_condition_expression("pk = :pk")
            .scan_index_forward(false)
            .send()
            .await
            .map_err(|e| classify(e, AUDIT_PK))?;
        let mut items = Vec::new();
        let mut last = None;
        for item in out.items.unwrap_or_default() {
            let row: AuditRow = from_item(item, AUDIT_PK)?;
            last = Some(row.sk);
            items.push(row.record);
        }
        Ok(Page { items, next: out.last_evaluated_key.and(last) })
    }
}
