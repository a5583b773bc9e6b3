#!/usr/bin/env python3
"""The console in headless Chromium against a running line-oa (bench/console/run.sh starts it).

Measures, and prints as one JSON object:
- time to the first list page: navigation start (performance.timeOrigin) to the first frame
  in which a row `#conversation-list [data-conversation]` is on screen; cold (a fresh
  profile each run: empty HTTP cache) and warm (the same profile, reloaded);
- time to an opened conversation: the click on the long conversation's row to the first frame
  in which its newest message (`#messages li.msg[data-id=…]`) is on screen in the log;
- bytes of the first load (cold): Chrome's own count of bytes received per request
  (`Network.loadingFinished.encodedDataLength` from the performance log: headers + body as on
  the wire), and the Resource Timing sum (navigation + resources `transferSize`; Chrome adds a
  fixed 300 B per response for the headers there);
- bytes per idle poll and per minute: the page left open on the conversation, nothing
  changing, for `--idle` seconds; every request in that window, by route.

Only 127.0.0.1 is reachable: every other host name resolves to nothing. Selenium never fetches
a browser or driver: Debian's chromium and chromedriver are named explicitly.
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import urllib.parse

os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download anything

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if os.path.exists(p)), "/usr/bin/chromium")
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,800",
    "--no-default-browser-check", "--disable-extensions", "--force-device-scale-factor=1", "--mute-audio",
    "--lang=ja-JP",
    # The bench stays on this machine: any other host is unresolvable.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
ROW = "#conversation-list [data-conversation]"

# Injected before any page script (DevTools scripts are not subject to the page's CSP): stamps
# the first animation frame in which a list row is on screen.
WATCH_FIRST_ROW = r"""
(() => {
  const ROW = %s;
  window.__bench = { firstRow: null };
  const onScreen = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth
      && (!el.checkVisibility || el.checkVisibility());
  };
  const frame = () => {
    const el = document.querySelector(ROW);
    if (el && onScreen(el)) { window.__bench.firstRow = performance.now(); return; }
    if (performance.now() < 60000) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();
""" % json.dumps(ROW)

# Clicks the row of conversation arguments[0] and waits for the first frame in which message
# arguments[1] is on screen inside #messages. Returns {ms} or {error}.
OPEN_CONVERSATION = r"""
const [id, newest, done] = arguments;
const row = [...document.querySelectorAll('#conversation-list [data-conversation]')].find((el) => el.dataset.conversation === id);
if (!row) { done({ error: 'no row for ' + id + ' on the first page' }); return; }
const link = row.matches('a, button') ? row : (row.querySelector('a, button') || row);
const inLog = (el) => {
  const log = document.getElementById('messages');
  if (!log) return false;
  const r = el.getBoundingClientRect(), l = log.getBoundingClientRect();
  return r.height > 0 && r.bottom > l.top && r.top < l.bottom && r.bottom > 0 && r.top < innerHeight
    && (!el.checkVisibility || el.checkVisibility());
};
const t0 = performance.now();
const frame = () => {
  const el = [...document.querySelectorAll('#messages li.msg')].find((li) => li.dataset.id === newest);
  if (el && inLog(el)) { done({ ms: performance.now() - t0 }); return; }
  if (performance.now() - t0 > 30000) { done({ error: 'newest message not on screen after 30 s' }); return; }
  requestAnimationFrame(frame);
};
link.click();
requestAnimationFrame(frame);
"""


class Browser:
    def __init__(self, work, name):
        self.profile = tempfile.mkdtemp(dir=work, prefix=f"profile-{name}-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={self.profile}")
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        opts.add_experimental_option("perfLoggingPrefs", {"enableNetwork": True, "enablePage": False})
        service = Service(executable_path=CHROMEDRIVER, service_args=["--allowed-ips=127.0.0.1"],
                          log_output=os.path.join(work, "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=opts)
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(60)
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_FIRST_ROW})

    def drain(self):
        """Network events logged since the last drain."""
        out = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"].startswith("Network."):
                out.append(message)
        return out

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def requests_of(events):
    """Per request id: url, method, status, bytes received (encodedDataLength), bytes sent (≈)."""
    reqs = {}
    for e in events:
        p, m = e["params"], e["method"]
        r = reqs.setdefault(p.get("requestId"), {"received": 0, "sent": 0, "status": None, "url": None, "finished": False})
        if m == "Network.requestWillBeSent":
            r["url"], r["method"], r["type"] = p["request"]["url"], p["request"]["method"], p.get("type")
        elif m == "Network.requestWillBeSentExtraInfo":
            # Request line + headers as sent (HTTP/1.1 to 127.0.0.1), no body on a GET.
            r["sent"] = sum(len(k) + len(str(v)) + 4 for k, v in p.get("headers", {}).items()) + 2
        elif m == "Network.responseReceived":
            r["status"], r["type"] = p["response"]["status"], p.get("type", r.get("type"))
        elif m == "Network.loadingFinished":
            r["received"], r["finished"] = int(p["encodedDataLength"]), True
        elif m == "Network.loadingFailed":
            r["failed"] = p.get("errorText")
    out = []
    for r in reqs.values():
        if not r["url"] or not r["url"].startswith("http"):
            continue
        u = urllib.parse.urlsplit(r["url"])
        r["path"] = u.path
        r["query"] = u.query
        if r["sent"]:
            r["sent"] += len(f"{r.get('method', 'GET')} {u.path}{'?' + u.query if u.query else ''} HTTP/1.1\r\n")
        out.append(r)
    return out


def route_of(path, query):
    if path == "/api/inbox":
        return "GET /api/inbox"
    if path.startswith("/api/conversations/") and path.endswith("/messages"):
        return "GET …/messages?after= (tail)" if "after=" in query else "GET …/messages (page)"
    if path == "/api/me":
        return "GET /api/me"
    if path == "/api/conversations":
        return "GET /api/conversations (list page)"
    if path.startswith("/api/"):
        return "other /api"
    return "console files"


def wait_quiet(b, first, quiet_s=1.0, limit_s=15.0):
    """Collects network events until none arrives for quiet_s (all requests finished)."""
    events = list(first)
    start = last = time.monotonic()
    while time.monotonic() - start < limit_s:
        time.sleep(0.2)
        new = b.drain()
        if new:
            events += new
            last = time.monotonic()
        open_ = [r for r in requests_of(events) if not r["finished"] and not r.get("failed")]
        if not open_ and time.monotonic() - last >= quiet_s:
            break
    return events


def load_list(b, base):
    """Navigates to the console (signed in) and returns (ms to the first row on screen, network events)."""
    b.drain()
    b.driver.get(base + "/console/")
    WebDriverWait(b.driver, 60, poll_frequency=0.05).until(
        lambda d: d.execute_script("return window.__bench && window.__bench.firstRow"))
    ms = b.driver.execute_script("return window.__bench.firstRow")
    events = wait_quiet(b, b.drain())
    rt = b.driver.execute_script("""
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource');
      return { navigation: nav ? nav.transferSize : 0, resources: res.reduce((s, e) => s + e.transferSize, 0), count: res.length };
    """)
    return ms, events, rt


def open_conversation(b, big, newest):
    result = b.driver.execute_async_script(OPEN_CONVERSATION, big, newest)
    if "error" in result:
        raise SystemExit(f"opening {big}: {result['error']}")
    return result["ms"]


def sign_in(b, base, token):
    """Signs in through the page; returns what the session keeps (to start later profiles signed in)."""
    b.driver.get(base + "/console/")
    WebDriverWait(b.driver, 30).until(lambda d: d.find_elements(By.ID, "signin-token"))
    b.driver.find_element(By.ID, "signin-token").send_keys(token)
    b.driver.find_element(By.ID, "signin-submit").click()
    WebDriverWait(b.driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ROW))
    return b.driver.execute_script("return Object.fromEntries(Object.entries(sessionStorage))")


def preseed(b, base, session):
    """A fresh profile, signed in without loading the console: the session storage set on a
    same-origin page that is no console file (config.json, not cached)."""
    b.driver.get(base + "/console/config.json")
    b.driver.execute_script("for (const [k, v] of Object.entries(arguments[0])) sessionStorage.setItem(k, v);", session)


def summarize_load(events):
    reqs = requests_of(events)
    by = {}
    for r in reqs:
        k = route_of(r["path"], r["query"])
        d = by.setdefault(k, {"requests": 0, "received": 0, "not_modified": 0})
        d["requests"] += 1
        d["received"] += r["received"]
        d["not_modified"] += int(r["status"] == 304)
    return {"requests": len(reqs), "received": sum(r["received"] for r in reqs),
            "sent": sum(r["sent"] for r in reqs), "not_modified": sum(int(r["status"] == 304) for r in reqs),
            "by_route": by}


def stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--big", required=True, help="id of the long conversation")
    ap.add_argument("--newest", required=True, help="id of its newest message")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--idle", type=float, default=60.0)
    ap.add_argument("--settle", type=float, default=12.0)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    assert a.base.startswith("http://127.0.0.1:"), "the bench talks to 127.0.0.1 only"

    out = {"chromium": None, "runs": a.runs}
    # Sign in once through the page (checks the sign-in form works), keep the session.
    b = Browser(a.work, "signin")
    try:
        out["chromium"] = b.driver.capabilities.get("browserVersion")
        session = sign_in(b, a.base, a.token)
    finally:
        b.quit()

    cold_list, cold_open, cold_loads, cold_rt = [], [], [], []
    for i in range(a.runs):
        b = Browser(a.work, f"cold{i}")
        try:
            preseed(b, a.base, session)
            ms, events, rt = load_list(b, a.base)
            cold_list.append(ms)
            cold_loads.append(summarize_load(events))
            cold_rt.append(rt)
            cold_open.append(open_conversation(b, a.big, a.newest))
        finally:
            b.quit()

    warm_list, warm_open, warm_loads = [], [], []
    b = Browser(a.work, "warm")
    try:
        preseed(b, a.base, session)
        load_list(b, a.base)                      # untimed: fills the cache
        open_conversation(b, a.big, a.newest)
        for i in range(a.runs):
            ms, events, _ = load_list(b, a.base)
            warm_list.append(ms)
            warm_loads.append(summarize_load(events))
            warm_open.append(open_conversation(b, a.big, a.newest))
        out["visibility"] = b.driver.execute_script("return document.visibilityState")

        # Idle: the conversation stays open, nothing changes. Let the open's own requests and
        # the first polls pass, then count every request for `idle` seconds.
        time.sleep(a.settle)
        b.drain()
        t0 = time.monotonic()
        time.sleep(a.idle)
        events = b.drain()
        window = time.monotonic() - t0
        # A request still in flight at the end is dropped (its bytes are not all in yet).
        reqs = [r for r in requests_of(events) if r["finished"]]
        routes = {}
        for r in reqs:
            d = routes.setdefault(route_of(r["path"], r["query"]), {"requests": 0, "received": [], "sent": [], "status": set()})
            d["requests"] += 1
            d["received"].append(r["received"])
            d["sent"].append(r["sent"])
            d["status"].add(r["status"])
        out["idle"] = {
            "seconds": window,
            "requests": len(reqs),
            "received": sum(r["received"] for r in reqs),
            "sent": sum(r["sent"] for r in reqs),
            "routes": {k: {"requests": d["requests"], "received_median": statistics.median(d["received"]),
                           "received_total": sum(d["received"]), "sent_median": statistics.median(d["sent"]),
                           "status": sorted(s for s in d["status"] if s is not None)} for k, d in routes.items()},
        }
    finally:
        b.quit()

    out["cold_list_ms"] = stats(cold_list)
    out["cold_open_ms"] = stats(cold_open)
    out["warm_list_ms"] = stats(warm_list)
    out["warm_open_ms"] = stats(warm_open)
    out["cold_load"] = cold_loads[len(cold_loads) // 2]
    out["cold_load_received"] = stats([x["received"] for x in cold_loads])
    out["cold_load_resource_timing"] = stats([x["navigation"] + x["resources"] for x in cold_rt])
    out["warm_load"] = warm_loads[len(warm_loads) // 2]
    out["warm_load_received"] = stats([x["received"] for x in warm_loads])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
