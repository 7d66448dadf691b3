#!/usr/bin/env bash
# Scalar tape benchmark: nabla::Var vs plain double vs ADOL-C, on one core. Usage: bash bench/run_scalar.sh [repeats]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${NABLA_BENCH_BUILD:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_BENCH=ON -DNABLA_BUILD_TESTS=OFF \
  -DNABLA_BUILD_EXAMPLES=OFF -DNABLA_BUILD_TOOLS=OFF > /dev/null
cmake --build "$build" --target scalar_bench -j"$(nproc)" > /dev/null
# ADOL-C keeps its tapes in memory only when its buffers hold them; give it buffers large enough
# (it reads .adolcrc from the working directory), so it is timed without disk traffic.
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT
cat > "$run/.adolcrc" <<'RC'
"OBUFSIZE" "67108864"
"LBUFSIZE" "67108864"
"VBUFSIZE" "67108864"
"TBUFSIZE" "67108864"
RC
cd "$run"
echo "# $(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), one core (taskset -c 0)"
exec taskset -c 0 "$build/bench/scalar_bench" "${1:-11}"
