//! The model port on Amazon Bedrock's Converse API (`aws-sdk-bedrockruntime`): the system
//! blocks and the customer's message in, the text and the token usage out, SDK errors sorted
//! by meaning. The endpoint is the SDK's (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME` overrides it, as
//! the tests do with their stand-in); the caller bounds each call with its own timeout.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, ConverseOutput, InferenceConfiguration, Message, SystemContentBlock};
use aws_sdk_bedrockruntime::Client;
use tokio::sync::OnceCell;

use super::{GroundedModel, ModelError, ModelReply, ModelRequest};

/// Attempts per call: one retry of a throttled or failed call fits the worker's few seconds
/// (`ai.model.timeout_ms`); more would only be cut off by it.
const ATTEMPTS: u32 = 2;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Answers should be the same for the same question: no sampling.
const TEMPERATURE: f32 = 0.0;
/// How much of a service's error message is kept (it names the problem in its first words).
const ERROR_CHARS: usize = 200;

pub struct BedrockModel {
    client: OnceCell<Client>,
    /// The one model this deployment may call (template.yaml's `BedrockModelId`); None: any.
    allowed: Option<String>,
}

impl BedrockModel {
    /// A client on `sdk`'s region, credentials and endpoint.
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self::from_conf(aws_sdk_bedrockruntime::config::Builder::from(sdk))
    }

    /// A client from a configuration built by hand (the tests: the stand-in's endpoint).
    pub fn from_conf(conf: aws_sdk_bedrockruntime::config::Builder) -> Self {
        Self { client: OnceCell::new_with(Some(client(conf))), allowed: None }
    }

    /// The local server's: the SDK's configuration is read from the environment at the first
    /// call, so a run that never enables the model never looks for AWS credentials.
    pub fn from_env_when_used() -> Self {
        Self { client: OnceCell::new(), allowed: None }
    }

    /// Refuses, without a request, any model but `model_id` (IAM would refuse it anyway).
    pub fn allowing_only(mut self, model_id: impl Into<String>) -> Self {
        self.allowed = Some(model_id.into());
        self
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let sdk = aws_config::load_from_env().await;
                client(aws_sdk_bedrockruntime::config::Builder::from(&sdk))
            })
            .await
    }
}

fn client(conf: aws_sdk_bedrockruntime::config::Builder) -> Client {
    let retry = RetryConfig::standard().with_max_attempts(ATTEMPTS).with_initial_backoff(FIRST_BACKOFF);
    Client::from_conf(conf.retry_config(retry).build())
}

#[async_trait]
impl GroundedModel for BedrockModel {
    async fn converse(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        if self.allowed.as_ref().is_some_and(|allowed| *allowed != request.model_id) {
            return Err(ModelError::NotAllowed(request.model_id.clone()));
        }
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(request.message.clone()))
            .build()
            .map_err(|e| ModelError::Refused(e.to_string()))?;
        let inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(request.max_tokens).unwrap_or(i32::MAX))
            .temperature(TEMPERATURE)
            .build();
        let mut call = self.client().await.converse().model_id(&request.model_id).messages(message).inference_config(inference);
        for block in &request.system {
            call = call.system(SystemContentBlock::Text(block.clone()));
        }
        let output = call.send().await.map_err(sorted)?;
        let text: Vec<&str> = match output.output() {
            Some(ConverseOutput::Message(m)) => m.content().iter().filter_map(|c| c.as_text().ok()).map(String::as_str).collect(),
            _ => Vec::new(),
        };
        if text.is_empty() {
            return Err(ModelError::NoText);
        }
        let usage = output.usage();
        let tokens = |n: Option<i32>| n.map_or(0, |n| u64::try_from(n).unwrap_or(0));
        Ok(ModelReply {
            text: text.concat(),
            stop_reason: output.stop_reason().as_str().to_owned(),
            input_tokens: tokens(usage.map(|u| u.input_tokens())),
            output_tokens: tokens(usage.map(|u| u.output_tokens())),
        })
    }
}

/// The SDK's error, by what it means to the caller.
fn sorted(e: SdkError<ConverseError, aws_sdk_bedrockruntime::config::http::HttpResponse>) -> ModelError {
    let described = |e: &dyn ProvideErrorMetadata| {
        let text = format!("{}: {}", e.code().unwrap_or("error"), e.message().unwrap_or_default());
        text.chars().take(ERROR_CHARS).collect::<String>()
    };
    match e {
        SdkError::ServiceError(context) => {
            let e = context.err();
            if e.is_throttling_exception() {
                ModelError::Throttled
            } else if e.is_access_denied_exception() || e.is_resource_not_found_exception() || e.is_validation_exception() {
                ModelError::Refused(described(e))
            } else {
                // Internal, unavailable, model not ready, model timeout, model error, unknown.
                ModelError::Unavailable(described(e))
            }
        }
        SdkError::TimeoutError(_) => ModelError::Unavailable("timed out".into()),
        SdkError::DispatchFailure(f) => {
            ModelError::Unavailable(format!("could not connect ({})", if f.is_timeout() { "timeout" } else { "io" }))
        }
        other => ModelError::Unavailable(
            aws_sdk_bedrockruntime::error::DisplayErrorContext(other).to_string().chars().take(ERROR_CHARS).collect(),
        ),
    }
}
