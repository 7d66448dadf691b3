#!/usr/bin/env bash
# Every side-by-side benchmark in one run (Release build): training epochs (MLP, CNN; nabla vs
# PyTorch and libtorch at 1 and 2 threads), inference latency and throughput, the kernel
# micro-benchmarks and per-op overhead (libtorch's too when bench/libtorch_bench is built), peak
# memory, the scalar workloads vs ADOL-C, and the GEMM-bound floor of each epoch (its GEMM FLOPs
# divided by the sgemm rate measured here, and nabla's fraction of it).
# Usage: bash bench/run_all.sh [TRAINING_REPEATS]   (default 3, the CNN too: single PyTorch CNN epochs on
# these shared cores ranged from 10 to 18 s)
# OpenBLAS picks its kernels from OPENBLAS_CORETYPE when set; both sides use the same library, so the
# comparison is fair either way, and the kernel in use is printed first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repeats="${1:-3}"
bash "$root/scripts/install-deps.sh" bench
cd "$root"
echo "OpenBLAS kernels: $(/usr/bin/python3 -c 'import ctypes; l = ctypes.CDLL("libopenblas.so.0"); l.openblas_get_corename.restype = ctypes.c_char_p; print(l.openblas_get_corename().decode())')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

echo; echo "== Training epochs (seconds, median)"
training=$(bash bench/run_training.sh "$repeats" mlp cnn)
echo "$training"

echo; echo "== Inference through the trained MLP"
bash bench/run_inference.sh

echo; echo "== Kernels and per-op overhead"
kernels="$(bash bench/run_kernels.sh 2>/dev/null)"
echo "$kernels" | grep -E '_median|^Benchmark'
if [ -x build-bench/bench/libtorch_bench ]; then  # built by run_training.sh when Torch was found
  echo "libtorch per-op overhead (same 1000 ops, median of 201 runs): $(build-bench/bench/libtorch_bench per-op --threads 1 | awk '{print $2}') ns/op"
fi
rate() { echo "$kernels" | awk -v t="$1" '$0 ~ "matmul_square/n:1024/threads:" t "/real_time_median" {for (i = 1; i <= NF; ++i) if ($i ~ /^GFLOP\/s=/) {sub(/GFLOP\/s=/, "", $i); sub(/G\/s$/, "", $i); print $i}}'; }
rate1=$(rate 1); rate2=$(rate 2)

echo; echo "== GEMM-bound floor (sgemm 1024^3: ${rate1} GFLOP/s on 1 thread, ${rate2} on 2)"
# GEMM FLOPs of one training epoch (60,000 samples): forward, weight gradient, and input gradient
# for every layer but the first (its input needs none); conv layers as their im2col GEMMs.
mlp_flops=$(awk 'BEGIN {print 2 * 60000 * (2 * 784 * 256 + 3 * (256 * 128 + 128 * 10))}')
cnn_flops=$(awk 'BEGIN {print 2 * 60000 * (2 * 32 * 9 * 26 * 26 + 3 * (64 * 288 * 11 * 11 + 1600 * 128 + 128 * 10))}')
printf '%-5s %8s %12s %12s %14s %14s\n' model threads GFLOP floor_s nabla_s nabla/floor
while read -r model threads n _rest; do  # rows: model threads nabla_s torch_s libtorch_s ratios
  flops=$([ "$model" = mlp ] && echo "$mlp_flops" || echo "$cnn_flops")
  r=$([ "$threads" = 1 ] && echo "$rate1" || echo "$rate2")
  awk -v m="$model" -v th="$threads" -v f="$flops" -v r="$r" -v n="$n" \
    'BEGIN {floor = f / (r * 1e9); printf "%-5s %8s %12.1f %12.3f %14.3f %14.2f\n", m, th, f / 1e9, floor, n, n / floor}'
done < <(echo "$training" | grep -E '^(mlp|cnn) ')

echo; echo "== Peak memory (maximum resident set, MiB) of one training epoch at 1 thread"
peak() { /usr/bin/time -f '%M' "$@" 2>&1 > /dev/null | tail -1 | awk '{printf "%.0f", $1 / 1024}'; }
printf '%-5s %10s %10s\n' model nabla torch
for model in mlp cnn; do
  printf '%-5s %10s %10s\n' "$model" "$(peak build-bench/tools/nabla/nabla train --model "$model" --epochs 1 --threads 1)" \
    "$(peak /usr/bin/python3 bench/torch_train.py --model "$model" --epochs 1 --threads 1)"
done

echo; echo "== Scalar workloads vs ADOL-C"
bash bench/run_scalar.sh
