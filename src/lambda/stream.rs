//! The one loop over a batch of records, shared by the worker and the archiver (a DynamoDB
//! Stream batch) and the exporter (an SNS event): the records in order, each failure
//! classified (`super::error::Class`), and what Lambda is told.
//!
//! A retryable failure stops the batch at that record and reports it (`batchItemFailures`):
//! Lambda retries from the lowest failed sequence number, so the records after it are redone
//! with it anyway, and stopping keeps each conversation's order. What becomes of a permanent
//! failure is the consumer's choice ([`OnPermanent`]).

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use super::error::{Class, LambdaError};

/// What to do with a record that fails the same way every time (`Class::Permanent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnPermanent {
    /// Report it and go on with the next: retrying cannot help, and the records behind it
    /// would only wait (the worker, whose replies cannot).
    Skip,
    /// Stop and fail from it, as for a retryable failure: Lambda retries it, then parks it in
    /// the dead-letter queue (the archiver, which never skips a record).
    Fail,
}

/// A record that failed: its id (a stream record's sequence number) and why.
#[derive(Debug)]
pub struct Failed {
    pub record: Option<String>,
    pub error: LambdaError,
}

/// What became of a batch.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Records that went through.
    pub done: usize,
    /// Permanent failures reported and passed over (`OnPermanent::Skip`).
    pub skipped: Vec<Failed>,
    /// The record the batch stopped at; those after it were not tried.
    pub failed: Option<Failed>,
}

impl Outcome {
    /// The answer to a stream batch: retry from the failed record, or nothing to retry.
    pub fn response(&self) -> DynamoDbEventResponse {
        match &self.failed {
            Some(failed) => retry_from(failed.record.clone()),
            None => DynamoDbEventResponse::default(),
        }
    }
}

/// Runs `each` on the records in order (see the module's doc for what a failure does).
pub async fn in_order<R>(
    records: impl IntoIterator<Item = R>,
    id: impl Fn(&R) -> Option<String>,
    on_permanent: OnPermanent,
    mut each: impl AsyncFnMut(R) -> Result<(), LambdaError>,
) -> Outcome {
    let mut outcome = Outcome::default();
    for record in records {
        let record_id = id(&record);
        match each(record).await {
            Ok(()) => outcome.done += 1,
            Err(error) if error.class() == Class::Permanent && on_permanent == OnPermanent::Skip => {
                tracing::error!(%error, error_type = %error.error_type(), record = ?record_id, "record failed for good; reported, not retried");
                outcome.skipped.push(Failed { record: record_id, error });
            }
            Err(error) => {
                tracing::error!(%error, error_type = %error.error_type(), record = ?record_id, "record failed; will be retried from it");
                outcome.failed = Some(Failed { record: record_id, error });
                break;
            }
        }
    }
    outcome
}

/// A stream record's id for `in_order`: its sequence number.
pub fn sequence_of(record: &EventRecord) -> Option<String> {
    record.change.sequence_number.clone()
}

/// The keys of a stream image, whatever else it holds, to name an unreadable one.
pub fn keys_of(image: &serde_dynamo::Item) -> String {
    let key = |name: &str| match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
        _ => "?".into(),
    };
    format!("{} / {}", key("pk"), key("sk"))
}

/// The response that has Lambda retry the stream from `sequence` (the failed record; later
/// ones in the batch are redone with it).
pub fn retry_from(sequence: Option<String>) -> DynamoDbEventResponse {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = sequence;
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures.push(failure);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    fn unavailable() -> LambdaError {
        StoreError::unavailable_because("down").into()
    }

    fn malformed() -> LambdaError {
        LambdaError::MalformedMessage("garbage".into())
    }

    /// Runs records "1".."n" where `fail` says which fail and how; returns the outcome and the
    /// records tried.
    async fn run(n: usize, on_permanent: OnPermanent, fail: impl Fn(usize) -> Option<LambdaError>) -> (Outcome, Vec<usize>) {
        let mut tried = Vec::new();
        let outcome = in_order(
            1..=n,
            |i| Some(i.to_string()),
            on_permanent,
            async |i| {
                tried.push(i);
                fail(i).map_or(Ok(()), Err)
            },
        )
        .await;
        (outcome, tried)
    }

    fn failed_at(outcome: &Outcome) -> Vec<Option<String>> {
        outcome.response().batch_item_failures.into_iter().map(|f| f.item_identifier).collect()
    }

    #[tokio::test]
    async fn a_retryable_failure_stops_the_batch_there_whatever_the_policy() {
        for policy in [OnPermanent::Skip, OnPermanent::Fail] {
            let (outcome, tried) = run(4, policy, |i| (i == 2).then(unavailable)).await;
            assert_eq!(tried, [1, 2], "nothing after it is tried: it is redone with the retry");
            assert_eq!(failed_at(&outcome), [Some("2".to_owned())]);
            assert_eq!((outcome.done, outcome.skipped.len()), (1, 0));
        }
    }

    #[tokio::test]
    async fn a_permanent_failure_is_skipped_and_reported_or_fails_the_batch_from_it() {
        let (outcome, tried) = run(3, OnPermanent::Skip, |i| (i == 2).then(malformed)).await;
        assert_eq!(tried, [1, 2, 3]);
        assert!(failed_at(&outcome).is_empty(), "not retried");
        assert_eq!(outcome.skipped.iter().map(|f| f.record.clone()).collect::<Vec<_>>(), [Some("2".to_owned())]);
        assert_eq!(outcome.done, 2);

        let (outcome, tried) = run(3, OnPermanent::Fail, |i| (i == 2).then(malformed)).await;
        assert_eq!(tried, [1, 2]);
        assert_eq!(failed_at(&outcome), [Some("2".to_owned())]);
        assert!(outcome.skipped.is_empty());
    }

    #[tokio::test]
    async fn a_clean_batch_reports_no_failures() {
        let (outcome, tried) = run(3, OnPermanent::Fail, |_| None).await;
        assert_eq!((tried.len(), outcome.done), (3, 3));
        assert_eq!(serde_json::to_value(outcome.response()).unwrap(), serde_json::json!({ "batchItemFailures": [] }));
    }
}
