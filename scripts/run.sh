#!/usr/bin/env bash
# Sets up, builds and serves the lab: installs the wasm tools when missing,
# builds the page (dist/) and serves it on http://127.0.0.1:8080/ (the
# built-in model is the default, so it works offline). PORT=... to change the
# port. `./scripts/run.sh cli <args>` runs the `sharpen` command line instead,
# e.g. `./scripts/run.sh cli bon --prompts 20`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
need_cargo
if [ "${1:-}" = cli ]; then
  shift
  cargo build --release --locked --bin sharpen
  exec ./target/release/sharpen "$@"
fi
need_web_build_tools
build_page
port="${PORT:-8080}"
echo "== Sharpening Lab: http://127.0.0.1:$port/  (Ctrl+C to stop)"
cd dist && exec python3 -m http.server "$port" --bind 127.0.0.1
