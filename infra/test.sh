#!/usr/bin/env bash
# Runs every test on a fresh machine: installs and starts what the tests need (moto's
# DynamoDB/S3-protocol server on 127.0.0.1, cfn-lint, LibreOffice), lints the SAM template,
# runs cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pip=()
command -v moto_server >/dev/null 2>&1 || need_pip+=('moto[server]>=5,<6')
command -v cfn-lint >/dev/null 2>&1 || need_pip+=('cfn-lint>=1')
if [ ${#need_pip[@]} -gt 0 ]; then
  echo "+ pip install ${need_pip[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${need_pip[@]}"
fi

# LibreOffice opens our XLSX exports in a test, as a spreadsheet user would.
if ! command -v soffice >/dev/null 2>&1; then
  echo "+ apt-get install libreoffice-calc-nogui"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq libreoffice-calc-nogui >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq libreoffice-calc-nogui >/dev/null; }
fi

# The console's browser tests (tests/it/console) drive Debian's Chromium through its chromedriver;
# the CJK fonts make Japanese render (and screenshot) as text, not boxes. Nothing downloads a
# browser or a driver at run time.
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || need_apt+=(fonts-noto-cjk)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "+ apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${need_apt[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null; }
fi

mkdir -p target
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 infra/moto_server.py "$port" >target/moto.log 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then break; fi
  kill -0 "$moto_pid" 2>/dev/null || { cat target/moto.log; echo "moto_server did not start" >&2; exit 1; }
  sleep 0.2
done
echo "+ moto_server on 127.0.0.1:$port"

export MOTO_ENDPOINT="http://127.0.0.1:$port"
# The AWS SDK must never probe the EC2 metadata address, nor find real credentials.
export AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=ap-northeast-1

infra/lint.sh
# --all-targets also builds the benches, so they cannot rot; the summary sums every binary's counts.
cargo test --locked --all-targets "$@" 2>&1 | tee target/test.log
python3 - <<'PY'
import re
passed = failed = 0
for line in open("target/test.log", encoding="utf-8", errors="replace"):
    m = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", line)
    if m:
        passed += int(m.group(1)); failed += int(m.group(2))
print(f"tests: {passed} passed, {failed} failed")
PY
