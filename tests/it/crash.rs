//! Crash safety, proven: the real `line-oa` binary takes signed webhooks from hundreds of users,
//! many at once, and answers each through the LINE stand-in over HTTP; it is killed with SIGKILL
//! under that load, started again on the same data, and killed again, three times. At every
//! crash each event that got a 200 is in the log; at the end every logged event was answered
//! exactly once (one reply accepted per reply token, one outbound record, `sent`, or `unknown`
//! only for a reply a kill cut off mid-send) and nothing is left pending. The last run is killed
//! once more when quiet, and the same local app is started in-process on the data, so its
//! `Settle` (which reads the pending table) says exactly when nothing is owed; the binary's log
//! says an event was handled just before its done mark is committed.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use line_oa::store::OutboundStatus;

use crate::support::apps::{handled, start_local_app, test_config};
use crate::support::binary::Server;
use crate::support::crash::{inspect, load, read, released, Ack, Event, Snapshot};
use crate::support::line_standin::{LineStandin, StandinOptions};
use crate::support::wait;

/// Every text message gets the default response, every time: one reply per event.
const SETTINGS: &str = r#"
account_name = "テスト歯科"
[modes]
always = "auto_response"
[default_response]
once_per = "every_message"
messages = [{ type = "text", text = "ただいま確認しております。" }]
"#;
const REPLY_TEXT: &str = "ただいま確認しております。";

const USERS: usize = 300;
/// Each killed run: how many new events it is sent, and after how many 200s it is killed.
const KILLED_RUNS: [(usize, usize); 3] = [(450, 150), (450, 250), (450, 350)];
/// The last run is sent these new events and is not killed under load.
const LAST_RUN_EVENTS: usize = 250;
/// LINE's answer takes this long: replies are in flight whenever the server is killed.
const LINE_DELAY: Duration = Duration::from_millis(40);
/// How long the last run may take to handle what it owes.
const HANDLED_WITHIN: Duration = Duration::from_secs(30);

/// The ledger of the test: what was sent, what got a 200, what the crashes left.
#[derive(Default)]
struct Ledger {
    /// Events posted so far (their indexes: `0..posted`).
    posted: usize,
    /// Events that got a 200 (first delivery or redelivery).
    acked: HashSet<usize>,
    /// Events without a 200 that LINE will redeliver (the others it gave up on).
    to_redeliver: Vec<usize>,
    /// Events whose reply was claimed and had no outcome logged at some crash: cut off mid-send.
    interrupted: HashSet<String>,
    /// Events pending at each crash, summed: proof the kills came while work was owed.
    pending_at_crashes: usize,
    /// What the last crash left.
    last: Option<Snapshot>,
}

impl Ledger {
    /// The next run's batch: `new` events, with the redeliveries mixed in (one after every two).
    fn batch(&mut self, new: usize) -> Vec<(usize, bool)> {
        let mut again = std::mem::take(&mut self.to_redeliver).into_iter();
        let mut batch = Vec::new();
        for n in self.posted..self.posted + new {
            batch.push((n, false));
            if n % 2 == 1 {
                batch.extend(again.next().map(|r| (r, true)));
            }
        }
        batch.extend(again.map(|r| (r, true)));
        self.posted += new;
        batch
    }

    /// Books the 200s a run got for `batch`, checking each answer: a first delivery is new; a
    /// redelivery is a duplicate exactly when the last crash had left its event in the log.
    fn book(&mut self, events: &[Event], batch: &[(usize, bool)], acks: &[Ack]) {
        let redelivered: HashSet<usize> = batch.iter().filter(|(_, again)| *again).map(|(n, _)| *n).collect();
        for ack in acks {
            let id = &events[ack.event].id;
            let was_logged = self.last.as_ref().is_some_and(|s| s.logged.contains(id));
            let expected = if redelivered.contains(&ack.event) && was_logged { 0 } else { 1 };
            if let Some(logged) = ack.logged {
                assert_eq!(logged, expected, "{id}: `logged` in the answer (redelivered: {})", redelivered.contains(&ack.event));
            }
            self.acked.insert(ack.event);
        }
        // LINE redelivers what it got no 200 for; here only the even events, to leave some
        // logged or not and never sent again.
        let unacked = batch.iter().map(|(n, _)| *n).filter(|n| !self.acked.contains(n));
        self.to_redeliver = unacked.filter(|n| n % 2 == 0).collect::<HashSet<_>>().into_iter().collect();
        self.to_redeliver.sort_unstable();
    }

    /// Checks what a crash left: every event that got a 200 is in the log.
    fn crashed(&mut self, events: &[Event], crash: Snapshot) {
        let mut lost: Vec<&str> = self.acked.iter().map(|n| events[*n].id.as_str()).filter(|id| !crash.logged.contains(*id)).collect();
        lost.sort_unstable();
        let (count, some) = (lost.len(), &lost[..lost.len().min(20)]);
        assert!(lost.is_empty(), "{count} event(s) got a 200 and are not in the log after the crash, among them {some:?}");
        self.pending_at_crashes += crash.pending.len();
        self.interrupted.extend(crash.sending.iter().cloned());
        self.last = Some(crash);
    }
}

fn data_env(data: &Path) -> [(&'static str, String); 1] {
    [("DATA_DIR", data.display().to_string())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_under_load_and_restarted_three_times_every_acknowledged_event_is_answered_exactly_once() {
    let started = Instant::now();
    let standin = LineStandin::start(StandinOptions { delay: LINE_DELAY, ..StandinOptions::default() }).await;
    let data = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now().as_millisecond();
    let total = KILLED_RUNS.iter().map(|(new, _)| new).sum::<usize>() + LAST_RUN_EVENTS;
    let events: Vec<Event> = (0..total).map(|n| Event::new(n, n % USERS, now + n as i64)).collect();
    let mut ledger = Ledger::default();

    for (run, (new, kill_after)) in KILLED_RUNS.into_iter().enumerate() {
        released(data.path()).await;
        let server = Server::start(&standin, SETTINGS, &data_env(data.path())).await;
        let batch = ledger.batch(new);
        let (acks, server) = load(server, &events, &batch, Some(kill_after)).await;
        assert!(
            server.is_none() && acks.len() < batch.len(),
            "run {run}: killed with requests left ({} of {} got a 200)",
            acks.len(),
            batch.len()
        );
        ledger.book(&events, &batch, &acks);
        ledger.crashed(&events, inspect(data.path()).await);
    }
    assert!(ledger.pending_at_crashes > 0, "the kills came while events were owed");

    // The last run: everything LINE still redelivers, and new events; not killed under load.
    released(data.path()).await;
    let server = Server::start(&standin, SETTINGS, &data_env(data.path())).await;
    let batch = ledger.batch(LAST_RUN_EVENTS);
    let (acks, server) = load(server, &events, &batch, None).await;
    assert_eq!(acks.len(), batch.len(), "with no kill, every POST gets a 200");
    ledger.book(&events, &batch, &acks);
    let server = server.expect("not killed");
    // What it owes: what the last crash left pending (resumed at start), and what it logged new.
    let last = ledger.last.as_ref().expect("crashed before");
    let mut owed: HashSet<String> = last.pending.clone();
    owed.extend(acks.iter().filter(|a| a.logged == Some(1)).map(|a| events[a.event].id.clone()));
    wait_handled(&server, &owed).await;
    // Killed once more, now quiet: its last `done` marks may not be committed. Started again
    // in-process, whose `Settle` reads the pending table: what it finds is handled already.
    server.kill();
    let sent_before = standin.requests().len();
    let app = start_local_app(&test_config(&standin, SETTINGS), data.path()).await;
    handled(&app.settle).await;
    assert_eq!(standin.requests().len(), sent_before, "events found unmarked after the last kill are not answered again");
    let end = read(&app.store).await;

    check_exactly_once(&events, &ledger, &end, &standin);
    standin.assert_all_valid();
    eprintln!(
        "crash test: {} events posted ({} got a 200, {} logged without one, {} never logged); at the crashes {} pending and {} mid-send, {} of them unknown; {:?}",
        ledger.posted,
        ledger.acked.len(),
        end.logged.len() - ledger.acked.len(),
        ledger.posted - end.logged.len(),
        ledger.pending_at_crashes,
        ledger.interrupted.len(),
        end.outbound.values().filter(|s| **s == OutboundStatus::Unknown).count(),
        started.elapsed()
    );
}

/// Waits until the server has logged every one of `owed` handled (`local/worker.rs` logs each
/// event it handled, after its reply is recorded); fails at the deadline with what is missing.
async fn wait_handled(server: &Server, owed: &HashSet<String>) {
    let handled_id = |l: &str| l.split(" handled event_id=").nth(1).and_then(|rest| rest.split_whitespace().next()).map(str::to_owned);
    wait::until("the restarted server to handle every event it owes", HANDLED_WITHIN, || {
        let log = server.log();
        let handled: HashSet<String> = log.iter().filter_map(|l| handled_id(l)).collect();
        let missing: Vec<&String> = owed.iter().filter(|id| !handled.contains(*id)).collect();
        let seen = (missing.len(), missing.into_iter().take(10).cloned().collect::<Vec<_>>(), log[log.len().saturating_sub(5)..].to_vec());
        async move {
            if seen.0 == 0 {
                Ok(())
            } else {
                Err(seen)
            }
        }
    })
    .await
}

/// Every event that got a 200 is logged; every logged event was answered once and is done; an
/// event never logged was never answered.
fn check_exactly_once(events: &[Event], ledger: &Ledger, end: &Snapshot, standin: &LineStandin) {
    assert!(end.pending.is_empty(), "left pending: {:?}", end.pending);
    let mut replies: HashMap<String, Vec<u16>> = HashMap::new();
    for r in standin.requests() {
        assert_eq!(r.path, "/v2/bot/message/reply", "only replies are sent: {r:?}");
        let body = r.body.as_ref().expect("a JSON body");
        if r.status == 200 {
            assert_eq!(body["messages"][0]["text"], REPLY_TEXT);
        }
        replies.entry(body["replyToken"].as_str().expect("a reply token").to_owned()).or_default().push(r.status);
    }
    let mut tokens = HashSet::new();
    for (n, event) in events.iter().enumerate().take(ledger.posted) {
        tokens.insert(event.token.as_str());
        let id = &event.id;
        let answers = replies.get(&event.token).map(Vec::as_slice).unwrap_or_default();
        if !end.logged.contains(id) {
            assert!(!ledger.acked.contains(&n), "{id} got a 200 and is not in the log");
            assert!(answers.is_empty(), "{id} was never logged, yet answered: {answers:?}");
            continue;
        }
        // LINE takes a reply token once: exactly one accepted reply is what the customer got.
        assert_eq!(answers.iter().filter(|s| **s == 200).count(), 1, "{id}: one reply accepted, got {answers:?}");
        match end.outbound.get(id) {
            // Sent by the run that had it claimed: nothing else ever tried the token.
            Some(OutboundStatus::Sent) => assert_eq!(answers, [200], "{id}: sent once, nothing more"),
            // The claim had no outcome at a crash: the killed run's reply reached LINE, and a later
            // run found the token spent (400) and stopped. The bound: only events the store had
            // mid-send at a kill (at most what the worker had in flight then) may end here.
            Some(OutboundStatus::Unknown) => {
                assert!(ledger.interrupted.contains(id), "{id} is unknown but was never cut off mid-send");
                assert!(answers.iter().all(|s| [200, 400].contains(s)) && answers.contains(&400), "{id}: {answers:?}");
            }
            other => panic!("{id}: one outbound record, sent or unknown; found {other:?}"),
        }
    }
    let strangers: Vec<&String> = replies.keys().filter(|t| !tokens.contains(t.as_str())).collect();
    assert!(strangers.is_empty(), "replies with tokens never sent: {strangers:?}");
}
