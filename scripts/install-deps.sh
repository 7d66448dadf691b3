#!/usr/bin/env bash
# Installs the Debian packages nabla needs with apt-get, skipping those already installed.
# Usage: scripts/install-deps.sh main   (build the library, examples and CLI)
#        scripts/install-deps.sh test   (also the test suite: GoogleTest, PyTorch oracle, sanitizers, libFuzzer)
#        scripts/install-deps.sh bench  (main, plus what bench/ compares against: PyTorch, libtorch, ADOL-C, Google Benchmark; GNU time for peak memory)
set -euo pipefail

main_packages=(g++ make cmake libopenblas-dev libfmt-dev nlohmann-json3-dev libcli11-dev zlib1g-dev graphviz
               dataset-fashion-mnist)
# clang and its runtime (libFuzzer, sanitizers) build the fuzz targets; Debian bookworm's clang is 14.
test_packages=(libgtest-dev libgmock-dev python3 python3-torch python3-numpy clang libclang-rt-14-dev)

bench_packages=(python3 python3-torch python3-numpy libtorch-dev libadolc-dev libbenchmark-dev time)

packages=("${main_packages[@]}")
case "${1:-main}" in
  main) ;;
  test) packages+=("${test_packages[@]}") ;;
  bench) packages+=("${bench_packages[@]}") ;;
  *) echo "install-deps.sh: unknown set '$1' (expected main, test or bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps.sh: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: need root to apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
