#!/usr/bin/env bash
# The main job: install what is missing, build nabla in Release, run the quick-start example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh main
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)"
./build/examples/example_quickstart
