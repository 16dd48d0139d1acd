#!/usr/bin/env bash
# Configures and builds adx in build/ (Release). Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f build/CMakeCache.txt ]; then
  cmake -B build -DCMAKE_BUILD_TYPE=Release "${generator[@]}" "$@"
elif [ $# -gt 0 ]; then
  cmake -B build "$@"
fi
cmake --build build -j"$(nproc)"
