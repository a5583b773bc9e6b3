//! Whether the local server has settled: every event it logged handled, nothing in flight in
//! the worker, the archive caught up. A caller (a test, a shutdown) waits on it instead of
//! guessing with a sleep. The worker and the archiver only bump a `watch` when the worker runs
//! dry and when an archive pass ends; the store is read only when someone asks.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::store::embedded::EmbeddedStore;
use crate::store::{ArchiveQueue, StoreError, WorkQueue};

/// The events the worker is handling now, by (conversation, event id).
pub(super) type InFlight = Arc<Mutex<HashSet<(String, String)>>>;

/// What the local server still owes, as of one look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Events logged and not handled yet: queued for the worker, in flight, or waiting for
    /// the next sweep after a failed handling.
    pub pending: usize,
    /// Events the worker is handling right now.
    pub in_flight: usize,
    /// Conversations with handled events or finished replies the archive does not have yet.
    pub archive_due: usize,
    /// Whether the archiver has finished its first round: what a restart left due, and the
    /// backfill sweep it runs at start.
    pub archiver_started: bool,
}

impl Backlog {
    /// Every event logged so far has been handled (its replies sent or given up on).
    pub fn handled(&self) -> bool {
        self.pending == 0 && self.in_flight == 0
    }

    /// Handled, and archived: nothing more will happen until something new arrives (or a timer
    /// fires: expiry, media retries, re-notify).
    pub fn settled(&self) -> bool {
        self.handled() && self.archive_due == 0 && self.archiver_started
    }
}

impl fmt::Display for Backlog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let started = if self.archiver_started { "archiver started" } else { "archiver not through its first round" };
        write!(
            f,
            "{} event(s) pending, {} in flight, {} conversation(s) due for the archive, {started}",
            self.pending, self.in_flight, self.archive_due
        )
    }
}

/// How far the worker and the archiver have got; every change wakes whoever waits.
#[derive(Debug, Default)]
struct Progress {
    archiver_started: bool,
}

/// A handle on the local server's progress; cheap to clone.
#[derive(Clone)]
pub struct Settle {
    store: EmbeddedStore,
    in_flight: InFlight,
    progress: Arc<watch::Sender<Progress>>,
}

impl Settle {
    pub(super) fn new(store: EmbeddedStore) -> Self {
        Self { store, in_flight: InFlight::default(), progress: Arc::new(watch::Sender::new(Progress::default())) }
    }

    pub(super) fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    /// The worker has nothing in flight (it may still have pending events to retry).
    pub(super) fn worker_ran_dry(&self) {
        self.progress.send_modify(|_| {});
    }

    /// An archive pass ended, archived or failed.
    pub(super) fn archive_pass_ended(&self) {
        self.progress.send_modify(|_| {});
    }

    /// The archiver's first round (recovery and the start-up backfill sweep) is done.
    pub(super) fn archiver_started(&self) {
        self.progress.send_modify(|p| p.archiver_started = true);
    }

    /// What is owed now. Pending is read before the archive's marks: handling an event moves
    /// it from one to the other in one commit, so it cannot slip between the two reads.
    pub async fn backlog(&self) -> Result<Backlog, StoreError> {
        let pending = self.store.pending().await?.len();
        let in_flight = self.in_flight.lock().expect("lock").len();
        let archive_due = self.store.archive_due().await?.len();
        let archiver_started = self.progress.borrow().archiver_started;
        Ok(Backlog { pending, in_flight, archive_due, archiver_started })
    }

    /// Resolves once every event logged so far is handled; does not wait for the archive.
    pub async fn handled(&self) -> Result<Backlog, StoreError> {
        self.until(Backlog::handled).await
    }

    /// Resolves once the server has settled (see `Backlog::settled`). A reply staff sent
    /// through the operator API is archived on the archiver's next poll, not at once.
    pub async fn settled(&self) -> Result<Backlog, StoreError> {
        self.until(Backlog::settled).await
    }

    async fn until(&self, done: fn(&Backlog) -> bool) -> Result<Backlog, StoreError> {
        // Subscribed before the first look: progress made during it is not missed.
        let mut changes = self.progress.subscribe();
        loop {
            let backlog = self.backlog().await?;
            if done(&backlog) {
                return Ok(backlog);
            }
            // The sender lives in `self`: never closed while we wait.
            changes.changed().await.ok();
        }
    }
}
