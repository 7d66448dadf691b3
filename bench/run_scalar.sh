#!/usr/bin/env bash
# Scalar tape benchmark: nabla::Var vs plain double vs ADOL-C, on one core. Usage: bash bench/run_scalar.sh [repeats]
set -euo pipefail
bash "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/install-deps.sh" bench
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${NABLA_BENCH_BUILD:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_BENCH=ON -DNABLA_BUILD_TESTS=OFF \
  -DNABLA_BUILD_EXAMPLES=OFF -DNABLA_BUILD_TOOLS=OFF > /dev/null
cmake --build "$build" --target scalar_bench -j"$(nproc)" > /dev/null
# ADOL-C settings (read from .adolcrc in the working directory), chosen as a careful user would:
# every buffer large enough that the whole tape stays in memory (the benchmark prints ADOL-C's tape
# statistics and says if anything went to a file): at most 1.5M operations, 3.5M locations, 0.4M
# values and a Taylor stack of 1.6M here. The Taylor buffer is freed and allocated again by every
# trace_on(); at 2M doubles (16 MiB) it is below glibc's largest mmap threshold (32 MiB), so malloc
# hands back the same heap memory each time. (With 64M-element buffers, as first used, it was a
# fresh 512 MiB mmap per evaluation whose pages faulted in every time: ADOL-C was 1.3-1.7x slower.)
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT
cat > "$run/.adolcrc" <<'RC'
"OBUFSIZE" "2097152"
"LBUFSIZE" "6291456"
"VBUFSIZE" "1048576"
"TBUFSIZE" "2097152"
RC
cd "$run"
echo "# $(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), one core (taskset -c 0)"
exec taskset -c 0 "$build/bench/scalar_bench" "${1:-11}"  # ADOL-C also prints the settings it read
