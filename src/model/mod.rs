//! The language-model port: one grounded question, one reply. Adapters: `bedrock` (Amazon
//! Bedrock's Converse API) and `Unconfigured` (a deployment without a model: every call fails
//! at once, so the rules decide). What is asked and how the reply is checked is pure
//! (`domain::grounding`); when to ask, and for how long, is the worker's (`service::handle`).

use async_trait::async_trait;

pub mod bedrock;

pub use self::bedrock::BedrockModel;

/// One request: the system blocks (instructions, then knowledge), the customer's message as the
/// only user turn, and the answer's token budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRequest {
    pub model_id: String,
    pub system: Vec<String>,
    pub message: String,
    pub max_tokens: u32,
}

/// What the model said, and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelReply {
    /// Its text content blocks, joined.
    pub text: String,
    /// Why it stopped: `end_turn` when it finished; `max_tokens` when cut short.
    pub stop_reason: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl ModelReply {
    /// Whether the model finished its answer (a cut-short one is not used).
    pub fn finished(&self) -> bool {
        matches!(self.stop_reason.as_str(), "end_turn" | "stop_sequence")
    }
}

/// Failures sorted by what they mean to the caller; none carries the request's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("no model is configured for this deployment")]
    NotConfigured,
    /// The settings name a model this deployment may not call (template.yaml's `BedrockModelId`).
    #[error("model {0:?} is not the one this deployment may call")]
    NotAllowed(String),
    #[error("throttled by the model service")]
    Throttled,
    /// 5xx, timeouts and connection failures, after the client's retries.
    #[error("the model service is unavailable: {0}")]
    Unavailable(String),
    /// Access denied, an unknown model, a request it refuses: retrying will not help.
    #[error("the model service refused the request: {0}")]
    Refused(String),
    #[error("the model's response has no text")]
    NoText,
}

#[async_trait]
pub trait GroundedModel: Send + Sync {
    async fn converse(&self, request: &ModelRequest) -> Result<ModelReply, ModelError>;
}

/// No model in this deployment: the worker's rules decide every message.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unconfigured;

#[async_trait]
impl GroundedModel for Unconfigured {
    async fn converse(&self, _request: &ModelRequest) -> Result<ModelReply, ModelError> {
        Err(ModelError::NotConfigured)
    }
}
