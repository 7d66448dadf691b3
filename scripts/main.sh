#!/usr/bin/env bash
# The main job: install what is missing (compiler, libraries, the Fashion-MNIST data set), build
# nabla in Release, and train the default MLP on Fashion-MNIST with `nabla train`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh main
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)"
./build/tools/nabla/nabla train "$@"
