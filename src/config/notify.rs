//! The staff notices' settings (`NOTIFY_*`) from the environment; errors name the key, secrets
//! stay wrapped. The channels they configure are in `crate::notify`.

use crate::config::ConfigError;
use crate::domain::notice::{RenotifyDelay, CONSOLE_URL_PLACEHOLDER};
use crate::domain::secret::Secret;
use crate::notify::webhook::WebhookConfig;

pub const TOPIC_ARN_KEY: &str = "NOTIFY_TOPIC_ARN";
pub const WEBHOOK_URL_KEY: &str = "NOTIFY_WEBHOOK_URL";
pub const WEBHOOK_SECRET_KEY: &str = "NOTIFY_WEBHOOK_SECRET";
pub const RENOTIFY_MINUTES_KEY: &str = "NOTIFY_RENOTIFY_MINUTES";
pub const CONSOLE_URL_KEY: &str = "NOTIFY_CONSOLE_URL";

#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    /// SNS topic to publish to (AWS).
    pub topic_arn: Option<String>,
    /// Outgoing signed webhook (both modes).
    pub webhook: Option<WebhookConfig>,
    /// `NOTIFY_RENOTIFY_MINUTES`: default 30, `0` = never re-notify.
    pub renotify: RenotifyDelay,
    /// Link template for the payload's `console_url`, with `{conversation}` in it.
    pub console_url: Option<String>,
}

impl NotifyConfig {
    /// Reads from a lookup function so tests never touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |key: &str| get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let topic_arn = non_empty(TOPIC_ARN_KEY);
        if let Some(arn) = &topic_arn {
            if !(arn.starts_with("arn:") && arn.split(':').nth(2) == Some("sns")) {
                return Err(invalid(TOPIC_ARN_KEY, "must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"));
            }
        }
        let webhook = match (non_empty(WEBHOOK_URL_KEY), get(WEBHOOK_SECRET_KEY).filter(|s| !s.is_empty())) {
            (None, None) => None,
            (None, Some(_)) => return Err(invalid(WEBHOOK_SECRET_KEY, "is set but NOTIFY_WEBHOOK_URL is not")),
            (Some(_), None) => return Err(ConfigError::Missing(WEBHOOK_SECRET_KEY)),
            (Some(url), Some(secret)) => {
                // Staff notices carry customers' names and text: no plain http from Lambda.
                let url = crate::config::checked_url(WEBHOOK_URL_KEY, &url, crate::config::runs_on_lambda(&get))?;
                let secret = Secret::new(secret).map_err(|e| invalid(WEBHOOK_SECRET_KEY, &e.to_string()))?;
                Some(WebhookConfig::new(url, secret))
            }
        };
        let renotify = match non_empty(RENOTIFY_MINUTES_KEY) {
            None => RenotifyDelay::default(),
            Some(v) => RenotifyDelay::from_minutes(
                v.parse().map_err(|_| invalid(RENOTIFY_MINUTES_KEY, &format!("{v:?} is not a whole number of minutes (0 = off)")))?,
            ),
        };
        let console_url = non_empty(CONSOLE_URL_KEY);
        if let Some(template) = &console_url {
            if !template.contains(CONSOLE_URL_PLACEHOLDER) {
                return Err(invalid(CONSOLE_URL_KEY, "must contain {conversation}"));
            }
        }
        Ok(Self { topic_arn, webhook, renotify, console_url })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(super::process_env)
    }

    /// Whether any channel beyond the log is configured.
    pub fn is_enabled(&self) -> bool {
        self.topic_arn.is_some() || self.webhook.is_some()
    }
}

fn invalid(key: &'static str, problem: &str) -> ConfigError {
    ConfigError::Invalid { key, problem: problem.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        NotifyConfig::from_lookup(lookup(pairs)).unwrap_err().to_string()
    }

    #[test]
    fn nothing_configured_means_no_channel_and_the_default_renotify() {
        let c = NotifyConfig::from_lookup(lookup(&[("NOTIFY_WEBHOOK_URL", " ")])).unwrap();
        assert!(!c.is_enabled());
        assert_eq!(c.renotify, RenotifyDelay::After { minutes: 30 });
    }

    #[test]
    fn a_webhook_url_without_a_secret_is_an_error_naming_the_secret_key() {
        let e = err(&[("NOTIFY_WEBHOOK_URL", "https://hooks.example.com/x")]);
        assert!(e.contains("NOTIFY_WEBHOOK_SECRET"), "{e}");
    }

    #[test]
    fn a_secret_without_a_url_is_an_error() {
        let e = err(&[("NOTIFY_WEBHOOK_SECRET", "s3cret")]);
        assert!(e.contains("NOTIFY_WEBHOOK_URL"), "{e}");
    }

    #[test]
    fn a_whitespace_secret_is_refused() {
        let e = err(&[("NOTIFY_WEBHOOK_URL", "https://h.example.com/"), ("NOTIFY_WEBHOOK_SECRET", "   ")]);
        assert!(e.contains("NOTIFY_WEBHOOK_SECRET"), "{e}");
    }

    #[test]
    fn a_non_http_webhook_url_is_named() {
        let e = err(&[("NOTIFY_WEBHOOK_URL", "ftp://h.example.com/"), ("NOTIFY_WEBHOOK_SECRET", "s")]);
        assert!(e.contains("NOTIFY_WEBHOOK_URL"), "{e}");
    }

    #[test]
    fn a_plain_http_webhook_is_refused_on_lambda_except_to_the_loopback_address() {
        let on_lambda = |url: &'static str| {
            NotifyConfig::from_lookup(lookup(&[
                ("NOTIFY_WEBHOOK_URL", url),
                ("NOTIFY_WEBHOOK_SECRET", "s"),
                ("AWS_LAMBDA_FUNCTION_NAME", "line-oa-worker"),
            ]))
        };
        let e = on_lambda("http://hooks.example.com/line").unwrap_err().to_string();
        assert!(e.contains("NOTIFY_WEBHOOK_URL") && e.contains("http://"), "{e}");
        assert!(on_lambda("http://127.0.0.1:8080/hook").is_ok());
        assert!(on_lambda("https://hooks.example.com/line").is_ok());
        // A local run may post to any http URL.
        let local =
            NotifyConfig::from_lookup(lookup(&[("NOTIFY_WEBHOOK_URL", "http://hooks.example.com/"), ("NOTIFY_WEBHOOK_SECRET", "s")]));
        assert!(local.is_ok());
    }

    #[test]
    fn a_bad_topic_arn_renotify_or_console_url_is_named() {
        assert!(err(&[("NOTIFY_TOPIC_ARN", "my-topic")]).contains("NOTIFY_TOPIC_ARN"));
        assert!(err(&[("NOTIFY_TOPIC_ARN", "arn:aws:sqs:ap-northeast-1:1:q")]).contains("NOTIFY_TOPIC_ARN"));
        assert!(err(&[("NOTIFY_RENOTIFY_MINUTES", "-5")]).contains("NOTIFY_RENOTIFY_MINUTES"));
        assert!(err(&[("NOTIFY_CONSOLE_URL", "https://ops.example.com/")]).contains("NOTIFY_CONSOLE_URL"));
    }

    #[test]
    fn a_full_configuration_is_read_and_the_secret_stays_out_of_debug() {
        let c = NotifyConfig::from_lookup(lookup(&[
            ("NOTIFY_TOPIC_ARN", "arn:aws:sns:ap-northeast-1:123456789012:line-oa-staff"),
            ("NOTIFY_WEBHOOK_URL", "https://hooks.example.com/line"),
            ("NOTIFY_WEBHOOK_SECRET", "topsecret-value"),
            ("NOTIFY_RENOTIFY_MINUTES", "0"),
            ("NOTIFY_CONSOLE_URL", "https://ops.example.com/c/{conversation}"),
        ]))
        .unwrap();
        assert!(c.is_enabled());
        assert_eq!(c.renotify, RenotifyDelay::Disabled);
        assert_eq!(c.webhook.as_ref().unwrap().url, "https://hooks.example.com/line");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("topsecret-value"), "{dbg}");
    }
}
