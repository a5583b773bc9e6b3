//! The real `line-oa` binary as a user runs it: its own data folder and settings file, and
//! `PORT=0`: it logs the address it bound, so no port is picked beforehand and raced for. Its
//! log is read line by line as it comes, so tests wait for what the server says it did (an
//! event handled) instead of sleeping.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::line_standin::LineStandin;
use super::TEST_SECRET;

/// How long the binary may take to log that it is listening.
const START_WITHIN: Duration = Duration::from_secs(20);
/// How long events may take to be handled: an event that finds another with its id in flight
/// waits for the worker's next sweep (15 s), as LINE's fixtures, which share ids, do.
const HANDLED_WITHIN: Duration = Duration::from_secs(45);
/// Log lines shown when a wait fails.
const LOG_TAIL: usize = 30;

pub struct Server {
    child: Child,
    pub url: String,
    /// Holds `settings.toml` and the server's `DATA_DIR`, `data/`.
    pub dir: tempfile::TempDir,
    log: Arc<Log>,
}

/// The server's log so far (stderr, ANSI colours taken out), and who to wake on a new line.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
    /// Set when stderr closed: the server exited.
    closed: Mutex<bool>,
    changed: Notify,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Server {
    /// Starts `line-oa` against the stand-in with `settings`, and `env` on top of the usual
    /// test variables; returns once it is listening.
    pub async fn start(standin: &LineStandin, settings: &str, env: &[(&str, String)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let settings_file = dir.path().join("settings.toml");
        std::fs::write(&settings_file, settings).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_line-oa"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("PORT", "0")
            .env("DATA_DIR", dir.path().join("data"))
            .env("SETTINGS_FILE", &settings_file)
            .env("LINE_CHANNEL_SECRET", TEST_SECRET)
            .env("LINE_CHANNEL_ACCESS_TOKEN", "e2e-token")
            .env("LINE_API_BASE_URL", standin.base_url())
            // Media content too: every request stays on 127.0.0.1.
            .env("LINE_DATA_API_BASE_URL", standin.base_url())
            // LINE's fixtures are years old: widened as in `test_config`.
            .env("RETENTION_DAYS", super::apps::WIDE_WINDOW_DAYS)
            .env("REPLAY_WINDOW_DAYS", super::apps::WIDE_WINDOW_DAYS);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start line-oa");
        let log = Arc::new(Log::default());
        read_log(child.stderr.take().expect("piped stderr"), log.clone());
        let mut server = Server { child, url: String::new(), dir, log };
        let address = server
            .wait_log("line-oa to log the address it listens on", START_WITHIN, |lines| {
                lines.iter().filter(|l| l.contains("listening")).find_map(|l| field(l, "address"))
            })
            .await;
        server.url = format!("http://{address}");
        server
    }

    /// Kills the server with SIGKILL (`Child::kill` on Unix), as a crash or the OOM killer
    /// would, and reaps it: once this returns the process is gone.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL line-oa");
        self.child.wait().expect("reap line-oa");
    }

    /// Asks the server to stop with SIGTERM, as systemd or a container runtime would, and
    /// waits for it to exit (at most `within`); returns how it exited.
    pub async fn terminate(mut self, within: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid}");
        // Its stderr closes as it exits: the log reader marks that and wakes us.
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let changed = self.log.changed.notified();
            if *self.log.closed.lock().unwrap() {
                return self.child.wait().expect("reap line-oa");
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!("line-oa still running {within:?} after SIGTERM:\n  {}", self.log().join("\n  "));
            }
        }
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lines.lock().unwrap().clone()
    }

    /// Waits until `check` finds what it looks for in the log; fails at the deadline, or as
    /// soon as the server exits, with the end of the log.
    pub async fn wait_log<T>(&self, what: &str, within: Duration, check: impl Fn(&[String]) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            // Registered before the look: a line logged during it still wakes us.
            let changed = self.log.changed.notified();
            let lines = self.log();
            if let Some(found) = check(&lines) {
                return found;
            }
            let exited = *self.log.closed.lock().unwrap();
            if exited || tokio::time::timeout_at(deadline, changed).await.is_err() {
                let lines = self.log();
                if let Some(found) = check(&lines) {
                    return found;
                }
                let why = if exited { "line-oa exited".to_owned() } else { format!("waited {within:?}") };
                let tail = lines[lines.len().saturating_sub(LOG_TAIL)..].join("\n  ");
                panic!("{why} for {what}; the end of its log:\n  {tail}");
            }
        }
    }

    /// Waits until the worker has logged `n` events handled in all (replies sent, or none due):
    /// after that, what those events caused has happened.
    pub async fn wait_handled(&self, n: usize) {
        let what = format!("{n} event(s) handled");
        self.wait_log(&what, HANDLED_WITHIN, |lines| (handled(lines) >= n).then_some(())).await;
    }

    /// How many events the worker has logged handled so far.
    pub fn handled(&self) -> usize {
        handled(&self.log())
    }
}

/// The worker's line for each event it handled (`local/worker.rs`).
fn handled(lines: &[String]) -> usize {
    lines.iter().filter(|l| l.contains(" handled event_id=")).count()
}

/// The value of `name=` in a line of tracing's text format.
fn field(line: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    line.split_whitespace().find_map(|word| word.strip_prefix(&prefix)).map(str::to_owned)
}

/// Reads the server's stderr into `log` until the server exits.
fn read_log(stderr: ChildStderr, log: Arc<Log>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            log.lines.lock().unwrap().push(strip_ansi(&line));
            log.changed.notify_waiters();
        }
        *log.closed.lock().unwrap() = true;
        log.changed.notify_waiters();
    });
}

/// Colour codes out (`ESC [ ... letter`), in case NO_COLOR is not honoured.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
