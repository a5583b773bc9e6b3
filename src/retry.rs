//! The one retry policy for outgoing HTTP (the LINE API, the notification webhook): a number of
//! attempts, a backoff that doubles from a first delay, a timeout per attempt, and the loop that
//! runs an attempt until it is done, must not be repeated, or the attempts run out.

use std::future::Future;
use std::time::Duration;

/// How often and how patiently a call is tried. Each client picks its own numbers.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    /// Per attempt: a slow answer must not be taken for a failure, a hung peer must not hold
    /// the caller.
    pub timeout: Duration,
}

impl RetryPolicy {
    /// LINE's Messaging API: usually fast, and a reply token lives about a minute.
    pub const LINE_API: Self = Self { attempts: 4, first_backoff: Duration::from_millis(500), timeout: Duration::from_secs(10) };
    /// The staff-notice webhook: a receiver that hangs must not hold the worker.
    pub const WEBHOOK: Self = Self { attempts: 3, first_backoff: Duration::from_millis(500), timeout: Duration::from_secs(5) };

    /// The waits between attempts: `first_backoff`, doubled after each (one fewer than attempts).
    pub fn backoffs(&self) -> impl Iterator<Item = Duration> {
        std::iter::successors(Some(self.first_backoff), |d| Some(d.saturating_mul(2))).take(self.attempts.saturating_sub(1) as usize)
    }

    /// An HTTP client that enforces this policy's timeout per attempt.
    pub fn http_client(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("line-oa/", env!("CARGO_PKG_VERSION")))
    }
}

/// The LINE API's, the main caller's; the webhook's is [`RetryPolicy::WEBHOOK`].
impl Default for RetryPolicy {
    fn default() -> Self {
        Self::LINE_API
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The longest `Retry-After` honoured: a reply token lives about a minute, and a wait past
/// the request's own deadline helps nobody (LINE's rate limits are per second or minute).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// A `Retry-After` of whole seconds, if there is one and it is short enough to wait for.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let wait = Duration::from_secs(value.trim().parse::<u64>().ok()?);
    (wait <= MAX_RETRY_AFTER).then_some(wait)
}

/// Why an attempt did not succeed.
#[derive(Debug)]
pub enum Failure<E> {
    /// Worth another try. `interrupted`: the peer may have acted on it (a timeout, a dropped
    /// connection, a 5xx), as opposed to refused before doing anything (connection refused, 429).
    /// `wait`: the delay the peer asked for, instead of the backoff.
    Retry { reason: String, interrupted: bool, wait: Option<Duration> },
    /// Repeating would not help.
    GiveUp(E),
}

impl<E> Failure<E> {
    /// Possibly acted on by the peer: retry after the backoff.
    pub fn interrupted(reason: impl Into<String>) -> Self {
        Self::Retry { reason: reason.into(), interrupted: true, wait: None }
    }
    /// Refused before anything was done: safe to repeat, after `wait` if the peer named one.
    pub fn refused(reason: impl Into<String>, wait: Option<Duration>) -> Self {
        Self::Retry { reason: reason.into(), interrupted: false, wait }
    }
}

/// How a call ended without success.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped<E> {
    /// An attempt gave up. `interrupted`: the reason of an earlier attempt the peer may have acted
    /// on, if one was (so a "token already used" may be our own doing).
    GaveUp { error: E, interrupted: Option<String> },
    /// Every attempt failed; the reason of the last.
    Exhausted { attempts: u32, last: String },
}

/// Runs `attempt` until it succeeds, gives up, or the policy's attempts run out, sleeping the
/// backoff (or the wait the peer asked for) between attempts. `on_retry` sees each failure worth
/// another try, with its attempt number, for the caller's own log line.
pub async fn run<T, E, F, Fut>(policy: &RetryPolicy, mut attempt: F, on_retry: impl Fn(u32, &str, bool)) -> Result<T, Stopped<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure<E>>>,
{
    let mut backoffs = policy.backoffs();
    let mut last = String::new();
    let mut interrupted: Option<String> = None;
    for number in 1..=policy.attempts {
        let asked = match attempt().await {
            Ok(v) => return Ok(v),
            Err(Failure::GiveUp(error)) => return Err(Stopped::GaveUp { error, interrupted }),
            Err(Failure::Retry { reason, interrupted: acted_on, wait }) => {
                on_retry(number, &reason, acted_on);
                if acted_on {
                    interrupted = Some(reason.clone());
                }
                last = reason;
                wait
            }
        };
        // The backoff doubles whether or not the peer named its own wait.
        if let Some(backoff) = backoffs.next() {
            tokio::time::sleep(asked.unwrap_or(backoff)).await;
        }
    }
    Err(Stopped::Exhausted { attempts: policy.attempts, last })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn quick(attempts: u32) -> RetryPolicy {
        RetryPolicy { attempts, first_backoff: Duration::from_millis(1), timeout: Duration::from_secs(1) }
    }

    #[test]
    fn the_backoff_doubles_between_attempts() {
        let waits: Vec<_> = RetryPolicy::LINE_API.backoffs().collect();
        assert_eq!(waits, [500, 1000, 2000].map(Duration::from_millis));
        assert_eq!(RetryPolicy::WEBHOOK.backoffs().count(), 2);
        assert_eq!(quick(0).backoffs().count(), 0);
    }

    #[tokio::test]
    async fn a_call_that_keeps_failing_is_tried_the_policy_s_attempts() {
        let calls = AtomicU32::new(0);
        let result: Result<(), Stopped<()>> = run(
            &quick(3),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Failure::interrupted("500"))
            },
            |_, _, _| {},
        )
        .await;
        assert_eq!(result, Err(Stopped::Exhausted { attempts: 3, last: "500".into() }));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn giving_up_names_an_earlier_interrupted_attempt_and_a_clean_refusal_is_not_one() {
        let calls = AtomicU32::new(0);
        let result: Result<(), Stopped<&str>> = run(
            &quick(4),
            || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(Failure::refused("429", None)),
                    1 => Err(Failure::interrupted("timeout")),
                    _ => Err(Failure::GiveUp("spent")),
                }
            },
            |_, _, _| {},
        )
        .await;
        assert_eq!(result, Err(Stopped::GaveUp { error: "spent", interrupted: Some("timeout".into()) }));
        let clean: Result<(), Stopped<&str>> = run(&quick(2), || async { Err(Failure::GiveUp("no")) }, |_, _, _| {}).await;
        assert_eq!(clean, Err(Stopped::GaveUp { error: "no", interrupted: None }));
    }

    #[test]
    fn a_retry_after_is_honoured_up_to_the_cap() {
        let headers = |v: &str| {
            let mut h = reqwest::header::HeaderMap::new();
            h.insert(reqwest::header::RETRY_AFTER, v.parse().unwrap());
            h
        };
        assert_eq!(retry_after(&headers(" 2 ")), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(&headers("30")), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&headers("31")), None);
        assert_eq!(retry_after(&headers("Wed, 21 Oct 2026 07:28:00 GMT")), None);
        assert_eq!(retry_after(&reqwest::header::HeaderMap::new()), None);
    }
}
