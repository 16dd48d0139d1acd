#!/usr/bin/env bash
# Installs the dependencies, builds adx and runs the main job on its built-in
# default: for now, LeNet-5 trained for one epoch on the real MNIST digits,
# printing the test accuracy. (The anomaly-detection demo replaces it when the
# first detector lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
if [ -z "${ADX_DATA:-}" ] && [ -d ../shared/data ]; then
  export ADX_DATA="$(cd ../shared/data && pwd)"
fi
build/adx train --model lenet5 --dataset mnist --epochs 1 "$@"
