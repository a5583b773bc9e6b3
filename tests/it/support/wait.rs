//! Waiting for an event where nothing announces it (a file let go of, a job's status, a page
//! of the API): poll the condition until it holds, or fail at the deadline naming what was
//! awaited and what was seen last. Where the app announces the event (the local server's
//! `Settle`, the LINE stand-in's requests), wait on that instead.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is looked at again.
pub const POLL: Duration = Duration::from_millis(20);

/// Polls `check` until it gives `Ok`, and returns that; at the deadline panics with `what`
/// and the last `Err` it gave.
pub async fn until<T, S, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    S: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, S>>,
{
    let deadline = deadline(within);
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) => poll_again(deadline, what, &seen).await,
        }
    }
}

/// The deadline of a wait that starts now; see `poll_again`.
pub fn deadline(within: Duration) -> Deadline {
    Deadline { at: Instant::now() + within, within }
}

#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    within: Duration,
}

/// For a polling loop `until` cannot express (its check borrows mutably): panics with `what`
/// and `seen` once `deadline` has passed, or else waits one `POLL` before the next look.
pub async fn poll_again(deadline: Deadline, what: &str, seen: &impl Debug) {
    if Instant::now() >= deadline.at {
        panic!("waited {:?} for {what}; last seen: {seen:#?}", deadline.within);
    }
    tokio::time::sleep(POLL).await;
}

/// Opens the embedded store at `dir` once the last process or app to use it has let go of the
/// file (its writer thread ends just after its last handle is dropped; the store says "already open"
/// until then).
pub async fn reopen(dir: &std::path::Path) -> line_oa::store::embedded::EmbeddedStore {
    let what = format!("the embedded store at {} to be let go of", dir.display());
    until(&what, Duration::from_secs(10), || async { line_oa::store::embedded::EmbeddedStore::open(dir).map_err(|e| e.to_string()) }).await
}
