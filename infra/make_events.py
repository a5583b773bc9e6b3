#!/usr/bin/env python3
"""Generate API Gateway HTTP API (payload format 2.0) test events for the webhook.

Reads LINE webhook request bodies from events/bodies/*.json and writes
events/<name>.json, each a complete Lambda event with a valid
x-line-signature computed with the public test secret below.

Usage (from anywhere):
    python3 infra/make_events.py           # (re)write events/*.json
    python3 infra/make_events.py --check   # exit 1 if events/ is not up to date

Output is deterministic: no clock, no randomness; re-running produces
byte-identical files. Python 3 standard library only.

Bodies must be compact JSON (no spaces, non-ASCII written as UTF-8, not \\u
escapes), exactly as LINE sends them, optionally followed by one newline, which
is not part of the body. The signature is
base64(HMAC-SHA256(key=secret, msg=<raw body bytes>)).

Besides one event per body file, two variants of bodies/text.json are made:
  bad-signature.json  same body, signature made with a different secret
  text-base64.json    same body Base64-encoded, isBase64Encoded = true
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
from pathlib import Path

# Public, for these test files only. Never use it for a real channel.
TEST_CHANNEL_SECRET = "events-test-channel-secret"
# Used to make a well-formed but wrong signature for bad-signature.json.
WRONG_SECRET = "not-the-channel-secret"

ROOT = Path(__file__).resolve().parent.parent
BODIES_DIR = ROOT / "events" / "bodies"
EVENTS_DIR = ROOT / "events"

# Fake but plausible request context values (documentation-only ranges/IDs).
ACCOUNT_ID = "123456789012"
API_ID = "a1b2c3d4e5"
REGION = "ap-northeast-1"
DOMAIN_NAME = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
SOURCE_IP = "203.0.113.24"  # TEST-NET-3 (RFC 5737)
USER_AGENT = "LineBotWebhook/2.0"
ROUTE_KEY = "POST /webhook"
PATH = "/webhook"

# How long after the (first) event timestamp the request reaches the API.
DEFAULT_DELAY_MS = 87
# Events whose request arrives later than usual (a redelivery comes minutes later).
DELAY_MS = {"redelivery": 5 * 60 * 1000 + 213}

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def read_body(path: Path) -> str:
    raw = path.read_bytes().decode("utf-8")
    if raw.endswith("\n"):
        raw = raw[:-1]
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as e:
        raise SystemExit(f"{path}: not valid JSON: {e}")
    compact = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
    if compact != raw:
        raise SystemExit(
            f"{path}: body is not compact JSON as LINE sends it; rewrite it as\n{compact}"
        )
    return raw


def request_time_ms(name: str, body: dict) -> int:
    stamps = [e["timestamp"] for e in body.get("events", []) if "timestamp" in e]
    # verify.json has no events; pin it to a fixed instant (2025-06-02T00:00:00Z).
    base = max(stamps) if stamps else 1748822400000
    return base + DELAY_MS.get(name, DEFAULT_DELAY_MS)


def clf_time(ms: int) -> str:
    """API Gateway's requestContext.time format, e.g. 02/Jun/2025:01:15:30 +0000."""
    t = time.gmtime(ms // 1000)
    return f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def stable_hex(name: str, n: int) -> str:
    return hashlib.sha256(f"line-oa-events/{name}".encode()).hexdigest()[:n]


def make_event(name: str, body: str, *, secret: str, base64_body: bool) -> dict:
    body_bytes = body.encode("utf-8")
    parsed = json.loads(body)
    ms = request_time_ms(name, parsed)
    request_id = base64.b64encode(bytes.fromhex(stable_hex(name, 22))).decode("ascii")
    trace_id = f"Root=1-{ms // 1000:08x}-{stable_hex(name + '/trace', 24)}"
    return {
        "version": "2.0",
        "routeKey": ROUTE_KEY,
        "rawPath": PATH,
        "rawQueryString": "",
        "headers": {
            "content-length": str(len(body_bytes)),
            "content-type": "application/json",
            "host": DOMAIN_NAME,
            "user-agent": USER_AGENT,
            "x-amzn-trace-id": trace_id,
            "x-forwarded-for": SOURCE_IP,
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            "x-line-signature": sign(secret, body_bytes),
        },
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": DOMAIN_NAME,
            "domainPrefix": API_ID,
            "http": {
                "method": "POST",
                "path": PATH,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": USER_AGENT,
            },
            "requestId": request_id,
            "routeKey": ROUTE_KEY,
            "stage": "$default",
            "time": clf_time(ms),
            "timeEpoch": ms,
        },
        "body": base64.b64encode(body_bytes).decode("ascii") if base64_body else body,
        "isBase64Encoded": base64_body,
    }


def check_bodies(bodies: dict[str, str]) -> None:
    """Invariants the hand-written bodies must keep."""
    for required in ("text", "redelivery"):
        if required not in bodies:
            raise SystemExit(f"events/bodies/{required}.json is missing")
    text = json.loads(bodies["text"])
    redo = json.loads(bodies["redelivery"])
    t_ev, r_ev = text["events"][0], redo["events"][0]
    if t_ev["deliveryContext"]["isRedelivery"] is not False:
        raise SystemExit("bodies/text.json: isRedelivery must be false")
    if r_ev["deliveryContext"]["isRedelivery"] is not True:
        raise SystemExit("bodies/redelivery.json: isRedelivery must be true")
    # A redelivery is the same event: everything but isRedelivery is identical.
    r_copy = json.loads(json.dumps(redo))
    r_copy["events"][0]["deliveryContext"]["isRedelivery"] = False
    if r_copy != text:
        raise SystemExit("bodies/redelivery.json must equal bodies/text.json except isRedelivery")


def render_all() -> dict[str, str]:
    body_files = sorted(BODIES_DIR.glob("*.json"))
    if not body_files:
        raise SystemExit(f"no bodies in {BODIES_DIR}")
    bodies = {p.stem: read_body(p) for p in body_files}
    check_bodies(bodies)

    events: dict[str, dict] = {}
    for name, body in bodies.items():
        events[name] = make_event(name, body, secret=TEST_CHANNEL_SECRET, base64_body=False)
    events["bad-signature"] = make_event(
        "bad-signature", bodies["text"], secret=WRONG_SECRET, base64_body=False
    )
    events["text-base64"] = make_event(
        "text-base64", bodies["text"], secret=TEST_CHANNEL_SECRET, base64_body=True
    )
    return {
        f"{name}.json": json.dumps(ev, ensure_ascii=False, indent=2) + "\n"
        for name, ev in sorted(events.items())
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="verify events/*.json are up to date; exit 1 if not")
    args = ap.parse_args()

    rendered = render_all()
    if args.check:
        stale = []
        for fname, text in rendered.items():
            path = EVENTS_DIR / fname
            if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
                stale.append(fname)
        if stale:
            print(f"events out of date: {', '.join(stale)}; run python3 infra/make_events.py", file=sys.stderr)
            return 1
        print(f"events up to date ({len(rendered)} files)")
        return 0

    for fname, text in rendered.items():
        path = EVENTS_DIR / fname
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            path.write_bytes(text.encode("utf-8"))
            print(f"wrote events/{fname}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
