//! Telling staff that a conversation needs a person: the `Notifier` port, its error, and the
//! adapters beside it (SNS topic on AWS, signed outgoing webhook in both modes, fan-out, off).

pub mod sns;
pub mod webhook;

use std::sync::Arc;

use async_trait::async_trait;

pub use crate::config::notify::NotifyConfig;
use crate::domain::notice::StaffNotice;
use crate::errors::BoxError;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// SNS could not be reached, throttled us or failed inside; the caller may retry.
    #[error("SNS publish failed (retryable): {detail}")]
    SnsUnavailable {
        detail: String,
        #[source]
        source: BoxError,
    },
    /// SNS refused the publish (no such topic, no permission, bad parameter): retrying won't help.
    #[error("SNS refused the publish: {detail}")]
    SnsRejected {
        detail: String,
        #[source]
        source: BoxError,
    },
    /// The webhook answered 4xx: never retried.
    #[error("the notification webhook refused the notice with HTTP {status}")]
    WebhookRejected { status: u16 },
    /// 5xx or no answer on every attempt.
    #[error("the notification webhook failed {attempts} times (retryable); last: {last}")]
    WebhookUnavailable { attempts: u32, last: String },
    /// Several channels failed; each is kept.
    #[error("{} notification channels failed: {}", .0.len(), join(.0))]
    Several(Vec<NotifyError>),
}

impl NotifyError {
    /// Whether trying again later may succeed (for `Several`: whether any of them may).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::SnsUnavailable { .. } | Self::WebhookUnavailable { .. } => true,
            Self::SnsRejected { .. } | Self::WebhookRejected { .. } => false,
            Self::Several(all) => all.iter().any(Self::is_retryable),
        }
    }
}

fn join(errors: &[NotifyError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Sends one notice to staff. Implementations never log the notice's payload above debug.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn notify(&self, notice: &StaffNotice) -> Result<(), NotifyError>;
}

/// Nothing configured: the notice is only logged (conversation and reason, no message text),
/// so a local install still shows that staff were wanted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Disabled;

#[async_trait]
impl Notifier for Disabled {
    async fn notify(&self, notice: &StaffNotice) -> Result<(), NotifyError> {
        tracing::info!(
            conversation = %notice.conversation,
            reason = %notice.reason,
            kind = notice.kind.as_str(),
            "staff notice (no notification channel configured)"
        );
        Ok(())
    }
}

/// Sends to every channel at once and reports every failure, not just the first: one channel
/// being down must not keep the notice from the others.
pub struct FanOut {
    notifiers: Vec<Arc<dyn Notifier>>,
}

impl FanOut {
    pub fn new(notifiers: Vec<Arc<dyn Notifier>>) -> Self {
        Self { notifiers }
    }
}

#[async_trait]
impl Notifier for FanOut {
    async fn notify(&self, notice: &StaffNotice) -> Result<(), NotifyError> {
        let results = futures_util::future::join_all(self.notifiers.iter().map(|n| n.notify(notice))).await;
        let mut failures: Vec<NotifyError> = results.into_iter().filter_map(Result::err).collect();
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => Err(NotifyError::Several(failures)),
        }
    }
}

/// No channel: `Disabled`; one: itself; more: a `FanOut`.
pub fn combine(mut notifiers: Vec<Arc<dyn Notifier>>) -> Arc<dyn Notifier> {
    match notifiers.len() {
        0 => Arc::new(Disabled),
        1 => notifiers.remove(0),
        _ => Arc::new(FanOut::new(notifiers)),
    }
}

/// The notifier the configuration asks for. `aws` is the entrypoint's AWS configuration; when
/// a topic is configured and none is given (the local server), it is loaded from the environment.
pub async fn from_config(config: &NotifyConfig, aws: Option<&aws_config::SdkConfig>) -> Arc<dyn Notifier> {
    let mut notifiers: Vec<Arc<dyn Notifier>> = Vec::new();
    if let Some(topic_arn) = &config.topic_arn {
        let client = match aws {
            Some(aws) => aws_sdk_sns::Client::new(aws),
            None => aws_sdk_sns::Client::new(&aws_config::load_from_env().await),
        };
        notifiers.push(Arc::new(sns::SnsNotifier::new(client, topic_arn.clone())));
    }
    if let Some(webhook) = &config.webhook {
        notifiers.push(Arc::new(webhook::WebhookNotifier::new(webhook.clone())));
    }
    combine(notifiers)
}
