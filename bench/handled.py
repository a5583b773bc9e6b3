#!/usr/bin/env python3
"""Counts the events our server fully handled, from its stderr, for bench/run.sh.

The server runs with RUST_LOG=warn,line_oa::local::worker=info, and the local worker writes
one line per event it handled (src/local/worker.rs: `handled event_id=… outcome=…`, once the
decision is made, the reply logged and the conversation updated; the done mark follows in the
next commit). The log is read incrementally, every 100 ms.

    handled.py drain LOG BODIES T_STOP WRK_JSON
        after the measured load: BODIES is the load's body file (only its events are counted,
        each once), T_STOP the wall clock (epoch seconds) when wrk exited, WRK_JSON its result.
        Polls until the count of handled events has not grown for 1 s (60 s at most), then
        prints JSON: handled events, the drain (from T_STOP to the last handled line's own
        timestamp, 0 if that came before), events/s over load + drain.
        The count can exceed wrk's requests by up to the connections: requests in flight when
        wrk stopped reached the server but are not in wrk's count.
"""

import datetime
import json
import re
import sys
import time

POLL_S = 0.1
QUIET_S = 1.0
ANSI = re.compile(rb"\x1b\[[0-9;]*m")
LINE = re.compile(rb"^(\S+)\s+INFO\s+line_oa::local::worker: handled event_id=(\S+)")
EVENT_ID = re.compile(rb'"webhookEventId":"([^"]+)"')


class Log:
    """The handled lines of a growing log file, read from where the last read stopped."""

    def __init__(self, path, wanted):
        self.f = open(path, "rb")
        self.rest = b""
        self.wanted = wanted
        self.lines = 0  # every handled line
        self.ids = set()  # the wanted events handled (each once)
        self.last_ts = None  # the latest timestamp of a wanted line

    def read(self):
        chunk = self.f.read()
        if not chunk:
            return
        data = self.rest + chunk
        lines = data.split(b"\n")
        self.rest = lines.pop()  # a line still being written
        for raw in lines:
            m = LINE.match(ANSI.sub(b"", raw))
            if not m:
                continue
            self.lines += 1
            if m.group(2) in self.wanted:
                self.ids.add(m.group(2))
                if self.last_ts is None or m.group(1) > self.last_ts:  # same ISO format: text order is time order
                    self.last_ts = m.group(1)

    def count(self):
        return len(self.ids)


def wait_quiet(log, limit_s):
    """Polls until the count has not grown for QUIET_S; returns when it last grew, and whether
    limit_s cut the wait short."""
    t0 = last = time.time()
    log.read()
    prev = log.count()
    while time.time() - last < QUIET_S and time.time() - t0 < limit_s:
        time.sleep(POLL_S)
        log.read()
        if log.count() != prev:
            prev, last = log.count(), time.time()
    return last, time.time() - t0 >= limit_s


def epoch(ts: bytes) -> float:
    return datetime.datetime.fromisoformat(ts.decode().replace("Z", "+00:00")).timestamp()


def main():
    if len(sys.argv) != 6 or sys.argv[1] != "drain":
        sys.exit(__doc__)
    path, bodies, t_stop, wrk_json = sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
    wanted = set()
    with open(bodies, "rb") as f:
        for line in f:
            wanted.update(EVENT_ID.findall(line))
    log = Log(path, wanted)
    _, capped = wait_quiet(log, 60)
    wrk = json.load(open(wrk_json))
    load_s = wrk["duration_s"]
    t_start = t_stop - load_s
    # The drain ends at the last handled line (its own timestamp, the server's wall clock, as
    # T_STOP is): exact, where the 100 ms polls only decide when counting may stop.
    last = epoch(log.last_ts) if log.last_ts is not None else t_start
    drain = max(0.0, last - t_stop)
    handled = log.count()
    out = {
        "handled": handled,
        "handled_lines": log.lines,
        "acknowledged": wrk["requests"] - wrk["errors_status"],
        "load_s": load_s,
        "drain_s": round(drain, 3),
        "drain_capped": capped,
        "last_line_s": round(last - t_start, 3),
        "events_per_s": handled / (load_s + drain),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
