#!/usr/bin/env bash
# Training-epoch benchmark, nabla vs PyTorch side by side in one run: the default MLP and CNN of
# `nabla train` on Fashion-MNIST, batch 64, SGD lr 0.01 momentum 0.9, at 1 and 2 threads.
# Each cell is the median epoch_seconds (training steps only, data loading excluded) of REPEATS
# one-epoch runs. Usage: bench/run_training.sh [REPEATS] [MODELS...]   (defaults: 3, mlp cnn)
set -euo pipefail
bash "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/install-deps.sh" bench
cd "$(dirname "$0")/.."
repeats="${1:-3}"
shift || true
models=("${@:-mlp}")
[ $# -eq 0 ] && models=(mlp cnn)
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_TOOLS=ON > /dev/null
cmake --build build-bench -j"$(nproc)" --target nabla_cli > /dev/null
nabla=build-bench/tools/nabla/nabla

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
nabla_epoch() {  # model threads
  for _ in $(seq "$repeats"); do
    "$nabla" train --model "$1" --epochs 1 --threads "$2" | awk '/epoch_seconds/ {print $NF}'
  done | median
}
torch_epoch() {
  for _ in $(seq "$repeats"); do
    /usr/bin/python3 bench/torch_train.py --model "$1" --epochs 1 --threads "$2" | awk '{print $NF}'
  done | median
}

printf '%-5s %-8s %12s %12s %8s\n' model threads nabla_s torch_s ratio
for model in "${models[@]}"; do
  for threads in 1 2; do
    n=$(nabla_epoch "$model" "$threads")
    t=$(torch_epoch "$model" "$threads")
    printf '%-5s %-8s %12.3f %12.3f %8.2f\n' "$model" "$threads" "$n" "$t" "$(awk -v a="$n" -v b="$t" 'BEGIN {print a / b}')"
  done
done
