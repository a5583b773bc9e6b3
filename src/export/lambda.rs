//! Export jobs on AWS, launched through SNS rather than the table's stream: the operator
//! function publishes each queued job's id to the export-job topic (`SnsLauncher`), and SNS
//! invokes the exporter function with it (asynchronously: Lambda retries a failed run twice,
//! then parks the event in the dead-letter queue). DynamoDB Streams serves at most two readers
//! per shard without throttling, and the worker and the archiver are those two.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::jobs::{ExportJobs, JobLauncher};
use super::ExportError;
use crate::domain::export_job::ExportJobId;

/// The message published for a queued job: `{"job": "<id>"}`.
#[derive(Debug, Serialize, Deserialize)]
struct JobMessage {
    job: String,
}

/// Publishes the id of each queued job to the export-job topic, whose subscriber is the
/// exporter function. The job is saved before it is published, so what runs is durable.
pub struct SnsLauncher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsLauncher {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self { client, topic_arn: topic_arn.into() }
    }
}

#[async_trait]
impl JobLauncher for SnsLauncher {
    async fn launch(&self, id: &ExportJobId) -> Result<(), ExportError> {
        let message = serde_json::to_string(&JobMessage { job: id.to_string() }).expect("job messages serialise");
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message)
            .send()
            .await
            .map_err(|e| ExportError::launch(format!("SNS Publish: {}", crate::errors::sdk_detail(&e)), Some(Box::new(e))))?;
        Ok(())
    }
}

/// The job ids an SNS event (`{"Records": [{"Sns": {"Message": …}}]}`) names.
fn job_ids(payload: &serde_json::Value) -> Result<Vec<ExportJobId>, String> {
    let records = payload["Records"].as_array().ok_or("not an SNS event (no Records)")?;
    records
        .iter()
        .map(|record| {
            let message = record["Sns"]["Message"].as_str().ok_or("an SNS record without a Message")?;
            let message: JobMessage = serde_json::from_str(message).map_err(|e| format!("not an export job message: {e}"))?;
            ExportJobId::parse(&message.job).ok_or_else(|| format!("{:?} is not an export job id", message.job))
        })
        .collect()
}

/// The exporter function: runs the jobs its SNS event names. A job already started (a
/// redelivery) is left alone; an error (a job that cannot be read) has Lambda retry the event.
pub async fn run_export_notifications(jobs: &ExportJobs, payload: serde_json::Value) -> Result<serde_json::Value, String> {
    let ids = job_ids(&payload)?;
    let mut ran = Vec::new();
    for id in ids {
        let job = jobs.run(&id).await.map_err(|e| {
            tracing::error!(error = %e, job = %id, "export job could not run; the event will be retried");
            e.to_string()
        })?;
        ran.push(serde_json::json!({ "job": id.to_string(), "status": job.status }));
    }
    Ok(serde_json::json!({ "jobs": ran }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sns_event_names_its_jobs_and_anything_else_is_refused() {
        let id = ExportJobId::random();
        let event = serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": format!("{{\"job\":\"{id}\"}}")}}]});
        assert_eq!(job_ids(&event).unwrap(), vec![id]);
        assert!(job_ids(&serde_json::json!({"Records": [{"Sns": {"Message": "{\"job\":\"../x\"}"}}]})).is_err());
        assert!(job_ids(&serde_json::json!({"task": "backfill"})).is_err());
    }
}
