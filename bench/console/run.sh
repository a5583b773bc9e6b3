#!/usr/bin/env bash
# Console load benchmark (see bench/README.md, "Console load"): the operator console against a
# store of 10,000 conversations and one conversation of 5,000 messages.
#   1. headless Chromium: time to the first list page and to the opened long conversation,
#      cold and warm, median of RUNS;
#   2. bytes on the first load and per idle poll (page left open IDLE seconds);
#   3. DynamoDB requests and read units per idle poll (DynamoStore over moto, counted in-process).
# Prints a markdown table and writes bench/console/results.md. Everything on 127.0.0.1, in a
# scratch dir under BENCH_TMP (a real disk: the embedded store fsyncs), removed at exit with
# every process started here.
#
#   bench/console/run.sh                    # builds (release), then ~5 min
#   SKIP_BUILD=1 bench/console/run.sh       # reuse the binaries already built
#   PROFILE=profiling bench/console/run.sh  # quicker builds for iterations (no LTO)
#   SKIP_DYNAMO=1 / SKIP_BROWSER=1          # one half only
#
# Knobs: CONVERSATIONS (10000), MESSAGES (5000), RUNS (5), IDLE (60 s), SETTLE (12 s), QUIET (5 s),
# DYNAMO_CONVERSATIONS (= CONVERSATIONS), BENCH_TMP (/var/tmp), CARGO_TARGET_DIR honoured.
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH/../.." && pwd)
PROFILE=${PROFILE:-release}
CONVERSATIONS=${CONVERSATIONS:-10000}
MESSAGES=${MESSAGES:-5000}
DYNAMO_CONVERSATIONS=${DYNAMO_CONVERSATIONS:-$CONVERSATIONS}
RUNS=${RUNS:-5}
IDLE=${IDLE:-60}
SETTLE=${SETTLE:-12}
QUIET=${QUIET:-5}
BENCH_TMP=${BENCH_TMP:-/var/tmp}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SECRET=bench-secret

log() { printf '\033[1m[console-bench]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

WORK=$(mktemp -d "$BENCH_TMP/line-oa-console-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || echo ?)" != tmpfs ] || die "BENCH_TMP=$BENCH_TMP is tmpfs; the store fsyncs, use a real disk"
command -v curl >/dev/null || die "curl is missing"
if [ -z "${SKIP_BROWSER:-}" ]; then
    [ -x /usr/bin/chromedriver ] && { [ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ]; } ||
        die "Debian's chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
    if ! python3 -c 'import selenium' 2>/dev/null; then
        log "installing selenium (pip)"
        python3 -m pip install --quiet selenium
    fi
fi
if [ -z "${SKIP_DYNAMO:-}" ]; then
    python3 -c 'import moto' 2>/dev/null || die "moto is missing (python3 -m pip install 'moto[server]'), or set SKIP_DYNAMO=1"
fi

cd "$ROOT"
case $PROFILE in release) OUT=release ;; dev) OUT=debug ;; *) OUT=$PROFILE ;; esac
if [ -z "${SKIP_BUILD:-}" ]; then
    # The example first (dev-dependency features unified in), then the plain server binary.
    log "cargo build --profile $PROFILE --example console_bench_data (target dir $TARGET_DIR)"
    cargo build --profile "$PROFILE" --example console_bench_data
    log "cargo build --profile $PROFILE --bin line-oa"
    cargo build --profile "$PROFILE" --bin line-oa
fi
SERVER_BIN=$TARGET_DIR/$OUT/line-oa
SEED_BIN=$TARGET_DIR/$OUT/examples/console_bench_data
[ -x "$SERVER_BIN" ] || die "$SERVER_BIN is missing"
[ -x "$SEED_BIN" ] || die "$SEED_BIN is missing"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$WORK/cwd"

# ---------------------------------------------------------------- 1 + 2. the browser
if [ -z "${SKIP_BROWSER:-}" ]; then
    log "seeding the embedded store: $CONVERSATIONS conversations + one of $MESSAGES messages"
    (cd "$WORK/cwd" && timeout 900 "$SEED_BIN" --data-dir "$WORK/data" --conversations "$CONVERSATIONS" --messages "$MESSAGES") \
        >"$WORK/seed.json" 2>"$WORK/seed.log" || { cat "$WORK/seed.log" >&2; die "seeding failed"; }
    tail -1 "$WORK/seed.log" >&2
    BIG=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seed"]["big_conversation"])' "$WORK/seed.json")
    NEWEST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seed"]["newest_id"])' "$WORK/seed.json")

    TOKEN_OUT=$("$SERVER_BIN" operator-token bench admin)
    TOKEN=$(printf '%s\n' "$TOKEN_OUT" | sed -n '2p' | tr -d ' ')
    TOKENS=$(printf '%s\n' "$TOKEN_OUT" | sed -n '4p' | tr -d ' ')
    case $TOKEN in loa_*) ;; *) die "unexpected operator-token output: $TOKEN_OUT" ;; esac

    PORT=$(free_port)
    # No LINE_CHANNEL_ACCESS_TOKEN: nothing is sent to LINE. Default settings (empty cwd).
    env -C "$WORK/cwd" -u LINE_CHANNEL_ACCESS_TOKEN -u LINE_CHANNEL_SECRET_NEXT -u SETTINGS_FILE -u SETTINGS_TOML \
        LINE_CHANNEL_SECRET=$SECRET OPERATOR_TOKENS="$TOKENS" PORT="$PORT" DATA_DIR="$WORK/data" RUST_LOG=warn \
        "$SERVER_BIN" 2>"$WORK/server.log" &
    SERVER_PID=$!; PIDS+=("$SERVER_PID")
    for i in $(seq 500); do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "the server exited"; }
        curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break
        [ "$i" -lt 500 ] || die "the server is not healthy after 10 s"
        sleep 0.02
    done
    # The server archives the seeded log on its first pass (and runs its start-up backfill
    # check): wait until it writes nothing for QUIET seconds, so the measured loads and the idle
    # minute see a server at rest.
    log "waiting for the server to archive the seeded log (quiet for ${QUIET}s)"
    python3 - "$SERVER_PID" "$QUIET" <<'PY' >"$WORK/archive_s" || die "the server did not settle"
import sys, time
pid, quiet = sys.argv[1], float(sys.argv[2])
def writes():
    return int(dict(l.split(": ") for l in open(f"/proc/{pid}/io").read().split("\n") if l)["syscw"])
t0 = last = time.monotonic(); prev = writes()
while time.monotonic() - last < quiet:
    if time.monotonic() - t0 > 900:
        sys.exit("still writing after 900 s")
    time.sleep(0.2)
    cur = writes()
    if cur != prev:
        prev, last = cur, time.monotonic()
print(f"{last - t0:.1f}")
PY
    log "  archived in $(cat "$WORK/archive_s") s"
    # The seeded newest message is what the API shows last (nothing else got in).
    API_NEWEST=$(curl -fsS -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$PORT/api/conversations/$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$BIG")/messages?order=newest&limit=1" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
    [ "$API_NEWEST" = "$NEWEST" ] || die "newest message: the API says $API_NEWEST, the seed $NEWEST"
    curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/inbox" >"$WORK/inbox.json"

    cut -d' ' -f1-3 /proc/loadavg >"$WORK/loadavg"
    log "browser: $RUNS cold + $RUNS warm loads and opens, then ${IDLE}s idle (headless Chromium; load average $(cat "$WORK/loadavg"))"
    timeout $((RUNS * 120 + IDLE + SETTLE + 300)) python3 "$BENCH/browser.py" --base "http://127.0.0.1:$PORT" --token "$TOKEN" \
        --big "$BIG" --newest "$NEWEST" --runs "$RUNS" --idle "$IDLE" --settle "$SETTLE" --work "$WORK" \
        >"$WORK/browser.json" 2>"$WORK/browser.log" || { tail -30 "$WORK/browser.log" >&2; die "the browser part failed"; }
    # Nothing may have changed while it idled (a background write would skew the idle figures).
    curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/inbox" | cmp -s - "$WORK/inbox.json" ||
        log "warning: /api/inbox changed during the run"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
fi

# ---------------------------------------------------------------- 3. DynamoDB
if [ -z "${SKIP_DYNAMO:-}" ]; then
    MOTO_PORT=$(free_port)
    python3 "$ROOT/infra/moto_server.py" "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
    MOTO_PID=$!; PIDS+=("$MOTO_PID")
    for i in $(seq 300); do
        kill -0 "$MOTO_PID" 2>/dev/null || { cat "$WORK/moto.log" >&2; die "moto exited"; }
        curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/" 2>/dev/null && break
        [ "$i" -lt 300 ] || die "moto is not up after 30 s"
        sleep 0.1
    done
    log "DynamoDB (moto on 127.0.0.1:$MOTO_PORT): seeding $DYNAMO_CONVERSATIONS conversations + one of $MESSAGES messages, then counting"
    # States of all conversations, the log of the long one only (`--logs long`): no measured
    # read touches the other partitions, and moto is slow to fill.
    (cd "$WORK/cwd" && timeout 3600 "$SEED_BIN" --dynamo-endpoint "http://127.0.0.1:$MOTO_PORT" --table console-bench --create-table \
        --conversations "$DYNAMO_CONVERSATIONS" --messages "$MESSAGES" --logs long --measure) \
        >"$WORK/dynamo.json" 2>"$WORK/dynamo.log" || { tail -30 "$WORK/dynamo.log" >&2; die "the DynamoDB part failed"; }
    tail -1 "$WORK/dynamo.log" >&2
fi

log "writing bench/console/results.md"
python3 "$BENCH/report.py" "$WORK" "$PROFILE" >"$BENCH/results.md"
cat "$BENCH/results.md"
