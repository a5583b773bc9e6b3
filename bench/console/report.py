#!/usr/bin/env python3
"""Writes bench/console/results.md from what run.sh collected in its scratch dir:
seed.json (embedded store), browser.json (browser.py), dynamo.json (console_bench_data --measure)."""

import json
import os
import platform
import subprocess
import sys
import time

work, profile = sys.argv[1], sys.argv[2]


def load(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None


def sh(*cmd):
    try:
        return (subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines() or ["?"])[0]
    except OSError:
        return "?"


def kb(n):
    return f"{n / 1024:,.1f} KiB" if n >= 1024 else f"{n:,.0f} B"


def ms(s):
    return f"{s['median']:,.0f} ms ({s['min']:,.0f} – {s['max']:,.0f})"


seed, browser, dynamo = load("seed.json"), load("browser.json"), load("dynamo.json")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("# Console load: results\n")
print(f"{time.strftime('%Y-%m-%d %H:%M %Z')} · {os.cpu_count()} × {cpu} · {platform.system()} {platform.release()} · "
      f"{sh('rustc', '--version')} · cargo profile `{profile}`"
      + (f" · Chromium {browser['chromium']}" if browser else "") + "\n")

if seed:
    s = seed["seed"]
    print(f"Store: {s['conversations']:,} conversations ({s['unread']:,} unread, {s['needs_attention']:,} need attention), "
          f"{s['log_items']:,} log items, one conversation of {s['big_messages']:,} messages; "
          f"seeded through the Store port in {s['seed_seconds']:.1f} s (embedded store).\n")

if browser:
    b = browser
    idle = b["idle"]
    minute = idle["received"] * 60 / idle["seconds"]
    sent_minute = idle["sent"] * 60 / idle["seconds"]
    load_ = b["cold_load"]
    loadavg = open(os.path.join(work, "loadavg")).read().strip() if os.path.exists(os.path.join(work, "loadavg")) else "?"
    print(f"## Browser (headless Chromium, median of {b['runs']} runs, min – max; load average before: {loadavg})\n")
    print("| measurement | cold (fresh profile) | warm (same profile, reload) |")
    print("| --- | --- | --- |")
    print(f"| time to the first list page (navigation start → first row on screen) | {ms(b['cold_list_ms'])} | {ms(b['warm_list_ms'])} |")
    print(f"| time to the opened {seed['seed']['big_messages'] if seed else ''}-message conversation (click → newest message on screen) | {ms(b['cold_open_ms'])} | {ms(b['warm_open_ms'])} |")
    print(f"| bytes received, first load (Chrome's encodedDataLength, headers + body) | {kb(b['cold_load_received']['median'])} in {load_['requests']} requests | "
          f"{kb(b['warm_load_received']['median'])} in {b['warm_load']['requests']} requests ({b['warm_load']['not_modified']} × 304) |")
    print(f"| same, Resource Timing (navigation + resources transferSize) | {kb(b['cold_load_resource_timing']['median'])} | |")
    print()
    print("First load (cold), by kind:\n")
    print("| what | requests | bytes received |")
    print("| --- | --- | --- |")
    for k, d in sorted(load_["by_route"].items(), key=lambda kv: -kv[1]["received"]):
        print(f"| {k} | {d['requests']} | {kb(d['received'])} |")
    print()
    print(f"## Idle (conversation open, nothing changing, {idle['seconds']:.0f} s, page {b.get('visibility', '?')})\n")
    print("| request | count | bytes received each (median) | bytes sent each (≈, headers) |")
    print("| --- | --- | --- | --- |")
    for k, d in sorted(idle["routes"].items()):
        print(f"| {k} | {d['requests']} | {kb(d['received_median'])} | {kb(d['sent_median'])} |")
    print(f"| **per minute** | {idle['requests'] * 60 / idle['seconds']:.1f} | **{kb(minute)}** received | {kb(sent_minute)} sent |")
    print()
    # What a console re-reading the list's first page every 10 s (instead of /api/inbox) would take.
    page = load_["by_route"].get("GET /api/conversations (list page)")
    inbox = idle["routes"].get("GET /api/inbox")
    if page and inbox:
        per_page = page["received"] / page["requests"]
        extra = 6 * (per_page - inbox["received_median"]) * idle["seconds"] / 60
        naive_minute = (idle["received"] + extra) * 60 / idle["seconds"]
        print(f"A naive poll, the list's first page again every 10 s instead of `/api/inbox`: {kb(per_page)} received per poll "
              f"(against {kb(inbox['received_median'])}), {kb(naive_minute)} received per minute (against {kb(minute)}).\n")

if dynamo:
    m = dynamo["measure"]
    st, http, minute = m["store"], m["http"], m["idle_minute"]
    print("## DynamoDB reads per idle poll (DynamoStore over moto, counted by an SDK interceptor)\n")
    if dynamo.get("seed"):
        d = dynamo["seed"]
        print(f"Table: {d['conversations']:,} conversations, {d['log_items']:,} log items (seeded in {d['seed_seconds']:.0f} s).\n")

    def calls(x):
        return ", ".join(f"{c['op']}{'(' + c['index'] + ')' if c['index'] else ''}{' consistent' if c['consistent'] else ''}: {c['items']} item{'s' if c['items'] != 1 else ''}" for c in x["calls"])

    print("| what | requests | items read | item bytes | read units | response bytes | the requests |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = [
        ("`Store::inbox()`", st["inbox"]),
        ("`Store::log` after the newest sort key, limit 100 (tail)", st["tail"]),
        ("**idle poll at the Store port** (inbox + tail)", None),
        ("naive: `conversations_by_activity`, limit 50", st["naive_first_page"]),
        ("`GET /api/inbox` (operator API in-process)", http["inbox"]),
        ("`GET …/messages?after=<newest>&limit=50` (the console's tail poll)", http["tail"]),
        ("`GET /api/me` (every 6th inbox poll)", http["me"]),
        ("naive: `GET /api/conversations?limit=50`", http["first_page"]),
        ("for reference: open, `Store::log_newest` limit 50", st["open_newest_50"]),
    ]
    for name, x in rows:
        if x is None:
            a, b2 = st["inbox"], st["tail"]
            print(f"| {name} | **{a['requests'] + b2['requests']}** | {a['items'] + b2['items']} | {kb(a['item_bytes'] + b2['item_bytes'])} | "
                  f"**{a['read_units'] + b2['read_units']:g}** | {kb(a['response_bytes'] + b2['response_bytes'])} | |")
            continue
        print(f"| {name} | {x['requests']} | {x['items']} | {kb(x['item_bytes'])} | {x['read_units']:g} | {kb(x['response_bytes'])} | {calls(x)} |")
    print()
    print(f"One idle minute through the API (6 inbox polls, 12 tail polls, 1 /api/me): **{minute['requests']:g} requests, "
          f"{minute['read_units']:g} read units**, {kb(minute['response_bytes'])} from DynamoDB; polling the list's first page "
          f"instead of /api/inbox: {minute['naive_requests']:g} requests, {minute['naive_read_units']:g} read units, "
          f"{kb(minute['naive_response_bytes'])}.\n")
    print("Read units as DynamoDB bills them (eventually consistent 0.5 per 4 KB, strongly consistent 1 per 4 KB, "
          "a Query's items summed then rounded up, at least one unit), from the items' sizes; moto's own "
          "ConsumedCapacity is a constant per operation.")
