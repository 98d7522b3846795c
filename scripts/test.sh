#!/usr/bin/env bash
# The whole test suite. Installs what it needs when missing (lavapipe, the
# wasm32 target, wasm-bindgen-cli, Trunk, Chromium, playwright-core), then
# runs every test: the native suite (tests/suite: the core, the built-in
# models, the `sharpen` command line, the page's state/charts/exports, the
# GPU kernels on a software Vulkan device, the fuzz targets' bodies on their
# seeds, mutations and regressions) and the native soak (tests/soak.rs),
# then the built page end to end in headless Chromium (tests/e2e), the
# browser suites side by side (timing.test.mjs, which times the main
# thread and the page's sampling speed, alone). Every part runs even when an earlier one
# failed; all failures are reported at the end, with the time of each phase.
# Extra arguments filter the native tests (a test runs when its name
# contains one of them, e.g. `golden::`).
#
# The long campaigns are separate commands (README "Reliability"):
# `scripts/fuzz.sh SECONDS` (libFuzzer), `SOAK_ROUNDS=23` for the browser
# soak, `SOAK_ROUNDS=13` for the native one.
#
# A test that cannot run here (no SmolLM2, no Python reference, no GPU
# adapter) says SKIPPED and is counted in the summary line; with
# SHARPEN_NO_SKIPS=1 (set by .ci/run, where everything can be installed) any
# skipped test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PHASE_LOG
PHASE_LOG=$(mktemp)
. scripts/tools.sh
need_cargo
t0=$(date +%s)

# candle's CPU thread pool spin-waits; the test runner already runs tests in
# parallel, so one candle thread per test keeps a small machine responsive.
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"

timed "fetch SmolLM2 and the Python reference" need_real_model_inputs
need_gpu_test_tools

log=$(mktemp)
build_log=$(mktemp)
export SHARPEN_SKIP_LOG
SHARPEN_SKIP_LOG=$(mktemp)
trap 'rm -f "$log" "$build_log" "$SHARPEN_SKIP_LOG" "$PHASE_LOG"' EXIT

# The native tests build with the `checked` profile: release, plus overflow
# checks and debug assertions in the lab's own code (as the fuzz build has).
native=0
timed "native build (tests/suite, tests/soak.rs, sharpen)" bash -c "set -o pipefail; cargo test --profile checked --locked --no-run 2>&1 | tee $build_log" || native=1
if [ "$native" = 0 ]; then
  timed "native tests" run_native_tests "$build_log" "$log" "$@" || native=1
  print_test_times "$log"
fi
passed=$(grep -Eo '^ +Summary .* [0-9]+ passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{print $1}' || true)
failed=$(grep -Eo '^ +Summary .*' "$log" | grep -Eo '[0-9]+ failed' | awk '{print $1}' || true)
passed=${passed:-0}
failed=${failed:-0}
[ "$native" = 0 ] || [ "$failed" -gt 0 ] || failed=1

need_web_build_tools
need_browser_test_tools
browser=0
timed "page build (trunk build --release)" build_page || browser=1
: > "$log"
if [ "$browser" = 0 ]; then
  # Each suite has its own server and browser: they run side by side, but
  # timing.test.mjs, which times the main thread's longest task and the
  # page's sampling speed, runs alone.
  set +e
  timed "browser suites, three at a time" bash -c "cd tests/e2e && SHARPEN=$PWD/target/checked/sharpen node --test --test-concurrency=${E2E_CONCURRENCY:-3} --test-reporter=spec \
    real_models.test.mjs soak.test.mjs security.test.mjs lesson.test.mjs webgpu_hf.test.mjs real_file.test.mjs lab.test.mjs faults.test.mjs" 2>&1 | tee "$log"
  browser=${PIPESTATUS[0]}
  timed "browser suite timing.test.mjs, alone" bash -c "cd tests/e2e && SHARPEN=$PWD/target/checked/sharpen node --test --test-reporter=spec timing.test.mjs" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" = 0 ] || browser=1
  set -e
  print_suite_times "$log"
fi
bpassed=$(grep -Eo '^ℹ pass [0-9]+' "$log" | awk '{s+=$3} END {if (NR) print s}' || true)
bfailed=$(grep -Eo '^ℹ fail [0-9]+' "$log" | awk '{s+=$3} END {if (NR) print s}' || true)
bskipped=$(grep -Eo '^ℹ skipped [0-9]+' "$log" | awk '{s+=$3} END {if (NR) print s}' || true)
bpassed=${bpassed:-0}
bfailed=${bfailed:-1}
bskipped=${bskipped:-0}
[ "$browser" = 0 ] || [ "$bfailed" -gt 0 ] || bfailed=1
skipped=$(wc -l < "$SHARPEN_SKIP_LOG")
# A skipped native test passes (it returns early): count it once, as skipped.
passed=$((passed - skipped))

print_phases
echo "== whole run: $(( $(date +%s) - t0 ))s"
[ -n "$REAL_MODEL_NOTE" ] && echo "$REAL_MODEL_NOTE"
if [ "$skipped" -gt 0 ]; then
  echo "skipped native tests:"
  sed 's/^/  /' "$SHARPEN_SKIP_LOG"
fi
echo "native: $passed passed, $failed failed, $skipped skipped; browser: $bpassed passed, $bfailed failed, $bskipped skipped (screenshots in target/e2e/screenshots)"
echo "tests: $((passed + bpassed)) passed, $((failed + bfailed)) failed, $((skipped + bskipped)) skipped"
if [ "${SHARPEN_NO_SKIPS:-0}" = 1 ] && [ $((skipped + bskipped)) -gt 0 ]; then
  echo "SHARPEN_NO_SKIPS=1: $((skipped + bskipped)) tests were skipped; everything they need can be installed here" >&2
  exit 1
fi
[ "$native" = 0 ] && [ "$browser" = 0 ]
