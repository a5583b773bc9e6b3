//! Export jobs on AWS, launched through SNS rather than the table's stream: the operator
//! function publishes each queued job's id to the export-job topic (`SnsLauncher`), and SNS
//! invokes the exporter function with it (`lambda::exporter`). DynamoDB Streams serves at most
//! two readers per shard without throttling, and the worker and the archiver are those two.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::export_job::ExportJobId;
use crate::service::export::jobs::JobLauncher;
use crate::service::export::ExportError;

/// The message published for a queued job: `{"job": "<id>"}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobMessage {
    pub job: String,
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
