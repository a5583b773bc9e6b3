//! For the crash test (`crash.rs`): signed events with a redelivery each, load that kills the
//! server the moment enough requests have got a 200, and what the store holds after a crash,
//! read with the server dead.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use line_oa::store::embedded::EmbeddedStore;
use line_oa::store::{Conversations, EventLog, LogItem, OutboundStatus, PageRequest, WorkQueue};

use super::apps::text_body_at;
use super::binary::Server;
use super::{sign, wait};

/// Webhook requests in flight at once.
pub const IN_FLIGHT: usize = 24;

/// One text message event, as LINE first sends it and as it redelivers it (same id and token).
pub struct Event {
    pub id: String,
    pub token: String,
    pub first: Vec<u8>,
    pub redelivery: Vec<u8>,
}

impl Event {
    pub fn new(n: usize, user: usize, at_ms: i64) -> Self {
        let (id, token) = (format!("crash-{n:04}"), format!("rt-crash-{n:04}"));
        let first = text_body_at(&id, &format!("Ucrash{user:03}"), "予約できますか", &token, at_ms);
        let redelivery = String::from_utf8(first.clone()).unwrap().replace("\"isRedelivery\":false", "\"isRedelivery\":true");
        assert!(redelivery.contains("\"isRedelivery\":true"));
        Event { id, token, first, redelivery: redelivery.into_bytes() }
    }
}

/// A POST that got a 200: its event, and the answer's `logged` if the body came too (1 new, 0 a duplicate).
pub struct Ack {
    pub event: usize,
    pub logged: Option<u64>,
}

/// Posts `batch` (event index, redelivery?) signed, `IN_FLIGHT` at a time. With `kill_after`,
/// the server is killed with SIGKILL as soon as that many have got a 200: the others are in
/// flight or not sent yet. Returns the 200s, and the server unless it was killed. Any answer but
/// a 200 fails the test; no answer (refused, cut off) is what a kill does.
pub async fn load(server: Server, events: &[Event], batch: &[(usize, bool)], kill_after: Option<usize>) -> (Vec<Ack>, Option<Server>) {
    let client = reqwest::Client::new();
    let url = format!("{}/webhook", server.url);
    let (server, acks) = (Mutex::new(Some(server)), AtomicUsize::new(0));
    let (server_ref, acks_ref) = (&server, &acks);
    let answers: Vec<Option<Ack>> = stream::iter(batch)
        .map(|&(n, again)| {
            let body = if again { &events[n].redelivery } else { &events[n].first };
            let request =
                client.post(&url).header("content-type", "application/json").header("x-line-signature", sign(body)).body(body.clone());
            async move {
                let response = request.send().await.ok()?;
                assert_eq!(response.status(), 200, "{}: {:?}", events[n].id, response.text().await);
                let logged = response.json::<serde_json::Value>().await.ok().and_then(|a| a["logged"].as_u64());
                if kill_after == Some(acks_ref.fetch_add(1, Ordering::SeqCst) + 1) {
                    let killed = server_ref.lock().unwrap().take();
                    killed.expect("killed once").kill();
                }
                Some(Ack { event: n, logged })
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    (answers.into_iter().flatten().collect(), server.into_inner().unwrap())
}

/// What the store holds, by event id.
pub struct Snapshot {
    /// Inbound events in the log.
    pub logged: HashSet<String>,
    /// Logged and not yet marked handled.
    pub pending: HashSet<String>,
    /// Replies claimed (in their conversation's state) with no outcome logged: cut off
    /// mid-send, if read after a crash.
    pub sending: HashSet<String>,
    /// Each reply's status, by the event it answers.
    pub outbound: HashMap<String, OutboundStatus>,
}

/// Reads the store at `dir` once the killed server has let go of it, and lets go of it again.
pub async fn inspect(dir: &Path) -> Snapshot {
    let store = wait::reopen(dir).await;
    read(&store).await
}

/// Every conversation's log, through the `EventLog` port, and the pending events; checks that
/// each event is logged once, each reply recorded once and for a logged event, none failed.
pub async fn read(store: &EmbeddedStore) -> Snapshot {
    let mut inbound: HashMap<String, usize> = HashMap::new();
    let mut outbound = HashMap::new();
    let mut claimed = HashSet::new();
    let mut conversations = PageRequest { limit: 100, after: None };
    loop {
        let ids = store.conversation_ids(&conversations).await.expect("conversations");
        for id in &ids.items {
            let state = store.conversation(id).await.expect("a conversation's state");
            claimed.extend(state.into_iter().flat_map(|s| s.replies).map(|claim| claim.event_id));
            let mut page = PageRequest { limit: 1000, after: None };
            loop {
                let items = store.log(id, &page).await.expect("a conversation's log");
                for item in items.items {
                    match item {
                        LogItem::In(r) => *inbound.entry(r.event_id.as_str().to_owned()).or_default() += 1,
                        LogItem::Out(o) => {
                            assert!(o.status != OutboundStatus::Failed, "a reply failed: {o:?}");
                            let again = outbound.insert(o.id.clone(), o.status);
                            assert!(again.is_none(), "two outbound records for {}", o.id);
                        }
                    }
                }
                match items.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
        }
        match ids.next {
            Some(next) => conversations.after = Some(next),
            None => break,
        }
    }
    let twice: Vec<_> = inbound.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "events logged more than once: {twice:?}");
    let logged: HashSet<String> = inbound.into_keys().collect();
    let orphans: Vec<_> = outbound.keys().filter(|id| !logged.contains(*id)).collect();
    assert!(orphans.is_empty(), "replies to events not in the log: {orphans:?}");
    let pending = store.pending().await.expect("pending").into_iter().map(|r| r.event_id.as_str().to_owned()).collect();
    let sending = claimed.into_iter().filter(|id| !outbound.contains_key(id)).collect();
    Snapshot { logged, pending, sending, outbound }
}

/// Waits until no process holds the store at `dir`: an in-process store's writer thread lets
/// go of the file just after the store is dropped, so a command that opens it is run until it
/// does not find it open (as `backfill.rs` does); the server started next then always can.
pub async fn released(dir: &Path) {
    let what = format!("the store at {} to be let go of", dir.display());
    wait::until(&what, Duration::from_secs(10), || async {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_line-oa"))
            .args(["hold", "list"])
            .env_clear()
            .env("DATA_DIR", dir)
            .output()
            .expect("run line-oa hold list");
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        match (out.status.success(), text.contains("already open")) {
            (true, _) => Ok(()),
            (false, true) => Err(text),
            (false, false) => panic!("`line-oa hold list` failed on {}: {text}", dir.display()),
        }
    })
    .await
}
