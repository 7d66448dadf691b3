#!/usr/bin/env bash
# The test command: install what is missing, build everything and run the whole suite, then run it
# again under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included), the threaded
# parts under ThreadSanitizer, and each libFuzzer target for a bounded time (docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh test
jobs="$(nproc)"

echo "== Release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_TESTS=ON
cmake --build build -j"$jobs"
ctest --test-dir build -j"$jobs" --output-on-failure

echo "== AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer) build and tests"
# The consumer test builds an uninstrumented program against the library, which ASan cannot host.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNABLA_BUILD_TESTS=ON -DNABLA_SANITIZE=address,undefined
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure -E '^consumer\.'

echo "== ThreadSanitizer build and the threaded tests"
# The test programs of the parts that run threads: core (the thread pool, elementwise results across
# thread counts), ops (large elementwise ops and reductions, conv, pooling and batch norm on the pool,
# OpenBLAS matmuls), data (the data loader's background thread) and scalar (tapes in two threads),
# every test in them. The other programs are not built here (their placeholder tests are excluded).
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNABLA_BUILD_TESTS=ON -DNABLA_BUILD_EXAMPLES=OFF \
  -DNABLA_BUILD_TOOLS=OFF -DNABLA_SANITIZE=thread
cmake --build build-tsan -j"$jobs" --target core_tests data_tests ops_tests scalar_tests
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir build-tsan -j"$jobs" --output-on-failure -R '^[A-Z][A-Za-z0-9]*\.' -E '_NOT_BUILT$'

echo "== libFuzzer targets (clang, ASan + UBSan), ${NABLA_FUZZ_SECONDS:=60} s each"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNABLA_FUZZ=ON \
  -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_EXAMPLES=OFF -DNABLA_BUILD_TOOLS=OFF -DNABLA_SANITIZE=address,undefined
cmake --build build-fuzz -j"$jobs"
# Each target starts from its seed corpus (tests/fuzz/corpus/<target>, read only) plus what earlier
# runs of this build found; a crash, sanitizer report, leak, timeout or huge allocation fails the
# script and leaves the input in build-fuzz/findings/<target>/. Two targets run at a time.
fuzz_one() {
  local t="$1" out="build-fuzz/fuzz-$1.log"
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/findings/$t"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "build-fuzz/tests/fuzz/${t}_fuzz" -max_total_time="$NABLA_FUZZ_SECONDS" -max_len=4096 -timeout=10 \
       -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="build-fuzz/findings/$t/" \
       "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$out" 2>&1; then
    echo "fuzz $t: no finding, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$out" | grep -o '[0-9]*$') executions"
  else
    tail -n 60 "$out"
    echo "fuzz $t: FINDING (input in build-fuzz/findings/$t/, log in $out)"
    return 1
  fi
}
fuzz_failed=0
for pair in "idx csv" "safetensors program"; do
  pids=()
  for t in $pair; do
    fuzz_one "$t" &
    pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || fuzz_failed=1; done
done
if [ "$fuzz_failed" -ne 0 ]; then
  echo "test.sh: a fuzz target found a problem" >&2
  exit 1
fi
echo "== all tests passed"
