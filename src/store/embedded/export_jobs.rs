//! Export job records in the embedded store, and the jobs a restart of the local server resumes.

use async_trait::async_trait;

use super::{corrupt, text, EmbeddedStore};
use crate::domain::export_job::{ExportJob, ExportJobId, JobStatus};
use crate::store::{ExportJobStore, StoreError};

impl EmbeddedStore {
    /// Export jobs queued or running, oldest first: what a restart of the local server resumes.
    /// (On AWS the stream starts each job; nothing waits for a restart.) Jobs are few: a scan.
    pub async fn unfinished_export_jobs(&self) -> Result<Vec<ExportJob>, StoreError> {
        self.blocking(|ks, p| {
            let mut jobs = Vec::new();
            let snapshot = ks.read_tx();
            for entry in p.export_jobs.all(&snapshot) {
                let (key, value) = entry?;
                let job: ExportJob = serde_json::from_slice(&value).map_err(|e| corrupt(text(&key).unwrap_or("export job"), e))?;
                if matches!(job.status, JobStatus::Queued | JobStatus::Running) {
                    jobs.push(job);
                }
            }
            jobs.sort_by_key(|j| j.created_ms);
            Ok(jobs)
        })
        .await
    }
}

#[async_trait]
impl ExportJobStore for EmbeddedStore {
    async fn save_export_job(&self, job: &ExportJob) -> Result<(), StoreError> {
        let id = job.id.to_string();
        let bytes = serde_json::to_vec(job).map_err(|e| corrupt(&id, e))?;
        self.writer
            .write(move |txn, p| {
                p.export_jobs.insert(txn, id.as_str(), bytes);
                Ok(())
            })
            .await
    }

    async fn export_job(&self, id: &ExportJobId) -> Result<Option<ExportJob>, StoreError> {
        let value = self.parts.export_jobs.latest(id.as_str())?;
        value.map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(id.as_str(), e))).transpose()
    }
}
