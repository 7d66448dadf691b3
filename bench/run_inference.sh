#!/usr/bin/env bash
# Inference through the trained default MLP, nabla vs PyTorch side by side in one run: latency of one
# sample (median of 20,000) and throughput of batches of 1,000 (median of 100), gradients off, at 1
# and 2 threads. The checkpoint comes from one epoch of `nabla train --save` (weights do not change
# the timing, but both sides run the same trained network).
# PyTorch runs with OMP_WAIT_POLICY=PASSIVE, as in run_training.sh.
# Usage: bash bench/run_inference.sh
set -euo pipefail
bash "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/install-deps.sh" bench
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_BENCH=ON -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_TOOLS=ON > /dev/null
cmake --build build-bench -j"$(nproc)" --target nabla_cli inference_bench > /dev/null
checkpoint="$(mktemp -d)/mlp.safetensors"
trap 'rm -rf "$(dirname "$checkpoint")"' EXIT
build-bench/tools/nabla/nabla train --epochs 1 --save "$checkpoint" > /dev/null

field() { awk -v k="$1" '{for (i = 1; i < NF; ++i) if ($i == k) print $(i + 1)}'; }
printf '%-8s %14s %14s %8s %18s %18s %8s\n' threads nabla_lat_us torch_lat_us ratio nabla_per_s torch_per_s ratio
for threads in 1 2; do
  n=$(build-bench/bench/inference_bench "$checkpoint" "$threads")
  t=$(OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_inference.py "$checkpoint" "$threads")
  nl=$(field latency_us <<< "$n"); tl=$(field latency_us <<< "$t")
  nt=$(field throughput_per_s <<< "$n"); tt=$(field throughput_per_s <<< "$t")
  printf '%-8s %14.2f %14.2f %8.2f %18.0f %18.0f %8.2f\n' "$threads" "$nl" "$tl" "$(awk -v a="$nl" -v b="$tl" 'BEGIN {print a / b}')" \
    "$nt" "$tt" "$(awk -v a="$nt" -v b="$tt" 'BEGIN {print a / b}')"
done
