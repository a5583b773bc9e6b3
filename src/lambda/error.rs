//! The Lambda glue's one error: every failure a function reports, with its retry class, and the
//! `Diagnostic` Lambda records for it (`errorType` `Retryable.StoreUnavailable`,
//! `Permanent.MalformedRecord`, ...). The class decides what becomes of a stream record
//! (`super::stream`); the name says in the log and the dead-letter queue what went wrong.

use crate::service::archive::backfill::BackfillError;
use crate::service::archive::ArchiveError;
use crate::service::export::ExportError;
use crate::service::ServiceError;
use crate::store::StoreError;

/// Whether trying the same input again may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Something we depend on failed for now (an outage, a throttle, a race): try again.
    Retryable,
    /// The input itself is the problem (unreadable, refused): it fails the same way every time.
    Permanent,
}

impl Class {
    fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "Retryable",
            Self::Permanent => "Permanent",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    /// The invocation is neither a stream batch nor a task this function knows.
    #[error("not a DynamoDB Stream batch nor a known task: {0}")]
    UnknownInput(#[source] serde_json::Error),
    /// A stream record whose image is not a log item we can read (edited by hand, written by a
    /// newer version); `keys` names the item.
    #[error("unreadable stream record {keys}: {source}")]
    UnreadableRecord {
        keys: String,
        #[source]
        source: StoreError,
    },
    /// A message that is not what its sender publishes (an SNS record that names no job).
    #[error("{0}")]
    MalformedMessage(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Backfill(#[from] BackfillError),
    #[error(transparent)]
    Export(#[from] ExportError),
    /// A scheduled task that failed (`task` names it); its schedule runs it again.
    #[error("{task} failed: {source}")]
    Task {
        task: &'static str,
        #[source]
        source: Box<LambdaError>,
    },
    /// The backfill sweep moved on past conversations it could not check; the next pass tries
    /// them again, and the Errors alarm says so meanwhile.
    #[error("backfill could not check {} conversation(s): {:?}", .0.len(), .0)]
    BackfillIncomplete(Vec<(String, String)>),
    #[error("the response could not be written: {0}")]
    Response(#[source] serde_json::Error),
}

impl LambdaError {
    /// `task` failed with `source`.
    pub fn task(task: &'static str, source: impl Into<LambdaError>) -> Self {
        Self::Task { task, source: Box::new(source.into()) }
    }

    pub fn class(&self) -> Class {
        self.kind().0
    }

    /// What Lambda records as the error's type: `<class>.<name>`.
    pub fn error_type(&self) -> String {
        let (class, name) = self.kind();
        format!("{}.{name}", class.as_str())
    }

    fn kind(&self) -> (Class, &'static str) {
        use Class::{Permanent, Retryable};
        match self {
            Self::UnknownInput(_) => (Permanent, "UnknownInput"),
            Self::UnreadableRecord { .. } | Self::MalformedMessage(_) => (Permanent, "MalformedRecord"),
            Self::Service(e) => service_kind(e),
            Self::Store(e) => store_kind(e),
            Self::Archive(e) => archive_kind(e),
            Self::Backfill(BackfillError::Archive(e)) => archive_kind(e),
            Self::Backfill(BackfillError::Store(e)) => store_kind(e),
            // Another run holds the sweep: this one is simply not needed now.
            Self::Backfill(BackfillError::Busy { .. }) => (Retryable, "BackfillBusy"),
            Self::Backfill(BackfillError::NoTable) => (Permanent, "Misconfigured"),
            Self::Export(e) => export_kind(e),
            Self::Task { source, .. } => source.kind(),
            Self::BackfillIncomplete(_) => (Retryable, "BackfillIncomplete"),
            Self::Response(_) => (Permanent, "Response"),
        }
    }
}

fn store_kind(e: &StoreError) -> (Class, &'static str) {
    match e {
        StoreError::Unavailable { .. } => (Class::Retryable, "StoreUnavailable"),
        StoreError::Throttled { .. } => (Class::Retryable, "StoreThrottled"),
        // Someone else wrote first: the next attempt reads what they wrote.
        StoreError::Conflict(_) => (Class::Retryable, "WriteConflict"),
        StoreError::Invalid { .. } => (Class::Permanent, "StoreRefused"),
        StoreError::Corrupt { .. } => (Class::Permanent, "CorruptItem"),
    }
}

fn service_kind(e: &ServiceError) -> (Class, &'static str) {
    match e {
        ServiceError::Store(e) => store_kind(e),
        // Another worker is sending this reply: once it is done the retry finds its record.
        ServiceError::InFlight(_) => (Class::Retryable, "ReplyInFlight"),
        ServiceError::Malformed(_) => (Class::Permanent, "MalformedRecord"),
        ServiceError::Signature(_) => (Class::Permanent, "Signature"),
        ServiceError::Destination { .. } => (Class::Permanent, "WrongDestination"),
    }
}

fn archive_kind(e: &ArchiveError) -> (Class, &'static str) {
    match e {
        // Even a refusal (no bucket, no permission) is retried: skipping would lose the record
        // from the archive, and the fix (the configuration) comes from outside.
        ArchiveError::Storage { .. } => (Class::Retryable, "ArchiveUnavailable"),
        ArchiveError::Store(e) => store_kind(e),
        ArchiveError::Corrupt { .. } => (Class::Permanent, "CorruptArchiveObject"),
    }
}

fn export_kind(e: &ExportError) -> (Class, &'static str) {
    match e {
        ExportError::Store(e) => store_kind(e),
        // The job is saved before it is published; not finding it is worth the retries Lambda
        // makes, and then the dead-letter queue names it.
        ExportError::UnknownJob(_) => (Class::Retryable, "UnknownJob"),
        ExportError::Write(_) => (Class::Retryable, "ExportWrite"),
        ExportError::Storage { .. } => (Class::Retryable, "ExportOutput"),
        ExportError::Launch { .. } => (Class::Retryable, "ExportLaunch"),
        ExportError::Request(_) => (Class::Permanent, "InvalidExportRequest"),
    }
}

impl From<LambdaError> for lambda_runtime::Diagnostic {
    fn from(error: LambdaError) -> Self {
        Self { error_type: error.error_type(), error_message: error.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::export_job::ExportJobId;

    fn diagnostic(e: impl Into<LambdaError>) -> (String, String) {
        let d = lambda_runtime::Diagnostic::from(e.into());
        (d.error_type, d.error_message)
    }

    #[test]
    fn outages_throttles_and_races_are_retryable_and_what_the_input_causes_is_permanent() {
        let retryable = [
            (LambdaError::from(StoreError::unavailable_because("timeout")), "Retryable.StoreUnavailable"),
            (StoreError::Throttled { context: "slow down".into(), source: "slow down".into() }.into(), "Retryable.StoreThrottled"),
            (StoreError::Conflict("k".into()).into(), "Retryable.WriteConflict"),
            (ServiceError::InFlight("ev".into()).into(), "Retryable.ReplyInFlight"),
            (ServiceError::Store(StoreError::unavailable_because("x")).into(), "Retryable.StoreUnavailable"),
            (
                ArchiveError::storage(crate::errors::Fault::Unavailable, "s3", std::io::Error::other("down")).into(),
                "Retryable.ArchiveUnavailable",
            ),
            (ExportError::UnknownJob(ExportJobId::from_random(uuid::Uuid::new_v4().as_u128())).into(), "Retryable.UnknownJob"),
            (
                LambdaError::task("re-notify sweep", StoreError::Throttled { context: "t".into(), source: "t".into() }),
                "Retryable.StoreThrottled",
            ),
        ];
        for (error, expected) in retryable {
            assert_eq!(error.class(), Class::Retryable, "{error}");
            assert_eq!(error.error_type(), expected);
        }
        let unreadable = LambdaError::UnreadableRecord {
            keys: "CONV#user:U1 / MSG#1".into(),
            source: StoreError::corrupt_because("MSG#1", "timestamp_ms"),
        };
        let permanent = [
            (unreadable, "Permanent.MalformedRecord"),
            (LambdaError::MalformedMessage("an SNS record without a Message".into()), "Permanent.MalformedRecord"),
            (
                ServiceError::Malformed(crate::domain::event::WebhookBody::parse(b"not JSON").unwrap_err()).into(),
                "Permanent.MalformedRecord",
            ),
            (StoreError::Invalid { context: "key too long".into(), source: "key too long".into() }.into(), "Permanent.StoreRefused"),
            (StoreError::corrupt_because("k", "p").into(), "Permanent.CorruptItem"),
            (BackfillError::NoTable.into(), "Permanent.Misconfigured"),
            (LambdaError::UnknownInput(serde_json::from_str::<u8>("{}").unwrap_err()), "Permanent.UnknownInput"),
        ];
        for (error, expected) in permanent {
            assert_eq!(error.class(), Class::Permanent, "{error}");
            assert_eq!(error.error_type(), expected);
        }
    }

    #[test]
    fn the_diagnostic_carries_the_class_and_the_whole_message() {
        let (error_type, message) = diagnostic(LambdaError::task("backfill", StoreError::unavailable_because("no route")));
        assert_eq!(error_type, "Retryable.StoreUnavailable");
        assert_eq!(message, "backfill failed: store unavailable: no route");
        let (_, message) = diagnostic(LambdaError::BackfillIncomplete(vec![("user:U1".into(), "timeout".into())]));
        assert!(message.starts_with("backfill could not check 1 conversation(s)"), "{message}");
    }
}
