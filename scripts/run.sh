#!/usr/bin/env bash
# Sets up and runs the lab. Today the lab is the `sharpen` command line (the
# browser page is the next milestone): this builds it and runs the two core
# experiments on the built-in model, offline. Extra arguments go to `sharpen`
# instead, e.g. `./scripts/run.sh exact --prompt 39+25=`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"
  else echo "cargo not found: install Rust with rustup (https://rustup.rs)" >&2; exit 1; fi
fi
cargo build --release --locked --bin sharpen
if [ "$#" -gt 0 ]; then exec ./target/release/sharpen "$@"; fi
./target/release/sharpen bon
./target/release/sharpen sft
