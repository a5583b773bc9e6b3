//! The local background worker: handles each logged event once, after the webhook answered.
//! Fed in-process by the webhook; the store's pending table is read only at start, on a slow
//! sweep, and after a partial failure, so a crash or a failed handling is picked up again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::time::MissedTickBehavior;

use super::settle::Settle;
use crate::service::Handler;
use crate::store::{InboundRecord, WorkQueue};

/// How often the worker re-reads the pending table for events it has not been handed (a
/// handling that failed, or a write whose caller was told it failed but which committed).
const SWEEP_INTERVAL: Duration = Duration::from_secs(15);

/// Batches handed over by the webhook and not yet taken by the worker.
pub(super) const QUEUE_CAPACITY: usize = 1024;
/// Events handled at once; more wait in the pending table for the next sweep.
const MAX_IN_FLIGHT: usize = 512;

pub(super) enum Work {
    Handle(Vec<InboundRecord>),
    /// Something may have been logged without being handed over: read the pending table.
    Rescan,
}

pub(super) async fn run(queue: Arc<dyn WorkQueue>, handler: Handler, mut work: mpsc::Receiver<Work>, handled: Arc<Notify>, settle: Settle) {
    // The first tick is immediate: recovery of what an earlier run left pending.
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let records = tokio::select! {
            next = work.recv() => match next {
                Some(Work::Handle(records)) => records,
                Some(Work::Rescan) => pending(queue.as_ref()).await,
                None => return,
            },
            _ = sweep.tick() => pending(queue.as_ref()).await,
        };
        for record in records {
            spawn_handle(&queue, &handler, &settle, &handled, record);
        }
    }
}

async fn pending(queue: &dyn WorkQueue) -> Vec<InboundRecord> {
    queue.pending().await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read pending events");
        Vec::new()
    })
}

/// One task per event, so a slow LINE API for one user does not hold up the rest; their
/// store writes still share commits (the store's group commit).
fn spawn_handle(queue: &Arc<dyn WorkQueue>, handler: &Handler, settle: &Settle, handled: &Arc<Notify>, record: InboundRecord) {
    let key = (record.conversation.as_str().to_owned(), record.event_id.as_str().to_owned());
    {
        let mut in_flight = settle.in_flight().lock().expect("lock");
        // Over the limit the event stays pending: the next sweep hands it out again.
        if in_flight.len() >= MAX_IN_FLIGHT || !in_flight.insert(key.clone()) {
            return;
        }
    }
    let (queue, handler, settle, handled) = (queue.clone(), handler.clone(), settle.clone(), handled.clone());
    tokio::spawn(async move {
        match handler.handle(&record).await {
            Ok(outcome) => {
                tracing::info!(event_id = %record.event_id, ?outcome, "handled");
                // Done and due for the archive in one commit; the archiver batches from there.
                match queue.done(&record).await {
                    Ok(()) => handled.notify_one(),
                    Err(e) => tracing::error!(error = %e, "could not mark event handled"),
                }
            }
            Err(e) => tracing::error!(error = %e, event_id = %record.event_id, "handling failed; will retry"),
        }
        let ran_dry = {
            let mut in_flight = settle.in_flight().lock().expect("lock");
            in_flight.remove(&key);
            in_flight.is_empty()
        };
        // Only when the last one ends: a burst wakes a waiter once, not once per event.
        if ran_dry {
            settle.worker_ran_dry();
        }
    });
}
