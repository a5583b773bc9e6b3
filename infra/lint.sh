#!/usr/bin/env bash
# Lint the SAM template with cfn-lint (v1+), check the generated test events and the code's format.
# Expected result: no output from cfn-lint, exit status 0.
# Usage: infra/lint.sh   (from any directory)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

cfn_lint_ok() {
  command -v cfn-lint >/dev/null 2>&1 || return 1
  local version
  version="$(cfn-lint --version 2>/dev/null | awk '{print $2}')" || return 1
  [[ "${version%%.*}" =~ ^[0-9]+$ ]] && (( ${version%%.*} >= 1 ))
}

if ! cfn_lint_ok; then
  echo "cfn-lint >= 1 not found; installing it with pip" >&2
  python3 -m pip install --quiet 'cfn-lint>=1'
  # A --user install lands in the user base's bin directory.
  # (python3 -m site --user-base exits non-zero inside a venv, hence -c.)
  PATH="$(python3 -c 'import site; print(site.getuserbase())')/bin:${PATH}"
  hash -r
  cfn_lint_ok || { echo "cfn-lint still not on PATH after pip install" >&2; exit 1; }
fi

echo "+ cfn-lint template.yaml ($(cfn-lint --version))"
cfn-lint template.yaml

echo "+ python3 infra/make_events.py --check"
python3 infra/make_events.py --check

# One code style everywhere (rustfmt.toml): a change that is not formatted fails here.
# rustfmt comes with rustup's default profile; it cannot be fetched here if a minimal
# toolchain lacks it, so then the check is skipped, loudly.
if cargo fmt --version >/dev/null 2>&1; then
  echo "+ cargo fmt --check"
  cargo fmt --check
else
  echo "WARNING: rustfmt is not installed (rustup component add rustfmt); format not checked" >&2
fi
