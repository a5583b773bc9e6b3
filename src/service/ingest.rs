//! Ingest: verify the raw body, parse it, log every event once. Nothing is answered here.

use std::sync::Arc;

use super::{Retention, ServiceError};
use crate::domain::event::{Event, WebhookBody};
use crate::domain::metrics::STALE_EVENTS_IGNORED;
use crate::domain::replay::{is_stale, window_days};
use crate::domain::signature::SignatureVerifier;
use crate::metrics::Metrics;
use crate::store::{EventLog, InboundRecord, Inserted};

/// The webhook's use case: verify, parse, log. Holds the log and nothing else of the store.
#[derive(Clone)]
pub struct Ingest {
    verifier: SignatureVerifier,
    log: Arc<dyn EventLog>,
    retention: Retention,
    /// Events older than this many days (by their own time) are ignored: `domain::replay`.
    replay_window_days: u32,
    metrics: Metrics,
    /// This channel's bot user id (`destination` of its webhooks), when known.
    bot_user_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestSummary {
    pub new: usize,
    pub duplicates: usize,
    /// Events older than the replay window: acknowledged, not logged, not acted on.
    pub stale: usize,
    /// The records logged by this call (the new ones), for a worker fed in-process.
    pub logged: Vec<InboundRecord>,
}

/// What an ingest leaves for whoever handles logged events (the local worker; on Lambda the
/// table's stream does it instead).
#[derive(Debug, Clone, Copy)]
pub enum Logged<'a> {
    /// These records were logged just now.
    New(&'a [InboundRecord]),
    /// A partial failure: something may have been logged; look in the store.
    Unknown,
}

impl<'a> Logged<'a> {
    /// What to hand over after `result`: what is new, and a wake-up even after a partial
    /// failure (what was logged must still be handled); nothing for refused bodies, pure
    /// duplicates or stale events.
    pub fn after(result: &'a Result<IngestSummary, ServiceError>) -> Option<Self> {
        match result {
            Ok(summary) if summary.new > 0 => Some(Self::New(&summary.logged)),
            Ok(_) | Err(ServiceError::Signature(_) | ServiceError::Malformed(_) | ServiceError::Destination { .. }) => None,
            Err(_) => Some(Self::Unknown),
        }
    }
}

impl Ingest {
    /// The default replay window, no metrics, any bot.
    pub fn new(verifier: SignatureVerifier, log: Arc<dyn EventLog>, retention: Retention) -> Self {
        let replay_window_days = window_days(None, retention.days());
        Self { verifier, log, retention, replay_window_days, metrics: Metrics::off(), bot_user_id: None }
    }

    /// The replay window (`REPLAY_WINDOW_DAYS`), capped at the retention; None: the default.
    pub fn with_replay_window_days(mut self, days: Option<u32>) -> Self {
        self.replay_window_days = window_days(days, self.retention.days());
        self
    }

    /// Refuses webhooks addressed to another bot (`LINE_BOT_USER_ID`).
    pub fn with_bot_user_id(mut self, id: Option<String>) -> Self {
        self.bot_user_id = id.filter(|i| !i.is_empty());
        self
    }

    /// Where the count of stale events goes.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub async fn ingest(&self, body: &[u8], signature: Option<&str>) -> Result<IngestSummary, ServiceError> {
        self.verifier.verify(body, signature)?;
        let parsed = WebhookBody::parse(body).map_err(ServiceError::Malformed)?;
        if let (Some(ours), Some(got)) = (&self.bot_user_id, &parsed.destination) {
            if ours != got {
                return Err(ServiceError::Destination { got: got.clone() });
            }
        }
        let received_ms = self.retention.now_ms();
        let mut summary = IngestSummary::default();
        for event in &parsed.events {
            let sent = event.sent_ms();
            if let Some(sent_ms) = sent.filter(|sent| is_stale(*sent, received_ms, self.replay_window_days)) {
                // A replay (LINE stops redelivering long before): its log item may be gone, so
                // it could not be recognised as a duplicate. Counted; alarmed on AWS.
                tracing::warn!(
                    event_id = %event.id(),
                    redelivery = event.is_redelivery,
                    age_days = (received_ms - sent_ms) / 86_400_000,
                    window_days = self.replay_window_days,
                    "event older than the replay window ignored"
                );
                summary.stale += 1;
                continue;
            }
            let record = self.inbound_record(event, sent, received_ms);
            let inserted = self.log.put_inbound(&record).await?;
            tracing::info!(
                event_id = %record.event_id,
                conversation = %record.conversation,
                event_type = %record.event_type,
                redelivery = record.is_redelivery,
                duplicate = inserted == Inserted::Duplicate,
                "event logged"
            );
            match inserted {
                Inserted::New => {
                    summary.new += 1;
                    summary.logged.push(record);
                }
                Inserted::Duplicate => summary.duplicates += 1,
            }
        }
        self.metrics.count(STALE_EVENTS_IGNORED, summary.stale as u64);
        Ok(summary)
    }

    fn inbound_record(&self, event: &Event, sent_ms: Option<i64>, received_ms: i64) -> InboundRecord {
        // Only an event with neither a timestamp nor a ULID id (never LINE's) falls back to now.
        let timestamp_ms = sent_ms.unwrap_or(received_ms);
        InboundRecord {
            conversation: event.conversation_id(),
            event_id: event.id(),
            timestamp_ms,
            received_ms,
            event_type: event.event_type.clone(),
            message_type: event.message().map(|m| m.content.type_name().to_owned()),
            user_id: event.source.as_ref().and_then(|s| s.user_id()).map(str::to_owned),
            mode: event.mode.clone(),
            is_redelivery: event.is_redelivery,
            raw: event.raw.get().to_owned(),
            expires_at: self.retention.expires_at(timestamp_ms),
        }
    }
}
