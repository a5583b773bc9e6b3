//! What a store call can fail with, sorted by meaning in the adapters (unavailable, throttled,
//! conflict, invalid, corrupt); the backend's own error is kept as the source.

pub use crate::errors::BoxError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or failed; the caller may retry.
    #[error("store unavailable: {context}")]
    Unavailable {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
    /// The request was throttled; retry later.
    #[error("store throttled: {context}")]
    Throttled {
        context: String,
        #[source]
        source: BoxError,
    },
    /// An optimistic-concurrency check failed: someone else wrote first.
    #[error("conflicting write to {0}")]
    Conflict(String),
    /// The backend refused the request as malformed (DynamoDB's ValidationException, e.g. a key
    /// over its size limit): caused by the input, so retrying will not help. `context` is what
    /// the backend said was wrong (never the request, which may carry message text).
    #[error("refused by the store: {context}")]
    Invalid {
        context: String,
        #[source]
        source: BoxError,
    },
    /// Stored data we cannot read back: a bug or a manual edit.
    #[error("corrupt item {key}: {problem}")]
    Corrupt {
        key: String,
        problem: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// `Unavailable` because of `source`, saying what it says.
    pub fn unavailable(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable { context: source.to_string(), source: Some(Box::new(source)) }
    }

    /// `Unavailable` with no error behind it (a channel closed, a task gone).
    pub fn unavailable_because(context: impl Into<String>) -> Self {
        Self::Unavailable { context: context.into(), source: None }
    }

    /// `Corrupt`: the item under `key` does not read back, because of `source`.
    pub fn corrupt(key: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Corrupt { key: key.into(), problem: source.to_string(), source: Some(Box::new(source)) }
    }

    /// `Corrupt` for a `problem` found by our own checks, with no error behind it.
    pub fn corrupt_because(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Corrupt { key: key.into(), problem: problem.into(), source: None }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn the_backends_error_is_kept_as_the_source_and_the_text_stays_as_it_was() {
        let io = std::io::Error::other("disk gone");
        let err = StoreError::unavailable(io);
        assert_eq!(err.to_string(), "store unavailable: disk gone");
        assert_eq!(err.source().map(ToString::to_string).as_deref(), Some("disk gone"));

        let parse = serde_json::from_str::<u8>("x").unwrap_err();
        let err = StoreError::corrupt("CONV#user:U1", parse);
        assert!(err.to_string().starts_with("corrupt item CONV#user:U1: expected value"), "{err}");
        assert!(err.source().is_some());

        assert_eq!(StoreError::corrupt_because("k", "not a conversation id").to_string(), "corrupt item k: not a conversation id");
        assert!(StoreError::unavailable_because("the store's writer has stopped").source().is_none());
    }
}
