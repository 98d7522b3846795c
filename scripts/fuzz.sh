#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz) of every parser that
# takes a user's bytes: GGUF, a Hugging Face model's files, tokenizer.json,
# chat templates, JSONL prompt sets, the page's URL hash. Target bodies:
# src/fuzzing.rs.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# runs each target (all by default) for SECONDS (default 600) from seeds: whole
# tiny models (GGUF and Hugging Face, fuzz/seeds/), the built-in tokenizers,
# the shipped prompt sets, chat templates, page hashes; with a 1 s timeout
# per input, a 2 GB memory limit and inputs up to 1 MB; then prints
# executions and coverage per target.
# Faults land in fuzz/artifacts/<target>/: copy each into
# fuzz/regressions/<target>/ (tests/suite/fuzz_smoke.rs replays them) and fix it.
# The long campaign is `scripts/fuzz.sh 3600` (an hour per target). CI does
# not run libFuzzer: the native suite runs every target's body on its seeds,
# a few hundred mutations of them and every regression (tests/suite/fuzz_smoke.rs),
# with the same overflow checks as this build (the `checked` profile).
#
# cargo-fuzz needs nightly flags; the machine has one stable toolchain, so
# RUSTC_BOOTSTRAP=1 lets stable rustc accept them (the same compiler, no
# nightly download). Sanitizer: none (safe Rust; libFuzzer's own malloc
# limit and timeouts catch allocations and hangs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
need_cargo
SECONDS_PER_TARGET=${1:-600}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(gguf hf_files tokenizer chat_template prompts url_hash)
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz 0.13.2"
  cargo install --locked cargo-fuzz --version 0.13.2
fi

# Seeds: the real files each parser reads, several files joined by FF 00 FF.
corpus=target/fuzz-corpus
sep() { printf '\xff\x00\xff'; }
mkdir -p "$corpus"/{gguf,hf_files,tokenizer,chat_template,prompts,url_hash}
# Whole tiny models (scripts/tiny_models.py wrote them): thousands of runs a
# second. SmolLM2's 4 MB header (its real tokenizer) runs ~60 times a second,
# so it is a seed of the native smoke test (tests/suite/fuzz_smoke.rs), not here.
cp fuzz/seeds/gguf/tiny.gguf "$corpus/gguf/tiny.gguf"
cp fuzz/seeds/hf_files/tiny "$corpus/hf_files/tiny"
for t in add mul lock echo; do cp "www/models/$t/tokenizer.json" "$corpus/tokenizer/$t"; done
{ cat www/models/add/tokenizer.json; sep; printf '{"bos_token": "<s>", "chat_template": "{{ messages[0][\x27content\x27] }}"}'; } > "$corpus/tokenizer/with-config"
printf "%s" "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}" > "$corpus/chat_template/chatml"
printf "%s" "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'].strip() }} [/INST]{% endif %}{% endfor %}" > "$corpus/chat_template/llama2"
for p in www/prompts/*.jsonl; do head -c 20000 "$p" > "$corpus/prompts/$(basename "$p")"; done
{ head -c 5000 www/prompts/capitals.jsonl; sep; head -c 5000 www/prompts/counting.jsonl; } > "$corpus/prompts/two-files"
printf '#view=bon&task=add&n=1,4,16&prompts=24&seed=3' > "$corpus/url_hash/bon"
printf '#lesson=4&embed=1&samples_hide=1' > "$corpus/url_hash/lesson"
printf '#task=arithmetic&model=https%%3A%%2F%%2Fx%%2Fm.gguf&eval_share=0.5&backend=gpu' > "$corpus/url_hash/model"

echo "== building the fuzz targets (cargo fuzz build, no sanitizer)"
cargo fuzz build -s none >/dev/null
summary=()
for t in "${TARGETS[@]}"; do
  echo "== fuzzing $t for ${SECONDS_PER_TARGET}s"
  log=target/fuzz-$t.log
  mkdir -p "fuzz/artifacts/$t"
  set +e
  # The regressions run first, with the fuzz build's overflow checks (the native smoke test runs them in release).
  regressions=(); [ -d "fuzz/regressions/$t" ] && regressions=("fuzz/regressions/$t")
  cargo fuzz run -s none "$t" "$corpus/$t" "${regressions[@]}" -- -max_total_time="$SECONDS_PER_TARGET" -timeout=1 -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -max_len=1048576 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" > "$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
  line="$t: $execs executions, coverage $cov edges ($ft features), exit $rc"
  summary+=("$line")
  echo "$line"
  if [ "$rc" -ne 0 ]; then
    echo "   FAULT: see $log and fuzz/artifacts/$t/" >&2
    tail -40 "$log" >&2
  fi
done
echo "== fuzzing summary (${SECONDS_PER_TARGET}s per target)"
printf '  %s\n' "${summary[@]}"
! printf '%s\n' "${summary[@]}" | grep -qv 'exit 0$'
