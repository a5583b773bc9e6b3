//! Asking the model, when the rules say it may answer: the grounded request built, the call
//! bounded by `ai.model.timeout_ms`, the reply checked. Whatever goes wrong (a timeout, an
//! error, an answer that fails the check) gives the rules' own decision; never an error of the
//! handling, and never a wait past the timeout.

use std::time::Duration;

use jiff::Timestamp;

use super::Handler;
use crate::domain::conversation::ConversationState;
use crate::domain::event::Event;
use crate::domain::grounding::{self, ModelVerdict, Prompt};
use crate::domain::rules::{decide, Rules};
use crate::model::ModelRequest;

/// What the model would be asked about this event, if the rules say it may answer it.
pub(super) struct Question {
    prompt: Prompt,
    request: ModelRequest,
    timeout: Duration,
}

impl Handler {
    /// The question for `event`, decided on `state` (the event applied) as the rules would,
    /// or None when the model is off or the rules answer, or leave to staff, on their own.
    pub(super) fn model_question(&self, rules: &Rules, state: &ConversationState, event: &Event, at: Timestamp) -> Option<Question> {
        let settings = rules.model.as_ref()?;
        if !decide(rules, state, event, at).ask_model {
            return None;
        }
        let prompt = grounding::prompt(rules, event.text()?, at);
        let request = ModelRequest {
            model_id: settings.model_id.clone(),
            system: vec![prompt.instructions.clone(), prompt.knowledge.clone()],
            message: prompt.message.clone(),
            max_tokens: settings.max_tokens,
        };
        Some(Question { prompt, request, timeout: Duration::from_millis(settings.timeout_ms) })
    }

    /// Asks, waits at most the question's timeout, and checks the answer. Logged without the
    /// message or the answer above debug level.
    pub(super) async fn ask_model(&self, question: &Question, event_id: &str) -> ModelVerdict {
        self.metrics.count("ModelAsked", 1);
        let timeout_ms = question.timeout.as_millis();
        let verdict = match tokio::time::timeout(question.timeout, self.model.converse(&question.request)).await {
            Err(_) => {
                tracing::warn!(event_id, timeout_ms, "the model did not answer in time; the rules decide");
                ModelVerdict::NotUsed(format!("no answer within {timeout_ms} ms"))
            }
            Ok(Err(e)) => {
                tracing::warn!(event_id, error = %e, "the model failed; the rules decide");
                ModelVerdict::NotUsed(format!("model error: {e}"))
            }
            Ok(Ok(reply)) => {
                tracing::debug!(
                    event_id,
                    input_tokens = reply.input_tokens,
                    output_tokens = reply.output_tokens,
                    stop_reason = %reply.stop_reason,
                    "the model answered"
                );
                self.metrics.count("ModelInputTokens", reply.input_tokens);
                self.metrics.count("ModelOutputTokens", reply.output_tokens);
                if !reply.finished() {
                    ModelVerdict::NotUsed(format!("the model stopped early ({})", reply.stop_reason))
                } else {
                    match grounding::check(&reply.text, &question.prompt) {
                        Ok(answer) => ModelVerdict::Answered(answer),
                        Err(refusal) => {
                            tracing::debug!(event_id, ?refusal, "the model's answer was refused");
                            ModelVerdict::NotUsed(refusal.to_string())
                        }
                    }
                }
            }
        };
        let counted = if matches!(verdict, ModelVerdict::Answered(_)) { "ModelAnswered" } else { "ModelNotUsed" };
        self.metrics.count(counted, 1);
        verdict
    }
}
