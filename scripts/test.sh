#!/usr/bin/env bash
# Installs the dependencies, builds adx and runs the whole test suite through CTest.
# Tests that need the real data sets read them from $ADX_DATA (default ../shared/data
# when it exists) and skip with a message when they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
if [ -z "${ADX_DATA:-}" ] && [ -d ../shared/data ]; then
  export ADX_DATA="$(cd ../shared/data && pwd)"
fi
[ -n "${ADX_DATA:-}" ] && export ADX_DATA="$(cd "$ADX_DATA" && pwd)"
echo "test: ADX_DATA=${ADX_DATA:-<unset: data tests will skip>}"
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
