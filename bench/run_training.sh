#!/usr/bin/env bash
# Training-epoch benchmark, nabla vs PyTorch (Python) vs libtorch (C++ frontend) side by side in one run:
# the default MLP and CNN of `nabla train` on Fashion-MNIST, batch 64, SGD lr 0.01 momentum 0.9, at 1 and
# 2 threads (the CNN's cosine learning-rate schedule, nabla's and torch_train.py's default, sets the rate
# outside the timed step; libtorch_bench keeps it constant). Each cell is the median epoch_seconds
# (training steps only, data loading excluded) of REPEATS one-epoch runs. Usage: bench/run_training.sh [REPEATS] [MODELS...]   (defaults: 3, mlp cnn)
# Rows: model threads nabla_s torch_s libtorch_s nabla/torch nabla/libtorch; the libtorch cells are `-`
# when bench/libtorch_bench is not built (Torch not found: Debian libtorch-dev).
# PyTorch and libtorch run with OMP_WAIT_POLICY=PASSIVE: with OpenMP's default spin-waiting, their
# two-thread epochs on these two shared cores took 30-90x longer than one thread (threads spinning
# against each other and other jobs); passive waiting is their better setting here.
set -euo pipefail
bash "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/install-deps.sh" bench
cd "$(dirname "$0")/.."
repeats="${1:-3}"
shift || true
models=("${@:-mlp}")
[ $# -eq 0 ] && models=(mlp cnn)
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_BENCH=ON -DNABLA_BUILD_TESTS=OFF -DNABLA_BUILD_TOOLS=ON > /dev/null
cmake --build build-bench -j"$(nproc)" --target nabla_cli > /dev/null
nabla=build-bench/tools/nabla/nabla
libtorch=
if [ -d build-bench/bench/CMakeFiles/libtorch_bench.dir ]; then  # configured only when Torch was found
  cmake --build build-bench -j"$(nproc)" --target libtorch_bench > /dev/null
  libtorch=build-bench/bench/libtorch_bench
fi

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
nabla_epoch() {  # model threads
  for _ in $(seq "$repeats"); do
    "$nabla" train --model "$1" --epochs 1 --threads "$2" | awk '/epoch_seconds/ {print $NF}'
  done | median
}
torch_epoch() {
  for _ in $(seq "$repeats"); do
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_train.py --model "$1" --epochs 1 --threads "$2" | awk '{print $NF}'
  done | median
}
libtorch_epoch() {
  for _ in $(seq "$repeats"); do
    OMP_WAIT_POLICY=PASSIVE "$libtorch" train --model "$1" --epochs 1 --threads "$2" | awk '{print $NF}'
  done | median
}

printf '%-5s %-8s %12s %12s %12s %12s %15s\n' model threads nabla_s torch_s libtorch_s nabla/torch nabla/libtorch
for model in "${models[@]}"; do
  for threads in 1 2; do
    n=$(nabla_epoch "$model" "$threads")
    t=$(torch_epoch "$model" "$threads")
    l=-; lr=-
    if [ -n "$libtorch" ]; then
      l=$(libtorch_epoch "$model" "$threads")
      lr=$(awk -v a="$n" -v b="$l" 'BEGIN {printf "%.2f", a / b}')
      l=$(printf '%.3f' "$l")
    fi
    printf '%-5s %-8s %12.3f %12.3f %12s %12.2f %15s\n' "$model" "$threads" "$n" "$t" "$l" \
      "$(awk -v a="$n" -v b="$t" 'BEGIN {print a / b}')" "$lr"
  done
done
