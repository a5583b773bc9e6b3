//! Staff notices to an SNS topic (AWS mode): e-mail, SMS or any other subscription the
//! operator adds receives the subject line and the JSON payload.

use async_trait::async_trait;
use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use super::{Notifier, NotifyError};
use crate::domain::notice::StaffNotice;
use crate::errors::sdk_detail;

/// Message attributes, so subscriptions can filter (e.g. SMS only for re-notifies).
pub const KIND_ATTRIBUTE: &str = "kind";
pub const REASON_ATTRIBUTE: &str = "reason";

#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder().data_type("String").string_value(value).build().expect("data type is set")
}

/// Throttling, internal errors and no answer may pass; anything else SNS refused for good.
fn classify<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(err: SdkError<E, HttpResponse>) -> NotifyError {
    let detail = sdk_detail(&err);
    let retryable = match &err {
        SdkError::ServiceError(service) => {
            matches!(service.err().code(), Some("Throttled" | "ThrottlingException" | "InternalError" | "KMSThrottling" | "KMSDisabled"))
        }
        SdkError::ConstructionFailure(_) => false,
        _ => true,
    };
    let source = Box::new(err);
    if retryable {
        NotifyError::SnsUnavailable { detail, source }
    } else {
        NotifyError::SnsRejected { detail, source }
    }
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn notify(&self, notice: &StaffNotice) -> Result<(), NotifyError> {
        let mut publish = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(notice.subject())
            .message(notice.payload_json())
            .message_attributes(KIND_ATTRIBUTE, string_attribute(notice.kind.as_str()));
        // SNS refuses an empty attribute value (and with it the whole publish).
        if !notice.reason.is_empty() {
            publish = publish.message_attributes(REASON_ATTRIBUTE, string_attribute(&notice.reason));
        }
        let out = publish.send().await.map_err(classify)?;
        tracing::info!(
            message_id = out.message_id().unwrap_or_default(),
            conversation = %notice.conversation,
            kind = notice.kind.as_str(),
            "staff notice published to SNS"
        );
        Ok(())
    }
}
