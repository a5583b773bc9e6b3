//! Export job records in the embedded store, and the jobs a restart of the local server resumes.

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{corrupt, unavailable, EmbeddedStore};
use crate::domain::export_job::{ExportJob, ExportJobId, JobStatus};
use crate::store::{ExportJobStore, StoreError};

/// job id -> ExportJob JSON.
pub(super) const EXPORT_JOBS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("export_jobs");

fn export_job(db: &Database, id: &ExportJobId) -> Result<Option<ExportJob>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let table = txn.open_table(EXPORT_JOBS).map_err(unavailable)?;
    let value = table.get(id.as_str()).map_err(unavailable)?;
    value.map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt(id.as_str(), e))).transpose()
}

/// Jobs not finished yet (queued, or running when the process stopped); jobs are few, so a scan.
fn unfinished_export_jobs(db: &Database) -> Result<Vec<ExportJob>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let table = txn.open_table(EXPORT_JOBS).map_err(unavailable)?;
    let mut jobs = Vec::new();
    for entry in table.iter().map_err(unavailable)? {
        let (key, value) = entry.map_err(unavailable)?;
        let job: ExportJob = serde_json::from_slice(value.value()).map_err(|e| corrupt(key.value(), e))?;
        if matches!(job.status, JobStatus::Queued | JobStatus::Running) {
            jobs.push(job);
        }
    }
    jobs.sort_by_key(|j| j.created_ms);
    Ok(jobs)
}

impl EmbeddedStore {
    /// Export jobs queued or running, oldest first: what a restart of the local server resumes.
    /// (On AWS the stream starts each job; nothing waits for a restart.)
    pub async fn unfinished_export_jobs(&self) -> Result<Vec<ExportJob>, StoreError> {
        self.blocking(unfinished_export_jobs).await
    }
}

#[async_trait]
impl ExportJobStore for EmbeddedStore {
    async fn save_export_job(&self, job: &ExportJob) -> Result<(), StoreError> {
        let id = job.id.to_string();
        let bytes = serde_json::to_vec(job).map_err(|e| corrupt(&id, e))?;
        self.writer
            .write(move |txn| {
                let mut table = txn.open_table(EXPORT_JOBS).map_err(unavailable)?;
                table.insert(id.as_str(), bytes.as_slice()).map_err(unavailable)?;
                Ok(())
            })
            .await
    }

    async fn export_job(&self, id: &ExportJobId) -> Result<Option<ExportJob>, StoreError> {
        let id = id.clone();
        self.blocking(move |db| export_job(db, &id)).await
    }
}
