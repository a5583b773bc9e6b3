//! The archiver function: every new or changed log item of a stream batch into the archive,
//! every item the table's TTL removed checked against it; on schedules, failed media downloads
//! tried again and the backfill sweep. It never skips a record: one it cannot read fails the
//! batch from it (retried, then parked in the dead-letter queue, for the backfill sweep and a
//! person to look at).

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::streams::DynamoDbEventResponse;

use super::error::LambdaError;
use super::stream::{self, keys_of, retry_from, sequence_of, OnPermanent};
use crate::domain::archive::index::content_version;
use crate::domain::metrics::UNREADABLE_STREAM_RECORDS;
use crate::service::archive::{ArchiveError, Archiver, BackfillRun, Reconciliation};
use crate::store::dynamodb::log_item_from_stream_image;
use crate::store::LogItem;

/// How DynamoDB Streams marks a REMOVE done by TTL.
const TTL_IDENTITY_TYPE: &str = "Service";
const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

/// What the schedule in template.yaml sends the archiver (`Input: {"task": "retry-media"}`).
pub const RETRY_MEDIA_TASK: &str = "retry-media";
/// What the backfill schedule sends the archiver (`Input: {"task": "backfill"}`).
pub const BACKFILL_TASK: &str = "backfill";
/// How long one scheduled backfill run may start new pages (the archiver's timeout is 300 s);
/// the next run goes on from there.
pub const BACKFILL_BUDGET: std::time::Duration = std::time::Duration::from_secs(120);

/// The archiver's inputs: a stream batch, or a scheduled task (trying failed media downloads
/// again, or the backfill sweep).
pub async fn handle_archiver_event(archiver: &Archiver, payload: serde_json::Value) -> Result<serde_json::Value, LambdaError> {
    match payload.get("task").and_then(|t| t.as_str()) {
        Some(RETRY_MEDIA_TASK) => {
            let report =
                archiver.retry_media(jiff::Timestamp::now().as_millisecond()).await.map_err(|e| LambdaError::task("media retry", e))?;
            tracing::info!(stored = report.stored, still_failing = report.still_failing, given_up = report.given_up, "media retry done");
            return serde_json::to_value(report).map_err(LambdaError::Response);
        }
        Some(BACKFILL_TASK) => {
            let now_ms = jiff::Timestamp::now().as_millisecond();
            let run = BackfillRun::scheduled(now_ms, BACKFILL_BUDGET, "archiver (schedule)");
            let report = archiver.backfill_table(&run).await.map_err(|e| LambdaError::task("backfill", e))?;
            if !report.failed.is_empty() {
                // After the cursor moved on: the Errors alarm says so, the next pass tries again.
                return Err(LambdaError::BackfillIncomplete(report.failed));
            }
            return serde_json::to_value(report).map_err(LambdaError::Response);
        }
        _ => {}
    }
    let batch: StreamEvent = serde_json::from_value(payload).map_err(LambdaError::UnknownInput)?;
    serde_json::to_value(archive_stream_batch(archiver, batch).await).map_err(LambdaError::Response)
}

/// A stream batch into the archive. The archiver is idempotent, so on a failure to archive the
/// whole batch is reported and retried; a record it cannot read has what came before it
/// archived, and the batch retried from it.
pub async fn archive_stream_batch(archiver: &Archiver, batch: StreamEvent) -> DynamoDbEventResponse {
    let first_sequence = batch.records.first().and_then(sequence_of);
    match archive_stream_records(archiver, batch).await {
        Ok(done) => {
            tracing::info!(objects = done.objects, ttl_removals = done.reconciliation.checked, "archived");
            match done.unreadable {
                Some(sequence) => retry_from(Some(sequence)),
                None => DynamoDbEventResponse::default(),
            }
        }
        Err(e) => {
            let e = LambdaError::from(e);
            tracing::error!(error = %e, error_type = %e.error_type(), "archiving failed; the batch will be retried");
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
fn is_ttl_removal(record: &EventRecord) -> bool {
    record.user_identity.as_ref().is_some_and(|u| u.type_ == TTL_IDENTITY_TYPE && u.principal_id == TTL_PRINCIPAL)
}

/// Reads the batch (stopping at a record it cannot read), then archives what it read and
/// checks the TTL removals against the archive.
pub async fn archive_stream_records(archiver: &Archiver, batch: StreamEvent) -> Result<ArchivedBatch, ArchiveError> {
    let mut items = Vec::new();
    let mut removed = Vec::new();
    let read = stream::in_order(batch.records, sequence_of, OnPermanent::Fail, async |record| {
        read_record(archiver, record, &mut items, &mut removed)
    })
    .await;
    let unreadable = read.failed.map(|failed| failed.record.unwrap_or_default());
    let objects = archiver.archive(items).await?;
    let reconciliation = archiver.reconcile_expired(removed).await?;
    Ok(ArchivedBatch { objects, reconciliation, unreadable })
}

/// One record: a new or changed log item to `items`, a TTL removal to `removed`.
fn read_record(archiver: &Archiver, record: EventRecord, items: &mut Vec<LogItem>, removed: &mut Vec<LogItem>) -> Result<(), LambdaError> {
    let sequence = sequence_of(&record);
    let ttl_removal = is_ttl_removal(&record);
    let change = record.change;
    let image = match record.event_name.as_str() {
        "INSERT" | "MODIFY" => &change.new_image,
        "REMOVE" if ttl_removal => &change.old_image,
        _ => return Ok(()),
    };
    let item = match log_item_from_stream_image(image.clone()) {
        Ok(Some(item)) => item,
        Ok(None) => return Ok(()),
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
            return Err(LambdaError::UnreadableRecord { keys: keys_of(image), source: e });
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
    Ok(())
}
