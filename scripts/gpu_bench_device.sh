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
# Vulkan loader: a machine without one gets it from .gl/*.deb (see README).
if ! ldconfig -p | grep -q libvulkan.so.1 && ls .gl/*.deb >/dev/null 2>&1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
fi
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
# The largest shape, against all CPU cores (the strongest CPU baseline here).
RAYON_NUM_THREADS=$(nproc) timeout 330 "$BIN" gpu-bench --sizes 2048,4096 --batches 1,16,64 --tokens 8 --weights f32,f16 --shape smollm2-1.7b > "$OUT/smollm2-1.7b.txt" 2>&1
echo "exit $?" >> "$OUT/smollm2-1.7b.txt"
# SmolLM2-135M's shape against the CPU path as the CLI runs it (one thread).
RAYON_NUM_THREADS=1 timeout 150 "$BIN" gpu-bench --sizes 576 --batches 1,16,64 --tokens 16 --weights f32,f16 --shape smollm2-135m > "$OUT/smollm2-135m.txt" 2>&1
echo "exit $?" >> "$OUT/smollm2-135m.txt"
tail -n 60 "$OUT"/*.txt
