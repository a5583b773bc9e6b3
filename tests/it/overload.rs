//! Overload on the local server: more events than the worker takes at once, against a slow
//! LINE API. The webhook keeps answering; what does not fit waits in the pending table for the
//! sweep; every event is answered exactly once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use line_oa::line_api::http::RetryPolicy;

use crate::support::apps::{text_body, LocalTestApp, SETTINGS};
use crate::support::sign;

#[tokio::test]
async fn more_events_than_the_worker_takes_at_once_are_all_answered_once() {
    const EVENTS: usize = 600; // over the worker's 512 at once
                               // LINE answers after 20 s (the client waits up to 60 s): every event is still in flight when
                               // the last is posted, so the worker's limit is reached for sure.
    let retry = RetryPolicy { attempts: 1, first_backoff: Duration::from_millis(50), timeout: Duration::from_secs(60) };
    let app = LocalTestApp::start_with_retry(SETTINGS, retry).await;
    let delay = Duration::from_secs(20);
    app.standin.set_delay(delay);
    let started = Instant::now();
    for i in 0..EVENTS {
        let body = text_body(&format!("ov-{i}"), &format!("Uov{i}"), "こんにちは", &format!("r-ov-{i}"));
        let (status, _) = app.post(&body, Some(&sign(&body))).await;
        assert_eq!(status, 200, "event {i}");
    }
    let webhook_time = started.elapsed();
    app.wait_for_requests(EVENTS, Duration::from_secs(90)).await;
    // Every event handled: a second reply to any of them would have been sent by now.
    app.handled().await;
    let requests = app.standin.requests();
    let mut per_token: HashMap<String, usize> = HashMap::new();
    for r in requests.iter().filter(|r| r.path == "/v2/bot/message/reply") {
        let token = r.body.as_ref().unwrap()["replyToken"].as_str().unwrap().to_owned();
        *per_token.entry(token).or_default() += 1;
    }
    assert_eq!(per_token.len(), EVENTS, "every event answered (webhook took {webhook_time:?})");
    assert!(per_token.values().all(|n| *n == 1), "none twice");
    // The premise, seen from LINE's side: the worker had its limit of 512 replies in flight
    // and never more (the other 88 waited in the pending table for the sweep).
    assert_eq!(app.standin.most_in_flight(), 512, "webhook took {webhook_time:?}");
}
