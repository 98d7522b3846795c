#!/usr/bin/env bash
# The whole test suite. Installs what it needs when missing, then runs every
# test: the native core, the built-in models and the `sharpen` command line.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "cargo not found: install Rust with rustup (https://rustup.rs)" >&2
    exit 1
  fi
fi

# candle's CPU thread pool spin-waits; the test harness already runs tests in
# parallel, so one candle thread per test keeps a small machine responsive.
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --release --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over every test binary.
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo "tests: $passed passed, $failed failed"
exit "$status"
