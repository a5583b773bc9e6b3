//! The backfill sweep: walks the table (every conversation's log, through the store port)
//! against the archive's day indexes and archives whatever is missing, media included while
//! LINE still has it. It catches what the stream archiver never got: a batch parked in the
//! dead-letter queue, an archiver down for longer than the stream's 24 hours, an object
//! deleted, an item under legal hold (no TTL, so never checked at TTL time).
//!
//! What it fills goes to the conversation's **backfill chain** (`chain.rs`), never to the main
//! one, so each chain keeps a single writer. Each item found missing is logged at ERROR
//! (`alarm = ArchiveBackfilled`) and counted (`ArchiveBackfilled`, which has an alarm): a fill
//! means the archiver lost something, and someone should find out why.
//!
//! Runs are bounded (`BackfillRun::budget`) and resume where the last one stopped: a small
//! state document (`collections::ARCHIVE_BACKFILL`) holds the cursor of the pass and a lease,
//! so two runs (the schedule and `line-oa archive backfill`) never sweep at once.
//!
//! `lease` holds the state document; `conversation` checks and fills one conversation.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use self::lease::{Lease, SweepState, LEASE};
use super::{ArchiveError, Archiver};
use crate::domain::archive::index::sort_key_of;
use crate::domain::ids::ConversationId;
use crate::store::{PageRequest, Store, StoreError};

mod conversation;
mod lease;

/// Items logged more recently are still the stream archiver's (its batching window, its
/// retries): the sweep leaves them alone. The same hour as the archiver's IteratorAge alarm.
pub const SETTLE: Duration = Duration::from_secs(3600);
/// A scheduled pass starts at most this often; the schedule runs more often so that a pass
/// longer than one run's budget goes on soon.
pub const PASS_INTERVAL: Duration = Duration::from_secs(6 * 3600);
/// Conversations per step of the cursor.
const PAGE: usize = 25;
/// Conversations checked at once.
const CONCURRENCY: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("another backfill ({owner}) holds the sweep until {until}; try again then")]
    Busy { owner: String, until: String },
    #[error("the archiver was given no table to sweep")]
    NoTable,
}

/// What one run sweeps.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Goes on with the pass where the last run stopped; a new pass every `PASS_INTERVAL`.
    Scheduled,
    /// Every conversation, from the first, now.
    Everything,
    One(ConversationId),
}

/// One run of the sweep: what, when (`now_ms`, also what "settled" is measured from), and
/// for how long at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillRun {
    scope: Scope,
    now_ms: i64,
    /// No new page is started after this long (the first always is); None: to the end.
    budget: Option<Duration>,
    /// Who holds the lease, for whoever finds it held.
    owner: String,
}

impl BackfillRun {
    /// The schedule's run (AWS, the local archive task): at most `budget`, then the next run
    /// goes on from there.
    pub fn scheduled(now_ms: i64, budget: Duration, owner: &str) -> Self {
        Self { scope: Scope::Scheduled, now_ms, budget: Some(budget), owner: owner.to_owned() }
    }

    /// Every conversation now, to the end (the command line).
    pub fn everything(now_ms: i64, owner: &str) -> Self {
        Self { scope: Scope::Everything, now_ms, budget: None, owner: owner.to_owned() }
    }

    pub fn conversation(conversation: ConversationId, now_ms: i64, owner: &str) -> Self {
        Self { scope: Scope::One(conversation), now_ms, budget: None, owner: owner.to_owned() }
    }
}

/// What a conversation was given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilledConversation {
    pub conversation: ConversationId,
    /// Sort keys of the items archived now.
    pub items: Vec<String>,
    /// Media content stored with them.
    pub media: usize,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BackfillReport {
    pub conversations: usize,
    /// Settled log items checked against the archive.
    pub checked: usize,
    pub filled: Vec<FilledConversation>,
    /// Conversations that could not be checked (`conversation`, error); tried again next pass.
    pub failed: Vec<(String, String)>,
    /// Whether the sweep reached the last conversation (false: the budget ran out first, or
    /// the run did not sweep).
    pub pass_complete: bool,
    /// Why a scheduled run swept nothing (not due yet, or another run holds the sweep).
    pub skipped: Option<String>,
}

impl BackfillReport {
    pub fn items_filled(&self) -> usize {
        self.filled.iter().map(|f| f.items.len()).sum()
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn timestamp(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms).map(|t| t.to_string()).unwrap_or_else(|_| at_ms.to_string())
}

impl Archiver {
    /// The scheduled run against the table given by `with_table`.
    pub async fn backfill_table(&self, run: &BackfillRun) -> Result<BackfillReport, BackfillError> {
        let table = self.table().ok_or(BackfillError::NoTable)?;
        self.backfill(table, run).await
    }

    /// Runs the sweep over `store`'s log. A scheduled run that finds the sweep held by another
    /// run, or not due, reports so and sweeps nothing; the others fail with `Busy`.
    pub async fn backfill(&self, store: &dyn Store, run: &BackfillRun) -> Result<BackfillReport, BackfillError> {
        let started = Instant::now();
        let mut lease = match Lease::claim(store, run.now_ms, &run.owner).await {
            Err(BackfillError::Busy { owner, until }) if run.scope == Scope::Scheduled => {
                return Ok(BackfillReport {
                    skipped: Some(format!("another backfill ({owner}) holds the sweep until {until}")),
                    ..Default::default()
                })
            }
            other => other?,
        };
        let result = self.sweep(store, run, &mut lease, started).await;
        // Let go whatever happened; a run that cannot is waited out (`LEASE`).
        let released = lease.save(0).await;
        let report = result?;
        released?;
        tracing::info!(
            conversations = report.conversations,
            checked = report.checked,
            filled = report.items_filled(),
            failed = report.failed.len(),
            pass_complete = report.pass_complete,
            elapsed_ms = ms(started.elapsed()),
            "backfill run done"
        );
        Ok(report)
    }

    async fn sweep(
        &self,
        store: &dyn Store,
        run: &BackfillRun,
        lease: &mut Lease<'_>,
        started: Instant,
    ) -> Result<BackfillReport, BackfillError> {
        let mut report = BackfillReport::default();
        let renew = |started: Instant| run.now_ms + ms(started.elapsed()) + ms(LEASE);
        let mut after = match &run.scope {
            Scope::One(conversation) => {
                self.sweep_page(store, run, vec![conversation.clone()], &mut report).await;
                report.pass_complete = true;
                return Ok(report);
            }
            Scope::Everything => None,
            Scope::Scheduled => {
                let state = &mut lease.state;
                if state.pass_complete {
                    if run.now_ms - state.pass_started_ms < ms(PASS_INTERVAL) {
                        report.skipped = Some(format!("not due: the last pass started at {}", timestamp(state.pass_started_ms)));
                        return Ok(report);
                    }
                    *state = SweepState { lease_owner: state.lease_owner.clone(), ..Default::default() };
                }
                if state.pass_started_ms == 0 {
                    state.pass_started_ms = run.now_ms;
                }
                state.after.clone()
            }
        };
        loop {
            let page = store.conversation_ids(&PageRequest { limit: PAGE, after: after.clone() }).await?;
            let (checked, filled) = (report.checked, report.items_filled());
            self.sweep_page(store, run, page.items, &mut report).await;
            after = page.next;
            report.pass_complete = after.is_none();
            if run.scope == Scope::Scheduled {
                let state = &mut lease.state;
                state.after = after.clone();
                state.pass_complete = report.pass_complete;
                state.pass_checked += (report.checked - checked) as u64;
                state.pass_filled += (report.items_filled() - filled) as u64;
                if report.pass_complete {
                    tracing::info!(checked = state.pass_checked, filled = state.pass_filled, since = %timestamp(state.pass_started_ms), "backfill pass complete");
                }
            }
            lease.save(renew(started)).await?;
            // A run always makes a page of progress, then stops once its budget is spent.
            if report.pass_complete || run.budget.is_some_and(|budget| started.elapsed() >= budget) {
                return Ok(report);
            }
        }
    }

    /// Checks the conversations, a few at once; one that fails is reported and left for the
    /// next pass, so a single bad conversation never stops the sweep.
    async fn sweep_page(&self, store: &dyn Store, run: &BackfillRun, conversations: Vec<ConversationId>, report: &mut BackfillReport) {
        let checks: Vec<_> = stream::iter(conversations)
            .map(|conversation| async move {
                let result = self.backfill_conversation(store, &conversation, run.now_ms).await;
                (conversation, result)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (conversation, result) in checks {
            report.conversations += 1;
            match result {
                Ok(checked) => {
                    report.checked += checked.items;
                    if !checked.filled.is_empty() {
                        let items = checked.filled.iter().map(sort_key_of).collect();
                        report.filled.push(FilledConversation { conversation, items, media: checked.media });
                    }
                }
                Err(e) => {
                    tracing::error!(%conversation, error = %e, "backfill could not check a conversation; tried again next pass");
                    report.failed.push((conversation.to_string(), e.to_string()));
                }
            }
        }
    }
}
