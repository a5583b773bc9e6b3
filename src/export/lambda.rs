//! The exporter function's logic: the table's stream announces each newly queued export job
//! (template.yaml filters on `kind = export_job`); run it. A job that cannot even be read is
//! reported as a batch failure, so Lambda retries it.

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::streams::DynamoDbEventResponse;

use super::jobs::ExportJobs;
use crate::store::dynamodb::queued_export_job_from_stream_image;

pub async fn run_export_batch(jobs: &ExportJobs, batch: StreamEvent) -> DynamoDbEventResponse {
    for record in batch.records {
        if record.event_name != "INSERT" {
            continue;
        }
        let sequence = record.change.sequence_number.clone();
        let result = match queued_export_job_from_stream_image(record.change.new_image) {
            Ok(Some(id)) => jobs.run(&id).await.map(|_| ()).map_err(|e| e.to_string()),
            Ok(None) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "unreadable export job image; skipped");
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::error!(%error, sequence = ?sequence, "export job could not run; will be retried");
            return crate::worker::retry_from(sequence);
        }
    }
    DynamoDbEventResponse::default()
}
