//! The Lambda worker's logic: handle inbound events from the table's DynamoDB Stream.
//! Failures are reported per record so Lambda retries from the first failed one.

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::archive::Archiver;
use crate::service::Service;
use crate::store::dynamodb::{inbound_from_stream_image, log_item_from_stream_image};

pub async fn handle_stream_batch(service: &Service, batch: StreamEvent) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in batch.records {
        if record.event_name != "INSERT" {
            continue;
        }
        let sequence = record.change.sequence_number.clone();
        let result = match inbound_from_stream_image(record.change.new_image) {
            Ok(Some(inbound)) => service.handle(&inbound).await.map(|outcome| {
                tracing::info!(event_id = %inbound.event_id, ?outcome, "handled");
            }).map_err(|e| e.to_string()),
            Ok(None) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = result {
            // Lambda retries from the lowest failed sequence number, so later records in this
            // batch are redone anyway: stop here and keep per-conversation order.
            tracing::error!(%error, sequence = ?sequence, "stream record failed; will be retried");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence;
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}

/// The archiver function: every new or changed log item of the batch into the archive. The
/// archiver is idempotent, so on any failure the whole batch is reported and retried.
pub async fn archive_stream_batch(archiver: &Archiver, batch: StreamEvent) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let first_sequence = batch.records.first().and_then(|r| r.change.sequence_number.clone());
    let mut items = Vec::new();
    for record in batch.records {
        if record.event_name != "INSERT" && record.event_name != "MODIFY" {
            continue;
        }
        match log_item_from_stream_image(record.change.new_image) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "unreadable stream image; skipped"),
        }
    }
    match archiver.archive(items).await {
        Ok(objects) => tracing::info!(objects, "archived"),
        Err(e) => {
            tracing::error!(error = %e, "archiving failed; the batch will be retried");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = first_sequence;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
