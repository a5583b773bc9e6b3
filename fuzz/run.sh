#!/usr/bin/env bash
# Fuzzes every target (or the ones named) for SECONDS_PER_TARGET each, one target at a time in
# one libFuzzer process (a single worker: the machine is shared), and prints executions and
# crashes per target. Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
#
#   fuzz/run.sh [target...]          fuzz (default: all targets), then print the table
#   fuzz/run.sh --merge [target...]  the same, then minimise what was found into fuzz/corpus/<target>
#                                    (the seeds stay; found inputs are cut to MERGE_MAX_LEN, 512 bytes)
#   fuzz/run.sh --seed               write the built seeds into fuzz/corpus/ (a stable cargo test)
#   fuzz/run.sh --repro <target> <file>...   run inputs once (e.g. a crash in fuzz/artifacts/)
#
# Env: SECONDS_PER_TARGET (default 60: ~10 million executions in all on 2 shared cores, see
# README "Fuzzing"), SANITIZER (none | address; default none: the crate forbids unsafe code, and
# the targets look for panics and broken invariants, with overflow checks and debug assertions on).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(webhook_body signature settings_file archive_object operator_tokens cognito_groups conversation_id manual_reply)
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-60}
SANITIZER=${SANITIZER:-none}
TARGET_DIR=fuzz/target
BIN_DIR=$TARGET_DIR/x86_64-unknown-linux-gnu/release
FIXTURES=../shared/line/fixtures
MERGE_MAX_LEN=${MERGE_MAX_LEN:-512}

build() {
  echo "+ cargo +nightly fuzz build -s $SANITIZER (target dir $TARGET_DIR)" >&2
  cargo +nightly fuzz build --sanitizer "$SANITIZER" --target-dir "$TARGET_DIR" "$@" >&2
}

# Crashes (panics), timeouts and out-of-memory inputs libFuzzer kept (not its slow-unit notes).
findings() { find "$1" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l; }

case "${1:-}" in
  --seed)
    exec cargo test --locked --test it fuzz_corpus::write_seed_corpora -- --ignored --exact
    ;;
  --repro)
    target=$2; shift 2
    build "$target"
    exec "$BIN_DIR/$target" -runs=1 "$@"
    ;;
esac

merge=0
if [ "${1:-}" = "--merge" ]; then merge=1; shift; fi
selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${TARGETS[@]}")

build
mkdir -p "$TARGET_DIR/logs"
summary=$TARGET_DIR/summary.txt
printf '%-18s %8s %14s %10s %8s\n' target seconds executions exec/s crashes | tee "$summary"
total_runs=0 total_crashes=0
for target in "${selected[@]}"; do
  work=$TARGET_DIR/corpus/$target
  artifacts=fuzz/artifacts/$target
  mkdir -p "$work" "$artifacts"
  before=$(findings "$artifacts")
  log=$TARGET_DIR/logs/$target.log
  dict=()
  [ -f "fuzz/dicts/$target.dict" ] && dict=(-dict="fuzz/dicts/$target.dict")
  # LINE's fixtures seed the webhook target where they live (read, never written).
  extra=()
  [ "$target" = webhook_body ] && extra=("$FIXTURES")
  start=$(date +%s)
  # The committed corpus is read, never written: new inputs land in the working corpus.
  "$BIN_DIR/$target" "$work" "fuzz/corpus/$target" "${extra[@]}" \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dict[@]}" >"$log" 2>&1 || true
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # A crash ends the run before the final stats: take the last status line's count.
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  runs=${runs:-0}
  crashes=$(( $(findings "$artifacts") - before ))
  printf '%-18s %8d %14d %10d %8d\n' "$target" "$elapsed" "$runs" $(( runs / (elapsed > 0 ? elapsed : 1) )) "$crashes" | tee -a "$summary"
  total_runs=$(( total_runs + runs )) total_crashes=$(( total_crashes + crashes ))
  if [ "$merge" = 1 ]; then
    # The committed corpus: the seeds, plus the fewest found inputs (cut to MERGE_MAX_LEN bytes)
    # that reach edges the seeds and LINE's fixtures do not. Kept small for the repository.
    merged=$TARGET_DIR/merged/$target
    rm -rf "$merged" && mkdir -p "$merged"
    cp fuzz/corpus/"$target"/seed-* "$merged"/ 2>/dev/null || true
    if [ "$target" = webhook_body ]; then
      find "$FIXTURES" -name '*.json' -exec sh -c 'for f; do cp "$f" "$0/fixture-$(basename "$(dirname "$f")")-$(basename "$f")"; done' "$merged" {} +
    fi
    "$BIN_DIR/$target" -merge=1 -set_cover_merge=1 -use_counters=0 -max_len="$MERGE_MAX_LEN" \
      "$merged" "fuzz/corpus/$target" "$work" >"$TARGET_DIR/logs/$target.merge.log" 2>&1
    rm -f "$merged"/fixture-*
    rm -rf "fuzz/corpus/$target" && mv "$merged" "fuzz/corpus/$target"
  fi
done
printf '%-18s %8s %14d %10s %8d\n' total "" "$total_runs" "" "$total_crashes" | tee -a "$summary"
[ "$total_crashes" = 0 ] || { echo "crashes: see fuzz/artifacts/ and $TARGET_DIR/logs/" >&2; exit 1; }
