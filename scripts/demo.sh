#!/usr/bin/env bash
# Installs the dependencies, builds adx and runs the main job on its built-in
# default: the quick f-AnoGAN + kNN + Isolation Forest comparison on MNIST digit 0
# under the thesis protocol (experiments/quick.json), printing the AUROC table and
# the paths of the ROC and anomaly-map PNGs. Extra arguments go to `adx experiment`
# (e.g. --set classes=[0,8]); a second run reuses the finished runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
if [ -z "${ADX_DATA:-}" ] && [ -d ../shared/data ]; then
  export ADX_DATA="$(cd ../shared/data && pwd)"
fi
build/adx experiment experiments/quick.json --set classes=[0] --out experiments/out/demo "$@"
