//! The exporter function: runs the export jobs its SNS event names (`{"Records": [{"Sns":
//! {"Message": "{\"job\": …}"}}]}`, published by `export::sns::SnsLauncher`). A job already
//! started (a redelivery) is left alone. SNS invokes Lambda asynchronously, which has no partial
//! failures: any failed record fails the invocation, which Lambda retries twice and then parks
//! in the dead-letter queue (template.yaml), a malformed message too, so a person sees it.

use super::error::LambdaError;
use super::stream::{self, OnPermanent};
use crate::domain::export_job::ExportJobId;
use crate::export::sns::JobMessage;
use crate::service::export::jobs::ExportJobs;

/// The job an SNS record names.
fn job_id(record: &serde_json::Value) -> Result<ExportJobId, LambdaError> {
    let malformed = LambdaError::MalformedMessage;
    let message = record["Sns"]["Message"].as_str().ok_or_else(|| malformed("an SNS record without a Message".into()))?;
    let message: JobMessage = serde_json::from_str(message).map_err(|e| malformed(format!("not an export job message: {e}")))?;
    ExportJobId::parse(&message.job).ok_or_else(|| malformed(format!("{:?} is not an export job id", message.job)))
}

/// The SNS event's records, in order.
fn records(payload: &serde_json::Value) -> Result<&Vec<serde_json::Value>, LambdaError> {
    payload["Records"].as_array().ok_or_else(|| LambdaError::MalformedMessage("not an SNS event (no Records)".into()))
}

/// Runs the jobs the event names; the first that fails fails the invocation.
pub async fn run_export_notifications(jobs: &ExportJobs, payload: serde_json::Value) -> Result<serde_json::Value, LambdaError> {
    let mut ran = Vec::new();
    let message_id = |record: &&serde_json::Value| record["Sns"]["MessageId"].as_str().map(str::to_owned);
    let outcome = stream::in_order(records(&payload)?, message_id, OnPermanent::Fail, async |record| {
        let id = job_id(record)?;
        let job = jobs.run(&id).await?;
        ran.push(serde_json::json!({ "job": id.to_string(), "status": job.status }));
        Ok(())
    })
    .await;
    match outcome.failed {
        Some(failed) => Err(failed.error),
        None => Ok(serde_json::json!({ "jobs": ran })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::error::Class;

    #[test]
    fn an_sns_record_names_its_job_and_anything_else_is_a_malformed_record() {
        let id = ExportJobId::from_random(uuid::Uuid::new_v4().as_u128());
        let event = serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": format!("{{\"job\":\"{id}\"}}")}}]});
        assert_eq!(job_id(&records(&event).unwrap()[0]).unwrap(), id);
        let bad = [
            serde_json::json!({"Sns": {"Message": "{\"job\":\"../x\"}"}}),
            serde_json::json!({"Sns": {"Message": "not json"}}),
            serde_json::json!({"Sns": {}}),
        ];
        for record in bad {
            let err = job_id(&record).unwrap_err();
            assert_eq!((err.class(), err.error_type().as_str()), (Class::Permanent, "Permanent.MalformedRecord"), "{record}");
        }
        let err = records(&serde_json::json!({"task": "backfill"})).unwrap_err();
        assert_eq!(err.error_type(), "Permanent.MalformedRecord");
    }
}
