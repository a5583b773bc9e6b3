//! The DynamoDB adapter's part of export jobs.
//!
//! Jobs: `JOB#<id>` / `JOB`, the job as a map under `job`, `kind = export_job` (what the
//! exporter function's stream filter matches), kept `JOB_RECORD_DAYS` by TTL.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{classify, from_item, to_item, DynamoStore};
use crate::domain::export_job::{ExportJob, ExportJobId};
use crate::store::{ExportJobStore, StoreError};

const JOB_SK: &str = "JOB";
pub const JOB_KIND: &str = "export_job";
/// Job records outlive their files (the bucket expires those) so a late status call still
/// says what happened.
const JOB_RECORD_DAYS: i64 = 30;

#[derive(Serialize, Deserialize)]
struct JobRow {
    pk: String,
    sk: String,
    kind: String,
    job: ExportJob,
    expires_at: i64,
}

fn job_key(id: &ExportJobId) -> String {
    format!("JOB#{id}")
}

/// The job a stream image announces, if it is a newly queued export job (the exporter's input).
pub fn queued_export_job_from_stream_image(image: serde_dynamo::Item) -> Result<Option<ExportJobId>, StoreError> {
    #[derive(Deserialize)]
    struct Kind {
        kind: Option<String>,
    }
    let kind: Kind = serde_dynamo::from_item(image.clone()).map_err(|e| StoreError::corrupt("stream image", e))?;
    if kind.kind.as_deref() != Some(JOB_KIND) {
        return Ok(None);
    }
    let row: JobRow = serde_dynamo::from_item(image).map_err(|e| StoreError::corrupt("job image", e))?;
    Ok(Some(row.job.id))
}

#[async_trait]
impl ExportJobStore for DynamoStore {
    async fn save_export_job(&self, job: &ExportJob) -> Result<(), StoreError> {
        let pk = job_key(&job.id);
        let row = JobRow {
            pk: pk.clone(),
            sk: JOB_SK.into(),
            kind: JOB_KIND.into(),
            job: job.clone(),
            expires_at: job.created_ms / 1000 + JOB_RECORD_DAYS * 86_400,
        };
        let item = to_item(&row, &pk)?;
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map(|_| ()).map_err(|e| classify(e, &pk))
    }

    async fn export_job(&self, id: &ExportJobId) -> Result<Option<ExportJob>, StoreError> {
        let pk = job_key(id);
        let item: Option<HashMap<String, AttributeValue>> = self.get(pk.clone(), JOB_SK.into()).await?;
        item.map(|item| from_item::<JobRow>(item, &pk).map(|row| row.job)).transpose()
    }
}
