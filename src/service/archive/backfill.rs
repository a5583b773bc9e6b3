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

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use super::chain::{head_after, Chain};
use super::{ArchiveError, Archiver};
use crate::domain::archive::index::{index_key, sort_key_of, DayIndex};
use crate::domain::archive::{conversation_prefix, next_object_with_media, version_of, MediaOutcome};
use crate::domain::ids::ConversationId;
use crate::domain::log::LogItem;
use crate::domain::metrics::ARCHIVE_BACKFILLED;
use crate::store::{collections, Doc, PageRequest, Store, StoreError};

/// Items logged more recently are still the stream archiver's (its batching window, its
/// retries): the sweep leaves them alone. The same hour as the archiver's IteratorAge alarm.
pub const SETTLE: Duration = Duration::from_secs(3600);
/// LINE keeps media content one to two weeks: missing items younger than this get theirs.
const MEDIA_KEPT: Duration = Duration::from_secs(14 * 86_400);
/// A scheduled pass starts at most this often; the schedule runs more often so that a pass
/// longer than one run's budget goes on soon.
pub const PASS_INTERVAL: Duration = Duration::from_secs(6 * 3600);
/// Conversations per step of the cursor.
const PAGE: usize = 25;
/// Conversations checked at once.
const CONCURRENCY: usize = 8;
/// Day indexes read at once for one conversation.
const INDEX_READS: usize = 16;
const LOG_PAGE: usize = 500;
/// How long a run's claim on the sweep holds unless renewed (after every page): longer than
/// a page takes, short enough that a crashed run does not hold up the next one for long.
const LEASE: Duration = Duration::from_secs(15 * 60);
const STATE_ID: &str = "state";

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

/// The sweep's state document: the scheduled pass's cursor and the lease.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SweepState {
    /// Where the scheduled pass goes on (a `conversation_ids` cursor); None: at the start.
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    pass_started_ms: i64,
    #[serde(default)]
    pass_complete: bool,
    #[serde(default)]
    pass_checked: u64,
    #[serde(default)]
    pass_filled: u64,
    /// Until when a run holds the sweep (0: nobody).
    #[serde(default)]
    lease_until_ms: i64,
    #[serde(default)]
    lease_owner: String,
}

/// The sweep, claimed by one run: every write is versioned, so a run that lost its lease
/// (it stalled past `LEASE` and another took over) finds out at its next write and stops.
struct Lease<'a> {
    store: &'a dyn Store,
    state: SweepState,
    version: u64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn timestamp(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms).map(|t| t.to_string()).unwrap_or_else(|_| at_ms.to_string())
}

impl<'a> Lease<'a> {
    async fn claim(store: &'a dyn Store, now_ms: i64, owner: &str) -> Result<Lease<'a>, BackfillError> {
        let (state, version) = match store.doc(collections::ARCHIVE_BACKFILL, STATE_ID).await? {
            None => (SweepState::default(), 0),
            Some(doc) => {
                let state = serde_json::from_str(&doc.body)
                    .map_err(|e| StoreError::corrupt(format!("{}/{STATE_ID}", collections::ARCHIVE_BACKFILL), e))?;
                (state, doc.version)
            }
        };
        let busy = |state: &SweepState| BackfillError::Busy { owner: state.lease_owner.clone(), until: timestamp(state.lease_until_ms) };
        if state.lease_until_ms > now_ms {
            return Err(busy(&state));
        }
        let mut lease = Lease { store, state, version };
        lease.state.lease_owner = owner.to_owned();
        match lease.save(now_ms + ms(LEASE)).await {
            // Someone wrote the state since we read it: another run claimed the sweep first.
            Err(BackfillError::Store(StoreError::Conflict(_))) => {
                Err(BackfillError::Busy { owner: "another run, just now".into(), until: timestamp(now_ms + ms(LEASE)) })
            }
            other => other.map(|()| lease),
        }
    }

    /// Saves the state with the lease held until `lease_until_ms` (0 lets go).
    async fn save(&mut self, lease_until_ms: i64) -> Result<(), BackfillError> {
        self.state.lease_until_ms = lease_until_ms;
        let body = serde_json::to_string(&self.state).expect("sweep state serialises");
        self.store.put_doc(collections::ARCHIVE_BACKFILL, &Doc { id: STATE_ID.into(), body, version: self.version }).await?;
        self.version += 1;
        Ok(())
    }
}

/// When an item entered the log: what "settled" is measured from.
fn logged_ms(item: &LogItem) -> i64 {
    match item {
        LogItem::In(r) => r.timestamp_ms.max(r.received_ms),
        LogItem::Out(r) => r.timestamp_ms.max(r.created_ms),
    }
}

/// One conversation's check.
#[derive(Debug, Default)]
struct Checked {
    items: usize,
    filled: Vec<LogItem>,
    media: usize,
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

    /// Checks one conversation's settled log items against the archive and archives the
    /// missing ones into its backfill chain.
    async fn backfill_conversation(&self, store: &dyn Store, conversation: &ConversationId, now_ms: i64) -> Result<Checked, BackfillError> {
        let settled_before = now_ms - ms(SETTLE);
        let mut items = Vec::new();
        let mut after = None;
        loop {
            let page = store.log(conversation, &PageRequest { limit: LOG_PAGE, after: after.take() }).await?;
            items.extend(page.items.into_iter().filter(|item| logged_ms(item) < settled_before));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let mut checked = Checked { items: items.len(), ..Default::default() };
        if items.is_empty() {
            return Ok(checked);
        }
        // One listing says which objects exist: an index entry naming a deleted object does
        // not count as archived.
        let keys: BTreeSet<String> =
            self.store.list(&conversation_prefix(conversation)).await.map_err(ArchiveError::from)?.into_iter().collect();
        self.repair_backfill_head(conversation, &keys).await?;
        let main = self.indexes(items.iter().map(|i| Chain::Main.index_key(i))).await?;
        let held = |indexes: &BTreeMap<String, DayIndex>, key: &str, item: &LogItem| {
            indexes.get(key).and_then(|d| d.object_of(item)).is_some_and(|object| keys.contains(object))
        };
        items.retain(|item| !held(&main, &Chain::Main.index_key(item), item));
        let filled = self.indexes(items.iter().map(|i| Chain::Backfill.index_key(i))).await?;
        items.retain(|item| !held(&filled, &Chain::Backfill.index_key(item), item));
        if items.is_empty() {
            return Ok(checked);
        }
        // Objects from before the day index: found by reading the chain, and noted in the
        // sweep's index so the next pass need not read the chain again.
        let chain = self.index_from_chain(conversation).await?;
        let mut noted: BTreeMap<String, Vec<LogItem>> = BTreeMap::new();
        items.retain(|item| match chain.get(&index_key(item)).and_then(|d| d.object_of(item)) {
            Some(object) => {
                noted.entry(object.to_owned()).or_default().push(item.clone());
                false
            }
            None => true,
        });
        for (object, found) in noted {
            self.record_in_index(Chain::Backfill, &object, &found).await?;
        }
        if items.is_empty() {
            return Ok(checked);
        }
        checked.media = self.fill(conversation, &items, now_ms).await?;
        for item in &items {
            tracing::error!(
                alarm = ARCHIVE_BACKFILLED,
                %conversation,
                sort_key = %sort_key_of(item),
                "log item missing from the archive; archived now by the backfill sweep"
            );
        }
        self.metrics.count(ARCHIVE_BACKFILLED, items.len() as u64);
        checked.filled = items;
        Ok(checked)
    }

    async fn indexes(&self, keys: impl Iterator<Item = String>) -> Result<BTreeMap<String, DayIndex>, ArchiveError> {
        let keys: BTreeSet<String> = keys.collect();
        let read: Vec<_> = stream::iter(keys)
            .map(|key| async move {
                let index = self.day_index(&key).await;
                index.map(|index| (key, index))
            })
            .buffer_unordered(INDEX_READS)
            .collect()
            .await;
        read.into_iter().collect()
    }

    /// Appends `missing` to the conversation's backfill chain; returns the media stored.
    async fn fill(&self, conversation: &ConversationId, missing: &[LogItem], now_ms: i64) -> Result<usize, ArchiveError> {
        let head_key = Chain::Backfill.head_key(conversation);
        let mut head = self.read_head(&head_key).await?;
        // Missing means no longer in the archive, whatever the head remembers (a deleted object).
        let versions: BTreeSet<String> = missing.iter().map(version_of).collect();
        head.recent.retain(|v| !versions.contains(v));
        let fresh: Vec<&LogItem> = missing.iter().filter(|item| item.timestamp_ms() >= now_ms - ms(MEDIA_KEPT)).collect();
        let media = self.fetch_media(&fresh).await?;
        let Some(mut object) = next_object_with_media(conversation, &head, missing, &media) else { return Ok(0) };
        object.key = Chain::Backfill.object_key(conversation, &object.key);
        object.head.key = Some(object.key.clone());
        // Object, then index, then head, as the main chain: `repair_backfill_head` mends a
        // run that stopped before the head.
        self.put(&object.key, object.bytes.clone()).await?;
        self.record_in_index(Chain::Backfill, &object.key, &object.items).await?;
        self.put(&head_key, serde_json::to_vec(&object.head).expect("heads serialise")).await?;
        Ok(media.values().filter(|m| matches!(m, MediaOutcome::Stored(_))).count())
    }

    /// Moves the backfill chain's head to its last object if a run stopped between writing
    /// the object (and its index entries) and the head.
    async fn repair_backfill_head(&self, conversation: &ConversationId, keys: &BTreeSet<String>) -> Result<(), ArchiveError> {
        let objects: Vec<&String> = keys.iter().filter(|k| Chain::Backfill.is_object(conversation, k)).collect();
        let Some(last) = objects.last().and_then(|k| Chain::Backfill.seq_of(conversation, k)) else { return Ok(()) };
        let head_key = Chain::Backfill.head_key(conversation);
        let mut head = self.read_head(&head_key).await?;
        if last <= head.seq {
            return Ok(());
        }
        for key in objects {
            if Chain::Backfill.seq_of(conversation, key).is_none_or(|seq| seq <= head.seq) {
                continue;
            }
            let bytes = self.store.get(key).await?.unwrap_or_default();
            match head_after(&head, key, &bytes) {
                Some(next) => head = next,
                // Not the next object: a broken chain, for `archive verify` to name.
                None => return Ok(()),
            }
        }
        self.put(&head_key, serde_json::to_vec(&head).expect("heads serialise")).await?;
        tracing::warn!(%conversation, seq = head.seq, "backfill chain head moved to its last object (a run stopped before writing it)");
        Ok(())
    }
}
