//! The Lambda worker's logic: handle inbound events from the table's DynamoDB Stream.
//! Failures are reported per record so Lambda retries from the first failed one.

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::archive::{ArchiveError, Archiver, BackfillRun, Reconciliation};
use crate::domain::archive::index::content_version;
use crate::domain::metrics::UNREADABLE_STREAM_RECORDS;
use crate::service::Service;
use crate::store::dynamodb::{inbound_from_stream_image, log_item_from_stream_image};

/// How DynamoDB Streams marks a REMOVE done by TTL.
const TTL_IDENTITY_TYPE: &str = "Service";
const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

/// What the schedule in template.yaml sends the worker (`Input: {"task": "renotify"}`).
pub const RENOTIFY_TASK: &str = "renotify";

/// The worker's two inputs: a stream batch, or the schedule's re-notify task.
pub async fn handle_worker_event(service: &Service, payload: serde_json::Value) -> Result<serde_json::Value, String> {
    if payload.get("task").and_then(|t| t.as_str()) == Some(RENOTIFY_TASK) {
        let sent = service.renotify_sweep().await.map_err(|e| format!("re-notify sweep failed: {e}"))?;
        tracing::info!(sent, "re-notify sweep done");
        return Ok(serde_json::json!({ "reminders": sent }));
    }
    let batch: StreamEvent = serde_json::from_value(payload).map_err(|e| format!("not a DynamoDB Stream batch nor a known task: {e}"))?;
    let response = handle_stream_batch(service, batch).await;
    serde_json::to_value(response).map_err(|e| e.to_string())
}

pub async fn handle_stream_batch(service: &Service, batch: StreamEvent) -> DynamoDbEventResponse {
    for record in batch.records {
        if record.event_name != "INSERT" {
            continue;
        }
        let sequence = record.change.sequence_number.clone();
        let result = match inbound_from_stream_image(record.change.new_image) {
            Ok(Some(inbound)) => service
                .handle(&inbound)
                .await
                .map(|outcome| {
                    tracing::info!(event_id = %inbound.event_id, ?outcome, "handled");
                })
                .map_err(|e| e.to_string()),
            Ok(None) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = result {
            // Lambda retries from the lowest failed sequence number, so later records in this
            // batch are redone anyway: stop here and keep per-conversation order.
            tracing::error!(%error, sequence = ?sequence, "stream record failed; will be retried");
            return retry_from(sequence);
        }
    }
    DynamoDbEventResponse::default()
}

/// What the schedule in template.yaml sends the archiver (`Input: {"task": "retry-media"}`).
pub const RETRY_MEDIA_TASK: &str = "retry-media";
/// What the backfill schedule sends the archiver (`Input: {"task": "backfill"}`).
pub const BACKFILL_TASK: &str = "backfill";
/// How long one scheduled backfill run may start new pages (the archiver's timeout is 300 s);
/// the next run goes on from there.
pub const BACKFILL_BUDGET: std::time::Duration = std::time::Duration::from_secs(120);

/// The archiver's inputs: a stream batch, or a scheduled task (trying failed media downloads
/// again, or the backfill sweep).
pub async fn handle_archiver_event(archiver: &Archiver, payload: serde_json::Value) -> Result<serde_json::Value, String> {
    match payload.get("task").and_then(|t| t.as_str()) {
        Some(RETRY_MEDIA_TASK) => {
            let report =
                archiver.retry_media(jiff::Timestamp::now().as_millisecond()).await.map_err(|e| format!("media retry failed: {e}"))?;
            tracing::info!(stored = report.stored, still_failing = report.still_failing, given_up = report.given_up, "media retry done");
            return serde_json::to_value(report).map_err(|e| e.to_string());
        }
        Some(BACKFILL_TASK) => {
            let now_ms = jiff::Timestamp::now().as_millisecond();
            let run = BackfillRun::scheduled(now_ms, BACKFILL_BUDGET, "archiver (schedule)");
            let report = archiver.backfill_table(&run).await.map_err(|e| format!("backfill failed: {e}"))?;
            if !report.failed.is_empty() {
                // After the cursor moved on: the Errors alarm says so, the next pass tries again.
                return Err(format!("backfill could not check {} conversation(s): {:?}", report.failed.len(), report.failed));
            }
            return serde_json::to_value(report).map_err(|e| e.to_string());
        }
        _ => {}
    }
    let batch: StreamEvent = serde_json::from_value(payload).map_err(|e| format!("not a DynamoDB Stream batch nor a known task: {e}"))?;
    serde_json::to_value(archive_stream_batch(archiver, batch).await).map_err(|e| e.to_string())
}

/// The archiver function: every new or changed log item of the batch into the archive, and
/// every item the table's TTL removed checked against it. The archiver is idempotent, so on a
/// failure the whole batch is reported and retried. A record it cannot read is never skipped:
/// what came before it is archived, and the batch is retried from it (then parked in the
/// dead-letter queue, for the backfill sweep and a person to look at).
pub async fn archive_stream_batch(archiver: &Archiver, batch: StreamEvent) -> DynamoDbEventResponse {
    let first_sequence = batch.records.first().and_then(|r| r.change.sequence_number.clone());
    match archive_stream_records(archiver, batch).await {
        Ok(done) => {
            tracing::info!(objects = done.objects, ttl_removals = done.reconciliation.checked, "archived");
            match done.unreadable {
                Some(sequence) => retry_from(Some(sequence)),
                None => DynamoDbEventResponse::default(),
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "archiving failed; the batch will be retried");
            retry_from(first_sequence)
        }
    }
}

#[derive(Debug, Default)]
pub struct ArchivedBatch {
    pub objects: usize,
    pub reconciliation: Reconciliation,
    /// The sequence number of a record that could not be read: the records before it were
    /// archived, it and the rest of the batch were not (the batch is retried from it).
    pub unreadable: Option<String>,
}

/// Whether a REMOVE was DynamoDB's TTL (not someone deleting the item).
fn is_ttl_removal(record: &aws_lambda_events::event::dynamodb::EventRecord) -> bool {
    record.user_identity.as_ref().is_some_and(|u| u.type_ == TTL_IDENTITY_TYPE && u.principal_id == TTL_PRINCIPAL)
}

/// The keys of a stream image, whatever else it holds, to name an unreadable one.
fn keys_of(image: &serde_dynamo::Item) -> String {
    let key = |name: &str| match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
        _ => "?".into(),
    };
    format!("{} / {}", key("pk"), key("sk"))
}

pub async fn archive_stream_records(archiver: &Archiver, batch: StreamEvent) -> Result<ArchivedBatch, ArchiveError> {
    let mut items = Vec::new();
    let mut removed = Vec::new();
    let mut unreadable = None;
    for record in batch.records {
        let sequence = record.change.sequence_number.clone();
        let ttl_removal = is_ttl_removal(&record);
        let change = record.change;
        let image = match record.event_name.as_str() {
            "INSERT" | "MODIFY" => &change.new_image,
            "REMOVE" if ttl_removal => &change.old_image,
            _ => continue,
        };
        let item = match log_item_from_stream_image(image.clone()) {
            Ok(Some(item)) => item,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(
                    alarm = UNREADABLE_STREAM_RECORDS,
                    error = %e,
                    sequence = ?sequence,
                    event = %record.event_name,
                    keys = %keys_of(image),
                    "unreadable log item on the stream; the batch is retried from it, then parked in the dead-letter queue"
                );
                archiver.metrics().count(UNREADABLE_STREAM_RECORDS, 1);
                unreadable = Some(sequence.unwrap_or_default());
                break;
            }
        };
        match record.event_name.as_str() {
            "INSERT" => items.push(item),
            // A hold or release changes only the TTL: nothing new to archive. An old image we
            // cannot read only costs a comparison: the new one is archived.
            "MODIFY" => match log_item_from_stream_image(change.old_image.clone()) {
                Ok(Some(old)) if content_version(&old) == content_version(&item) => {}
                _ => items.push(item),
            },
            _ => removed.push(item),
        }
    }
    let objects = archiver.archive(items).await?;
    let reconciliation = archiver.reconcile_expired(removed).await?;
    Ok(ArchivedBatch { objects, reconciliation, unreadable })
}

/// The response that has Lambda retry the stream from `sequence` (the failed record; later
/// ones in the batch are redone with it).
pub(crate) fn retry_from(sequence: Option<String>) -> DynamoDbEventResponse {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = sequence;
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures.push(failure);
    response
}
