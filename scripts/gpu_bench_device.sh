#!/usr/bin/env bash
# GPU benchmarks on a machine with a real GPU (the `device` tool's H100):
# runs a prebuilt `sharpen` (carried from target/release) and writes the
# outputs to $OUT (or target/gpu-bench). Usage: scripts/gpu_bench_device.sh [BIN]
set -uo pipefail
BIN=${1:-target/release/sharpen}
OUT=${OUT:-target/gpu-bench}
mkdir -p "$OUT"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
{ nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv; nproc; lscpu | grep "Model name"; } > "$OUT/machine.txt" 2>&1
# All CPU cores for the CPU baseline (the strongest one this machine offers).
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-$(nproc)}
timeout 200 "$BIN" gpu-bench --sizes 1024,2048,4096 --batches 1,16,64 --tokens 32 --shape smollm2-1.7b > "$OUT/smollm2-1.7b.txt" 2>&1
echo "exit $?" >> "$OUT/smollm2-1.7b.txt"
timeout 90 "$BIN" gpu-bench --sizes 576 --batches 1,16,64 --tokens 32 --shape smollm2-135m > "$OUT/smollm2-135m.txt" 2>&1
echo "exit $?" >> "$OUT/smollm2-135m.txt"
# The CPU path as the CLI runs it by default: one thread.
RAYON_NUM_THREADS=1 timeout 60 "$BIN" gpu-bench --sizes 4096 --batches 16 --tokens 16 --shape smollm2-135m > "$OUT/smollm2-135m-1thread.txt" 2>&1
echo "exit $?" >> "$OUT/smollm2-135m-1thread.txt"
tail -n 40 "$OUT"/*.txt
