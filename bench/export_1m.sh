#!/usr/bin/env bash
# Export benchmark: fills embedded (redb) stores with 100 000 and 1 000 000 log items over 5 000
# conversations (examples/export_bench_data.rs: mixed Japanese/English texts, stickers,
# replies), then exports everything (`line-oa export --all`) as CSV and as XLSX with the
# release build, under /usr/bin/time -v: wall time and peak RSS (maximum resident set size).
# The same peak at 100k and 1M rows is the proof that memory stays flat.
#
#   bench/export_1m.sh                  # builds, generates (kept for reruns), measures
#   SKIP_BUILD=1 bench/export_1m.sh     # reuse the release binaries
#   SIZES="100000 1000000" CONVERSATIONS=5000 BENCH_DIR=/var/tmp/line-oa-export-bench
#
# Writes bench/export_results.md. Local only: no network.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=${SIZES:-"100000 1000000"}
conversations=${CONVERSATIONS:-5000}
work=${BENCH_DIR:-/var/tmp/line-oa-export-bench}
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$work"

if [ ! -x /usr/bin/time ]; then
  echo "+ apt-get install time"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi
if [ -z "${SKIP_BUILD:-}" ]; then
  cargo build --release --locked --bin line-oa --example export_bench_data
fi

# Timezone of the export: the account's (settings); fixed here so runs compare.
export SETTINGS_TOML='[hours]
timezone = "Asia/Tokyo"'

results=bench/export_results.md
{
  echo "| items | format | rows | file size | wall time | peak RSS |"
  echo "|---:|---|---:|---:|---:|---:|"
} >"$results.tmp"

for n in $sizes; do
  data="$work/data-$n"
  if [ ! -f "$data/line-oa.redb" ]; then
    echo "+ generating $n items in $data"
    /usr/bin/time -f "generated in %e s, peak RSS %M KB" "$target/release/examples/export_bench_data" "$data" "$n" "$conversations"
  fi
  for format in csv xlsx; do
    out="$work/export-$n.$format"
    rm -f "$out"
    echo "+ line-oa export --all --format $format ($n items)"
    DATA_DIR="$data" /usr/bin/time -v "$target/release/line-oa" export --all --format "$format" --out "$out" \
      >"$work/export-$n.$format.stdout" 2>"$work/export-$n.$format.time"
    cat "$work/export-$n.$format.stdout"
    python3 - "$n" "$format" "$out" "$work/export-$n.$format.stdout" "$work/export-$n.$format.time" >>"$results.tmp" <<'PY'
import os, re, sys
n, fmt, out, stdout, timing = sys.argv[1:]
t = open(timing).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
parts = [float(p) for p in wall.split(":")]
seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
rows = re.search(r"(\d+) rows written", open(stdout).read()).group(1)
size = os.path.getsize(out) / 1e6
print(f"| {int(n):,} | {fmt.upper()} | {int(rows):,} | {size:.0f} MB | {seconds:.1f} s | {rss_kb / 1024:.0f} MB |")
PY
  done
done
mv "$results.tmp" "$results"
{
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GB RAM; $(date -u +%Y-%m-%d)."
} >>"$results"
cat "$results"
