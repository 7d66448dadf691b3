#!/usr/bin/env bash
# The test command: install what is missing, build everything and run the whole suite, then run it
# again under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included).
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
