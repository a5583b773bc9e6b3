//! What every layer's errors share: a boxed source for causes of many types, what a failure of
//! storage means (`Fault`, sorted once from an AWS SDK error by `sdk_fault`), and `Chain`, an
//! error with its causes in one line for the log.

use std::fmt;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// A cause kept as it came (an SDK error, an `io::Error`, a serde error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a failed call to storage (a bucket, a folder, a topic) means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No answer, a timeout, a 5xx: it may work later.
    Unavailable,
    /// Slowed down (S3's `SlowDown`, a 429): it will work later, more slowly.
    Throttled,
    /// No such bucket, key or topic.
    NotFound,
    /// Refused for good: no permission, a bad parameter, a request that could not be built.
    Refused,
}

impl Fault {
    /// Whether trying again later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Unavailable | Self::Throttled)
    }

    /// How a local file operation failed.
    pub fn of_io(e: &std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        match e.kind() {
            NotFound => Self::NotFound,
            PermissionDenied | InvalidInput | InvalidData | ReadOnlyFilesystem => Self::Refused,
            _ => Self::Unavailable,
        }
    }
}

/// Sorts an AWS SDK error by meaning: the service's error code first, its HTTP status next;
/// failures without an answer may pass, a request that could not be built never will.
pub fn sdk_fault<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Fault {
    match err {
        SdkError::ServiceError(service) => match service.err().code() {
            Some("SlowDown" | "Throttling" | "ThrottlingException" | "Throttled" | "RequestLimitExceeded" | "TooManyRequestsException") => {
                Fault::Throttled
            }
            Some("InternalError" | "ServiceUnavailable" | "RequestTimeout") => Fault::Unavailable,
            Some("NoSuchBucket" | "NoSuchKey" | "NoSuchUpload" | "NotFound" | "NotFoundException") => Fault::NotFound,
            _ => match service.raw().status().as_u16() {
                429 => Fault::Throttled,
                404 => Fault::NotFound,
                s if s >= 500 => Fault::Unavailable,
                _ => Fault::Refused,
            },
        },
        SdkError::ConstructionFailure(_) => Fault::Refused,
        _ => Fault::Unavailable,
    }
}

/// A short account of an AWS SDK error for a message: the service's code and message, or what
/// kind of failure it was and why (the SDK's own `Display` says only "service error").
pub fn sdk_detail<E: ProvideErrorMetadata + std::error::Error + 'static>(err: &SdkError<E, HttpResponse>) -> String {
    let why = || std::error::Error::source(err).map(|cause| format!(": {}", Chain(cause))).unwrap_or_default();
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("unknown error");
            match e.message() {
                Some(message) => format!("{code}: {message} (HTTP {})", service.raw().status().as_u16()),
                None => format!("{code} (HTTP {})", service.raw().status().as_u16()),
            }
        }
        SdkError::ConstructionFailure(_) => format!("the request could not be built{}", why()),
        SdkError::TimeoutError(_) => format!("no answer in time{}", why()),
        SdkError::DispatchFailure(_) => format!("the request could not be sent{}", why()),
        SdkError::ResponseError(_) => format!("the answer could not be read{}", why()),
        _ => format!("failed{}", why()),
    }
}

/// `error: cause: cause …` in one line. A cause whose text the line already holds is left
/// out, so errors that repeat their source's words do not say them twice.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(e) = cause {
            let text = e.to_string();
            if !text.is_empty() && !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            cause = e.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read the settings")]
    struct Quiet(#[source] Repeats);

    #[test]
    fn a_chain_names_every_cause_once() {
        let e = Quiet(Repeats(std::io::Error::other("disk on fire")));
        assert_eq!(Chain(&e).to_string(), "cannot read the settings: outer: disk on fire");
    }

    #[test]
    fn io_failures_are_sorted_by_meaning() {
        use std::io::{Error, ErrorKind};
        assert_eq!(Fault::of_io(&Error::from(ErrorKind::NotFound)), Fault::NotFound);
        assert_eq!(Fault::of_io(&Error::from(ErrorKind::PermissionDenied)), Fault::Refused);
        assert_eq!(Fault::of_io(&Error::from(ErrorKind::TimedOut)), Fault::Unavailable);
        assert!(Fault::Throttled.is_retryable() && !Fault::NotFound.is_retryable());
    }
}
