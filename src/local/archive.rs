//! The local archiver: batches what the worker handled into the archive, one object per
//! conversation per batch (as the Lambda archiver does per stream batch), instead of one per event.
//! The same task runs the TTL expiry sweep, so archiving and expiry never overlap, tries
//! failed media downloads again, and runs the backfill sweep (what the archive lacks, archived
//! now: at start, then as on AWS), so the archive has one writer here too.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::settle::Settle;
use crate::domain::ids::ConversationId;
use crate::service::archive::{Archiver, BackfillRun};
use crate::store::embedded::EmbeddedStore;
use crate::store::{log_cursor_from, ArchiveDue, ArchiveQueue, EventLog, LocalTtl, PageRequest};

/// How long handled events gather before a batch is archived when few conversations are
/// busy: bounds how far the archive lags the log, and how many objects a busy conversation
/// gets (one per window at most).
const WINDOW: Duration = Duration::from_secs(2);
/// Conversations archived per `WINDOW` before the window stretches: every conversation due is
/// one object (a file, its fsync and the chain head's), so under load the window grows with
/// the number due and the objects written per second stay about the same.
const OBJECTS_PER_WINDOW: usize = 100;
/// The longest the window stretches: the AWS archiver's batching window (template.yaml).
const MAX_WINDOW: Duration = Duration::from_secs(30);

/// The wait before the next pass, after one that archived `archived` conversations.
fn window_after(archived: usize) -> Duration {
    let windows = archived.div_ceil(OBJECTS_PER_WINDOW).max(1) as u32;
    WINDOW.saturating_mul(windows).min(MAX_WINDOW)
}
/// Wait before retrying a batch that failed.
const RETRY: Duration = Duration::from_secs(15);
/// Conversations archived at once (each object and head is written with an fsync).
const CONCURRENCY: usize = 8;
/// Log items read per page.
const PAGE: usize = 1000;
/// How often the archive table is looked at when nothing woke the task (a reply sent by
/// staff through the operator API marks its conversation due without waking it).
const POLL: Duration = Duration::from_secs(15);
/// How often expired log items are archived-checked and removed (a full scan of the log).
const EXPIRY_INTERVAL: Duration = Duration::from_secs(600);
/// How often failed media downloads are tried again (LINE keeps content one to two weeks).
const MEDIA_RETRY_INTERVAL: Duration = Duration::from_secs(900);
/// How often the backfill sweep looks whether a pass is due (`service::archive::backfill::PASS_INTERVAL`).
const BACKFILL_INTERVAL: Duration = Duration::from_secs(3600);
/// How long one backfill run may hold up archiving; an unfinished pass goes on after `BACKFILL_AGAIN`.
const BACKFILL_BUDGET: Duration = Duration::from_secs(10);
const BACKFILL_AGAIN: Duration = Duration::from_secs(60);

pub(super) async fn run(store: EmbeddedStore, archiver: Archiver, handled: Arc<Notify>, settle: Settle) {
    // The first expiry sweep waits one interval: what a restart left is archived first.
    let mut next_expiry = Instant::now() + EXPIRY_INTERVAL;
    let mut next_media_retry = Instant::now() + MEDIA_RETRY_INTERVAL;
    // The first backfill run right after the first pass: a server that was down may have missed nothing,
    // but an archive folder restored from a backup, or deleted, has gaps only a sweep finds.
    let mut next_backfill = Instant::now();
    let mut started = false;
    loop {
        // First pass at start: whatever a crash left due.
        let passed = archive_due(&store, &archiver).await;
        settle.archive_pass_ended();
        match passed {
            Ok(archived) => {
                tokio::select! {
                    _ = handled.notified() => tokio::time::sleep(window_after(archived)).await,
                    _ = tokio::time::sleep(POLL) => {}
                    _ = tokio::time::sleep_until(next_expiry) => {}
                    _ = tokio::time::sleep_until(next_media_retry) => {}
                    _ = tokio::time::sleep_until(next_backfill) => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "archiving failed; will retry");
                tokio::time::sleep(RETRY).await;
            }
        }
        if Instant::now() >= next_media_retry {
            next_media_retry = Instant::now() + MEDIA_RETRY_INTERVAL;
            match archiver.retry_media(jiff::Timestamp::now().as_millisecond()).await {
                Ok(report) if report != Default::default() => tracing::info!(?report, "failed media downloads tried again"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "media retry failed; will retry"),
            }
        }
        if Instant::now() >= next_backfill {
            next_backfill = Instant::now() + backfill(&store, &archiver).await;
            if !started {
                started = true;
                settle.archiver_started();
            }
        }
        if Instant::now() >= next_expiry {
            next_expiry = Instant::now() + EXPIRY_INTERVAL;
            expire(&store, &archiver).await;
        }
    }
}

/// One bounded backfill run; returns when to look again.
async fn backfill(store: &EmbeddedStore, archiver: &Archiver) -> Duration {
    let run = BackfillRun::scheduled(jiff::Timestamp::now().as_millisecond(), BACKFILL_BUDGET, "local server");
    match archiver.backfill(store, &run).await {
        Ok(report) if report.skipped.is_none() && !report.pass_complete => BACKFILL_AGAIN,
        Ok(_) => BACKFILL_INTERVAL,
        Err(e) => {
            tracing::error!(error = %e, "backfill sweep failed; will retry");
            BACKFILL_INTERVAL
        }
    }
}

async fn expire(store: &dyn LocalTtl, archiver: &Archiver) {
    match crate::service::expiry::expire(store, archiver, jiff::Timestamp::now().as_second()).await {
        Ok(report) if report.removed > 0 => tracing::info!(removed = report.removed, "expired log items removed"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "expiry sweep failed; will retry"),
    }
}

/// Archives every conversation due, then clears the marks archived, in one commit; returns
/// how many were due. A crash in between archives them again: the archiver skips items it
/// already has.
async fn archive_due(store: &EmbeddedStore, archiver: &Archiver) -> Result<usize, String> {
    let due = store.archive_due().await.map_err(|e| e.to_string())?;
    let mut tasks = JoinSet::new();
    let mut archived = Vec::with_capacity(due.len());
    let mut failed = None;
    for (id, mark) in due {
        if tasks.len() >= CONCURRENCY {
            collect(tasks.join_next().await, &mut archived, &mut failed);
        }
        let (store, archiver) = (store.clone(), archiver.clone());
        tasks.spawn(async move { archive_one(&store, &archiver, &id, mark).await.map(|()| (id, mark)) });
    }
    while let Some(result) = tasks.join_next().await {
        collect(Some(result), &mut archived, &mut failed);
    }
    let count = archived.len();
    store.archived(archived).await.map_err(|e| e.to_string())?;
    failed.map_or(Ok(count), Err)
}

type Archived = Result<(ConversationId, ArchiveDue), String>;

fn collect(
    result: Option<Result<Archived, tokio::task::JoinError>>,
    archived: &mut Vec<(ConversationId, ArchiveDue)>,
    failed: &mut Option<String>,
) {
    match result {
        Some(Ok(Ok(done))) => archived.push(done),
        Some(Ok(Err(e))) => *failed = Some(e),
        Some(Err(e)) => *failed = Some(e.to_string()),
        None => {}
    }
}

/// One conversation's log from its earliest item due on: the events handled and every reply
/// finished (the worker's and staff's through the operator API, which mark it due themselves).
async fn archive_one(store: &dyn EventLog, archiver: &Archiver, id: &ConversationId, due: ArchiveDue) -> Result<(), String> {
    let mut items = Vec::new();
    let mut after = Some(log_cursor_from(due.from_ms));
    while let Some(cursor) = after {
        let page = store.log(id, &PageRequest { limit: PAGE, after: Some(cursor) }).await.map_err(|e| e.to_string())?;
        items.extend(page.items);
        after = page.next;
    }
    archiver.archive(items).await.map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_stretches_with_the_conversations_due_up_to_the_aws_window() {
        assert_eq!(window_after(0), WINDOW, "quiet: the base window");
        assert_eq!(window_after(1), WINDOW);
        assert_eq!(window_after(OBJECTS_PER_WINDOW), WINDOW);
        assert_eq!(window_after(OBJECTS_PER_WINDOW + 1), WINDOW * 2);
        assert_eq!(window_after(5 * OBJECTS_PER_WINDOW), WINDOW * 5, "objects per second stay about the same");
        assert_eq!(window_after(1_000_000), MAX_WINDOW, "never longer than the AWS archiver's window");
    }
}
