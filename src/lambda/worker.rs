//! The worker function: each new inbound event from the table's DynamoDB Stream decided and
//! answered, and the schedule's re-notify task. A record that fails for a while (the table, a
//! reply another worker is sending) is retried from; one that fails the same way every time
//! (unreadable, refused by the store) is logged with its keys, counted
//! (`SkippedStreamRecords`, which raises an alarm) and passed over, so the customers behind it
//! are not kept waiting for retries that cannot help.

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::streams::DynamoDbEventResponse;

use super::error::LambdaError;
use super::stream::{self, keys_of, sequence_of, OnPermanent};
use crate::domain::metrics::SKIPPED_STREAM_RECORDS;
use crate::metrics::Metrics;
use crate::service::{Handler, StaffNotices};
use crate::store::dynamodb::inbound_from_stream_image;

/// What the schedule in template.yaml sends the worker (`Input: {"task": "renotify"}`).
pub const RENOTIFY_TASK: &str = "renotify";

/// What the worker function runs: the handler for the stream's records, the reminders for the
/// schedule's task, and where the skipped records are counted.
#[derive(Clone)]
pub struct Worker {
    pub handler: Handler,
    pub notices: StaffNotices,
    pub metrics: Metrics,
}

/// The worker's two inputs: a stream batch, or the schedule's re-notify task.
pub async fn handle_worker_event(worker: &Worker, payload: serde_json::Value) -> Result<serde_json::Value, LambdaError> {
    if payload.get("task").and_then(|t| t.as_str()) == Some(RENOTIFY_TASK) {
        let sent = worker.notices.renotify_sweep().await.map_err(|e| LambdaError::task("re-notify sweep", e))?;
        tracing::info!(sent, "re-notify sweep done");
        return Ok(serde_json::json!({ "reminders": sent }));
    }
    let batch: StreamEvent = serde_json::from_value(payload).map_err(LambdaError::UnknownInput)?;
    let response = handle_stream_batch(worker, batch).await;
    serde_json::to_value(response).map_err(LambdaError::Response)
}

pub async fn handle_stream_batch(worker: &Worker, batch: StreamEvent) -> DynamoDbEventResponse {
    let inserts = batch.records.into_iter().filter(|record| record.event_name == "INSERT");
    let outcome = stream::in_order(inserts, sequence_of, OnPermanent::Skip, async |record| {
        // Named before the image is consumed: to find the item if it cannot be read.
        let keys = keys_of(&record.change.new_image);
        let inbound = match inbound_from_stream_image(record.change.new_image) {
            Ok(Some(inbound)) => inbound,
            Ok(None) => return Ok(()),
            Err(source) => return Err(LambdaError::UnreadableRecord { keys, source }),
        };
        let outcome = worker.handler.handle(&inbound).await?;
        tracing::info!(event_id = %inbound.event_id, ?outcome, "handled");
        Ok(())
    })
    .await;
    worker.metrics.count(SKIPPED_STREAM_RECORDS, outcome.skipped.len() as u64);
    outcome.response()
}
