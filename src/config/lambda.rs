//! What only the Lambda functions read: where their table, buckets and topic are, which
//! environment keys name a secret in Secrets Manager (read at init by `lambda::init`), the
//! metrics namespace and the export links' lifetime. template.yaml sets each.

use std::time::Duration;

use super::ConfigError;
use crate::metrics::DEFAULT_NAMESPACE;

pub const TABLE_NAME: &str = "TABLE_NAME";
pub const ARCHIVE_BUCKET: &str = "ARCHIVE_BUCKET";
pub const EXPORT_BUCKET: &str = "EXPORT_BUCKET";
/// Where the operator function publishes each queued export job (the exporter subscribes).
pub const EXPORT_JOB_TOPIC_ARN: &str = "EXPORT_JOB_TOPIC_ARN";
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
pub const EXPORT_LINK_TTL_SECONDS: &str = "EXPORT_LINK_TTL_SECONDS";
/// The Bedrock model the worker may call (template.yaml's `BedrockModelId`); unset or empty:
/// none, whatever the settings say.
pub const BEDROCK_MODEL_ID: &str = "BEDROCK_MODEL_ID";

/// Each environment key that may name a secret, and the keys that secret may hold.
pub const SECRET_SOURCES: &[(&str, &[&str])] = &[
    ("LINE_CHANNEL_SECRET_ARN", &["LINE_CHANNEL_SECRET", "LINE_CHANNEL_SECRET_NEXT"]),
    ("LINE_CHANNEL_ACCESS_TOKEN_ARN", &["LINE_CHANNEL_ACCESS_TOKEN"]),
    ("NOTIFY_WEBHOOK_SECRET_ARN", &["NOTIFY_WEBHOOK_SECRET"]),
];

/// `METRICS_NAMESPACE`: where the EMF lines count (template.yaml: `line-oa/<stack>`).
pub fn metrics_namespace(get: impl Fn(&str) -> Option<String>) -> String {
    get(METRICS_NAMESPACE).unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

/// `BEDROCK_MODEL_ID`, if set.
pub fn bedrock_model_id(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    get(BEDROCK_MODEL_ID).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Default lifetime of a presigned link: long enough to click, short enough not to leak.
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(15 * 60);

/// `EXPORT_LINK_TTL_SECONDS`: how long a presigned link works (default 15 minutes; S3 allows
/// up to 7 days, but a link is a bearer credential).
pub fn link_ttl_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    let seconds = super::whole_number_in(get, EXPORT_LINK_TTL_SECONDS, 1..=7 * 86_400, "seconds")?;
    Ok(seconds.map_or(DEFAULT_LINK_TTL, Duration::from_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_ttl_defaults_to_fifteen_minutes_and_bad_values_are_named() {
        assert_eq!(link_ttl_from_lookup(|_| None).unwrap(), DEFAULT_LINK_TTL);
        assert_eq!(link_ttl_from_lookup(|_| Some("60".into())).unwrap(), Duration::from_secs(60));
        let err = link_ttl_from_lookup(|_| Some("0".into())).unwrap_err().to_string();
        assert!(err.contains("EXPORT_LINK_TTL_SECONDS"), "{err}");
    }

    #[test]
    fn a_required_key_is_named_when_missing_and_the_namespace_has_a_default() {
        let err = super::super::required(|_| None, ARCHIVE_BUCKET).unwrap_err().to_string();
        assert_eq!(err, "environment variable ARCHIVE_BUCKET is required");
        assert_eq!(super::super::required(|_| Some("b".into()), ARCHIVE_BUCKET).unwrap(), "b");
        assert_eq!(metrics_namespace(|_| None), "line-oa");
        assert_eq!(metrics_namespace(|_| Some("line-oa/stack".into())), "line-oa/stack");
        assert_eq!(bedrock_model_id(|_| Some(" ".into())), None, "the template's empty default: no model");
        assert_eq!(bedrock_model_id(|_| Some("amazon.nova-lite-v1:0".into())).as_deref(), Some("amazon.nova-lite-v1:0"));
    }
}
