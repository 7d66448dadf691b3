#!/usr/bin/env bash
# Kernel micro-benchmarks (Google Benchmark): elementwise, reductions, softmax-cross-entropy, matmul,
# linear and conv forward+backward, and the per-op autograd overhead. Median of 5 repetitions.
# Usage: bash bench/run_kernels.sh [extra Google Benchmark flags]
set -euo pipefail
bash "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/install-deps.sh" bench
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${NABLA_BENCH_BUILD:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_BENCH=ON -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_TOOLS=ON > /dev/null
cmake --build "$build" --target kernels_bench -j"$(nproc)" > /dev/null
exec "$build/bench/kernels_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.2 "$@"
