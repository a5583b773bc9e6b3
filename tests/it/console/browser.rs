//! The browser: one Debian `chromedriver` per test binary run (started on first use on a port it
//! picks itself and names, gone when the binary exits), and one fresh headless Chromium session per test,
//! with helpers that wait on the page (never fixed sleeps) and fail loudly, with a screenshot.

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fantoccini::elements::{Element, ElementRef};
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use serde_json::{json, Value};

/// How long a wait gives the page by default: generous, for a 2-core machine that is also
/// building; a wait that passes returns as soon as its condition holds.
pub const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);
const DRIVER_START: Duration = Duration::from_secs(20);
/// The key WebDriver uses for an element in JSON (W3C).
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const ENTER: &str = "\u{e007}";
/// The page's size in CSS pixels (device scale factor 1), so screenshots are 1280×800.
pub const VIEWPORT: (u32, u32) = (1280, 800);

/// The running chromedriver; its shell wrapper ends it when our end of the pipe closes, that
/// is when the test binary exits, however it exits.
struct Driver {
    url: String,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

fn driver() -> &'static Driver {
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    DRIVER.get_or_init(|| {
        start_driver()
            .unwrap_or_else(|e| panic!("chromedriver did not start: {e} (infra/test.sh installs Debian's chromium and chromium-driver)"))
    })
}

/// What chromedriver prints once it listens, followed by the port (`--port=0`: it picks one).
const DRIVER_STARTED: &str = "started successfully on port ";

fn start_driver() -> Result<Driver, String> {
    let log_path = target_dir().join("chromedriver.log");
    std::fs::create_dir_all(target_dir()).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    // `read` returns when the test binary's end of stdin closes (at exit, even on a crash).
    let script = r#"chromedriver --port=0 --allowed-ips=127.0.0.1 --log-level=WARNING & d=$!; read _; kill $d 2>/dev/null; wait $d"#;
    let mut child = Command::new("sh")
        .args(["-c", script])
        .env("TZ", "Asia/Tokyo")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log.try_clone().map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let stdin = child.stdin.take().expect("piped stdin");
    // Its stdout, copied into the log as it comes, until it says which port it listens on.
    let (port_tx, port_rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        let mut log = log;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(log, "{line}");
            if let Some(port) = line.split(DRIVER_STARTED).nth(1).and_then(|p| p.trim_end_matches('.').trim().parse::<u16>().ok()) {
                let _ = port_tx.send(port);
            }
        }
    });
    let port = match port_rx.recv_timeout(DRIVER_START) {
        Ok(port) => port,
        Err(e) => {
            let _ = child.kill();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let why = if matches!(e, mpsc::RecvTimeoutError::Timeout) {
                format!("no port named within {DRIVER_START:?}")
            } else {
                "it exited".into()
            };
            return Err(format!("{why}; {}: {log}", log_path.display()));
        }
    };
    if !status_ready(port) {
        let _ = child.kill();
        return Err(format!("it named port {port}, but /status there is not ready"));
    }
    let url = format!("http://127.0.0.1:{port}/");
    Ok(Driver { url, _child: Mutex::new(child), _stdin: Mutex::new(stdin) })
}

/// `GET /status` answers `"ready": true` (blocking: used once, before any session exists).
fn status_ready(port: u16) -> bool {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.replace(' ', "").contains("\"ready\":true")
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| crate::support::repo_dir().join("target"), PathBuf::from)
}

pub fn screenshot_dir() -> PathBuf {
    target_dir().join("screenshots")
}

/// A scenario's failure screenshots from an earlier run would mislead: gone before it starts.
fn remove_failed_screenshots(scenario: &str) {
    let prefix = format!("{scenario}-FAILED");
    for entry in std::fs::read_dir(screenshot_dir()).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            std::fs::remove_file(entry.path()).ok();
        }
    }
}

fn chromium_binary() -> &'static str {
    // The real binary, not Debian's wrapper script (which adds flags from /etc/chromium.d).
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].into_iter().find(|p| std::path::Path::new(p).exists()).unwrap_or("chromium")
}

/// One browser log entry (`goog:loggingPrefs`), as chromedriver reports it.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub level: String,
    pub message: String,
}

/// A fresh Chromium session for one scenario. Every wait, screenshot and report names the scenario.
pub struct Browser {
    pub client: Client,
    pub scenario: String,
    driver_url: String,
    session: String,
    http: reqwest::Client,
    /// Browser log entries read so far (each read of chromedriver's log drains it).
    log: Mutex<Vec<LogEntry>>,
    /// Substrings of SEVERE entries this scenario provokes on purpose (a refused token's 401).
    expected_errors: Mutex<Vec<String>>,
    shots: Mutex<usize>,
    _profile: tempfile::TempDir,
}

/// Opens a fresh headless Chromium (Japanese UI, 1280×800) on `url`. Reusable by any scenario,
/// for instance one that signs in through another page first: drive `browser.client`.
pub async fn open(url: &str, scenario: &str) -> Browser {
    let driver = driver();
    remove_failed_screenshots(scenario);
    let profile = tempfile::tempdir().expect("a temporary Chromium profile");
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--lang=ja-JP",
        "--window-size=1280,800",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        "--mute-audio",
    ];
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium_binary(),
            "args": args,
            "prefs": { "intl.accept_languages": "ja-JP,ja" },
        },
        "goog:loggingPrefs": { "browser": "ALL" },
        "timeouts": { "script": 30_000, "pageLoad": 30_000, "implicit": 0 },
    });
    let caps = caps.as_object().unwrap().clone();
    let mut builder = ClientBuilder::rustls().expect("rustls connector");
    let client = builder.capabilities(caps).connect(&driver.url).await;
    let client = client.unwrap_or_else(|e| panic!("[{scenario}] cannot start a Chromium session through chromedriver: {e}"));
    let session = client.session_id().await.ok().flatten().expect("a WebDriver session id");
    let browser = Browser {
        client,
        scenario: scenario.to_owned(),
        driver_url: driver.url.clone(),
        session,
        http: reqwest::Client::new(),
        log: Mutex::default(),
        expected_errors: Mutex::default(),
        shots: Mutex::new(0),
        _profile: profile,
    };
    // --window-size counts the (invisible) window frame: grow the window until the page itself,
    // and so every screenshot, is 1280×800.
    let inner = browser.js("return [window.innerWidth, window.innerHeight]", vec![]).await;
    let (w, h) = (inner[0].as_u64().unwrap_or(1280), inner[1].as_u64().unwrap_or(800));
    if (w, h) != (VIEWPORT.0 as u64, VIEWPORT.1 as u64) {
        let (ow, oh) = browser.client.get_window_size().await.unwrap_or((1280, 800));
        let width = (ow + VIEWPORT.0 as u64).saturating_sub(w) as u32;
        let height = (oh + VIEWPORT.1 as u64).saturating_sub(h) as u32;
        browser.client.set_window_size(width, height).await.ok();
    }
    if let Err(e) = browser.client.goto(url).await {
        browser.client.clone().close().await.ok();
        panic!("[{scenario}] cannot open {url}: {e}");
    }
    browser
}

impl Browser {
    /// Runs a scenario's body, then, pass or fail, reads the browser log and ends the session.
    /// A body that passed still fails on a SEVERE log entry it did not expect.
    pub async fn run<F: Future<Output = ()>>(&self, body: F) {
        let started = Instant::now();
        let outcome = AssertUnwindSafe(body).catch_unwind().await;
        let unexpected = self.unexpected_errors().await;
        if std::env::var_os("CONSOLE_TEST_LOG").is_some() {
            for e in self.log.lock().unwrap().iter() {
                eprintln!("[{}] browser log {}: {}", self.scenario, e.level, e.message);
            }
        }
        eprintln!("[{}] {} in {:.1} s", self.scenario, if outcome.is_ok() { "done" } else { "FAILED" }, started.elapsed().as_secs_f64());
        if outcome.is_err() && !unexpected.is_empty() {
            eprintln!("[{}] browser console errors:\n  {}", self.scenario, unexpected.join("\n  "));
        }
        self.client.clone().close().await.ok();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
        assert!(unexpected.is_empty(), "[{}] SEVERE browser console entries:\n  {}", self.scenario, unexpected.join("\n  "));
    }

    /// A SEVERE console entry containing `substring` is expected (e.g. "401" for a refused token).
    pub fn expect_console_error(&self, substring: &str) {
        self.expected_errors.lock().unwrap().push(substring.to_owned());
    }

    /// Everything the browser logged so far (drains chromedriver's buffer into ours).
    pub async fn browser_log(&self) -> Vec<LogEntry> {
        let url = format!("{}session/{}/se/log", self.driver_url, self.session);
        let answer = self.http.post(url).json(&json!({ "type": "browser" })).send().await;
        let answer: Value = match answer {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(e) => panic!("[{}] cannot read the browser log: {e}", self.scenario),
        };
        let mut log = self.log.lock().unwrap();
        for entry in answer["value"].as_array().into_iter().flatten() {
            let level = entry["level"].as_str().unwrap_or_default().to_owned();
            let message = entry["message"].as_str().unwrap_or_default().to_owned();
            log.push(LogEntry { level, message });
        }
        log.clone()
    }

    async fn unexpected_errors(&self) -> Vec<String> {
        let expected = self.expected_errors.lock().unwrap().clone();
        let log = self.browser_log().await;
        let severe = log.into_iter().filter(|e| e.level == "SEVERE").map(|e| e.message);
        let favicon = |m: &String| m.contains("favicon.ico") && m.contains("404");
        severe.filter(|m| !favicon(m) && !expected.iter().any(|x| m.contains(x.as_str()))).collect()
    }

    /// Polls `check` until it gives `Some`, or fails naming `what`, with a screenshot.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, timeout: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, CmdError>>,
    {
        let deadline = Instant::now() + timeout;
        let mut last_error = None;
        loop {
            match check().await {
                Ok(Some(value)) => return value,
                Ok(None) => {}
                Err(e) => last_error = Some(e.to_string()),
            }
            if Instant::now() > deadline {
                self.fail(&format!("waited {timeout:?} for {what}"), last_error).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Takes a screenshot named after the failure and panics with what was awaited and where.
    pub async fn fail(&self, why: &str, detail: Option<String>) -> ! {
        let shot = self.screenshot("FAILED").await;
        let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
        let text = self.js("return document.body ? document.body.innerText.slice(0, 1500) : ''", vec![]).await;
        let detail = detail.map(|d| format!("\n  last error: {d}")).unwrap_or_default();
        let text = text.as_str().unwrap_or_default().replace('\n', "\n    ");
        panic!("[{}] {why}{detail}\n  at {url}\n  screenshot: {}\n  page text:\n    {text}", self.scenario, shot.display())
    }

    /// Runs `script` (a function body: `arguments`, `return`); fails the scenario on a script error.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        match self.client.execute(script, args).await {
            Ok(v) => v,
            Err(e) => panic!("[{}] script failed: {e}\n  script: {script}", self.scenario),
        }
    }

    /// Waits until the script returns something other than null/undefined/false, and returns it.
    pub async fn wait_js(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        self.wait_js_within(what, WAIT, script, args).await
    }

    pub async fn wait_js_within(&self, what: &str, timeout: Duration, script: &str, args: Vec<Value>) -> Value {
        self.wait_for(what, timeout, || {
            let args = args.clone();
            async move {
                let v = self.client.execute(script, args).await?;
                Ok((!v.is_null() && v != Value::Bool(false)).then_some(v))
            }
        })
        .await
    }

    /// The first element matching `css` that is displayed.
    pub async fn find(&self, css: &str) -> Element {
        self.wait_for(&format!("a visible `{css}`"), WAIT, || async move {
            for e in self.client.find_all(Locator::Css(css)).await? {
                if e.is_displayed().await.unwrap_or(false) {
                    return Ok(Some(e));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Waits until nothing matching `css` is displayed.
    pub async fn gone(&self, css: &str) {
        self.wait_for(&format!("no visible `{css}`"), WAIT, || async move {
            for e in self.client.find_all(Locator::Css(css)).await? {
                if e.is_displayed().await.unwrap_or(false) {
                    return Ok(None);
                }
            }
            Ok(Some(()))
        })
        .await
    }

    /// An element the script returns (waits until it returns one).
    pub async fn element_by_js(&self, what: &str, script: &str, args: Vec<Value>) -> Element {
        let found = self.wait_js(what, script, args).await;
        match found.get(ELEMENT_KEY).and_then(Value::as_str) {
            Some(id) => Element::from_element_id(self.client.clone(), ElementRef::from(id.to_owned())),
            None => self.fail(&format!("{what}: the script returned no element but {found}"), None).await,
        }
    }

    /// A visible, enabled control (button, link, input…) whose accessible name — `aria-label`,
    /// `title`, or its text — is `name`, optionally inside `within` (CSS).
    pub async fn control(&self, name: &str) -> Element {
        self.control_in("body", name).await
    }

    pub async fn control_in(&self, within: &str, name: &str) -> Element {
        let what = format!("a visible control named {name:?} in `{within}`");
        self.element_by_js(&what, FIND_CONTROL, vec![json!(within), json!(name)]).await
    }

    /// Clicks the control named `name` (see `control`).
    pub async fn click_named(&self, name: &str) {
        let e = self.control(name).await;
        self.click(&e, name).await;
    }

    pub async fn click(&self, e: &Element, what: &str) {
        if let Err(err) = e.click().await {
            self.fail(&format!("cannot click {what}"), Some(err.to_string())).await;
        }
    }

    /// Clicks the first visible `css`.
    pub async fn click_css(&self, css: &str) {
        let e = self.find(css).await;
        self.click(&e, css).await;
    }

    /// Types `text` (any Unicode: Japanese too) into the visible `css`, as key presses.
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.type_keys(&e, text, css).await;
    }

    pub async fn type_keys(&self, e: &Element, text: &str, what: &str) {
        if let Err(err) = e.send_keys(text).await {
            self.fail(&format!("cannot type into {what}"), Some(err.to_string())).await;
        }
    }

    /// Presses Enter in `e` (a real key event, not composing).
    pub async fn press_enter(&self, e: &Element, what: &str) {
        self.type_keys(e, ENTER, what).await;
    }

    /// Replaces the value of the visible `css` with `text`.
    pub async fn set_value(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        if let Err(err) = e.clear().await {
            self.fail(&format!("cannot clear {css}"), Some(err.to_string())).await;
        }
        self.type_keys(&e, text, css).await;
    }

    /// Waits until the visible `css` contains `text` (its rendered text) and returns that text.
    pub async fn wait_text(&self, css: &str, text: &str) -> String {
        let what = format!("`{css}` to show {text:?}");
        let found = self.wait_js(&what, HAS_TEXT, vec![json!(css), json!(text)]).await;
        found.as_str().unwrap_or_default().to_owned()
    }

    /// The page's language (`<html lang>`), for file names: `ja` or `en`.
    pub async fn lang(&self) -> String {
        let lang = self.client.execute("return document.documentElement.lang || ''", vec![]).await.unwrap_or(Value::Null);
        let lang = lang.as_str().unwrap_or_default().split('-').next().unwrap_or_default().to_owned();
        if lang.is_empty() {
            "ja".into()
        } else {
            lang
        }
    }

    /// Saves a 1280×800 PNG as `target/screenshots/<scenario>[-<name>]-<lang>.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).ok();
        let lang = self.lang().await;
        let name = if name == "FAILED" {
            let mut n = self.shots.lock().unwrap();
            *n += 1;
            format!("FAILED{n}")
        } else {
            name.to_owned()
        };
        let stem = if name.is_empty() { format!("{}-{lang}", self.scenario) } else { format!("{}-{name}-{lang}", self.scenario) };
        let path = dir.join(format!("{stem}.png"));
        match self.client.screenshot().await {
            Ok(png) => std::fs::write(&path, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display())),
            Err(e) => eprintln!("[{}] screenshot {stem} failed: {e}", self.scenario),
        }
        path
    }

    /// Runs axe-core on the page as it is and fails on `serious` or `critical` violations.
    pub async fn check_accessibility(&self, page: &str) {
        let present = self.js("return typeof window.axe === 'object'", vec![]).await;
        if present != Value::Bool(true) {
            self.js(&format!("{AXE}\n;return typeof window.axe;"), vec![]).await;
        }
        let result = match self.client.execute_async(RUN_AXE, vec![]).await {
            Ok(v) => v,
            Err(e) => panic!("[{}] axe.run failed on {page}: {e}", self.scenario),
        };
        if let Some(error) = result.get("error") {
            panic!("[{}] axe.run failed on {page}: {error}", self.scenario);
        }
        let bad: Vec<&Value> =
            result.as_array().into_iter().flatten().filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical"))).collect();
        if !bad.is_empty() {
            let mut report = String::new();
            for v in &bad {
                report.push_str(&format!("\n  {} ({}): {}\n    {}", v["id"].as_str().unwrap_or("?"), v["impact"], v["help"], v["helpUrl"]));
                for node in v["nodes"].as_array().into_iter().flatten() {
                    report.push_str(&format!("\n    - {}", node.as_str().unwrap_or_default().replace('\n', " ")));
                }
            }
            let shot = self.screenshot(&format!("axe-{page}")).await;
            panic!(
                "[{}] axe-core: {} serious/critical violation(s) on the {page} page ({}):{report}",
                self.scenario,
                bad.len(),
                shot.display()
            );
        }
    }
}

/// axe-core, vendored (tests/console/README.md).
const AXE: &str = include_str!("../../console/axe.min.js");

const RUN_AXE: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then(r => done(r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.slice(0, 8).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '')),
  }))))
  .catch(e => done({ error: String(e && e.stack || e) }));
"#;

/// arguments: [within (CSS), name]. The first visible, enabled control named `name`.
const FIND_CONTROL: &str = r#"
const [within, name] = arguments;
const norm = s => (s || '').replace(/\s+/g, ' ').trim();
const visible = e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length) && getComputedStyle(e).visibility !== 'hidden';
const named = e => {
  const label = e.getAttribute('aria-label');
  if (label !== null) return norm(label);
  const by = e.getAttribute('aria-labelledby');
  if (by) return norm(by.split(/\s+/).map(id => (document.getElementById(id) || {}).textContent).join(' '));
  if (e.labels && e.labels.length) return norm(e.labels[0].textContent);
  return norm(e.textContent) || norm(e.getAttribute('title')) || norm(e.value);
};
const sel = 'button, a[href], input, select, textarea, summary, [role=button], [role=tab], [role=link], [role=menuitem], [role=option], [role=checkbox], [role=switch]';
for (const root of document.querySelectorAll(within)) {
  for (const e of root.querySelectorAll(sel)) {
    if (visible(e) && !e.disabled && e.getAttribute('aria-disabled') !== 'true' && named(e) === norm(name)) return e;
  }
}
return null;
"#;

/// arguments: [css, text]. The text of the first visible `css` whose text contains `text`.
const HAS_TEXT: &str = r#"
const [css, text] = arguments;
for (const e of document.querySelectorAll(css)) {
  const shown = e.innerText || e.textContent || '';
  const value = ('value' in e && typeof e.value === 'string') ? e.value : '';
  if ((e.offsetWidth || e.offsetHeight || e.getClientRects().length) && (shown.includes(text) || value.includes(text))) return shown || value;
}
return null;
"#;
