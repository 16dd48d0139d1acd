#!/usr/bin/env bash
# The first thing to run on a machine with a GPU (issue 7): builds adx with the CUDA
# backend in build-cuda/, runs every CUDA test, then times each `adx bench` workload
# on the GPU beside PyTorch (FP32, TF32 off on both sides). Everything it prints is
# also written to $OUT (default: gpu-check-out/), so that a remote run brings it back:
#   scripts/gpu-check.sh                 # all of it
#   scripts/gpu-check.sh --tests-only    # build and tests, no benchmarks
#   scripts/gpu-check.sh --bench-only    # build (a no-op when done before) and benchmarks
# (On the lent device machine each command must end within 10 minutes: run
# --tests-only, then --bench-only; build-cuda/ is kept between the two.)
# It stops at the first failing step and says which. Needs nvidia-smi's driver, the
# toolkit at /usr/local/cuda (or nvcc on PATH) and, for the benchmarks, PyTorch with CUDA.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check-out}
mkdir -p "$out"
tests_only=0 bench_only=0
case "${1:-}" in
  --tests-only) tests_only=1 ;;
  --bench-only) bench_only=1 ;;
  "") ;;
  *) echo "usage: scripts/gpu-check.sh [--tests-only | --bench-only]" >&2; exit 2 ;;
esac

step() {  # step NAME COMMAND...: runs it, its output to the terminal and $out/NAME.log
  local name=$1
  shift
  echo "== $name: $*"
  "$@" 2>&1 | tee "$out/$name.log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "== $name FAILED (exit $rc); its log: $out/$name.log"
    exit "$rc"
  fi
}

step device nvidia-smi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
step configure cmake -B build-cuda -DCMAKE_BUILD_TYPE=Release -DADX_CUDA=ON "${generator[@]}"
step build cmake --build build-cuda -j"$(nproc)"
step info build-cuda/adx info
# The GPU tests, then the rest of the suite on the same build.
if [ "$bench_only" = 0 ]; then
  step cuda-tests ctest --test-dir build-cuda -R "Cuda" --output-on-failure -j4
  step all-tests ctest --test-dir build-cuda --output-on-failure -j"$(nproc)"
fi
[ "$tests_only" = 1 ] && exit 0

# compare.sh runs $ADX_BUILD/adx (default build/): here the CUDA build.
python=$(command -v python3)  # the image's Python with a CUDA PyTorch
step torch-cuda "$python" -c "import torch; assert torch.cuda.is_available(); print(torch.__version__, torch.version.cuda, torch.backends.cudnn.version())"
step bench-gpu env ADX_BUILD=build-cuda PYTHON="$python" tools/bench/compare.sh --device cuda --iters 50 --rounds 3 \
  gemm lenet5-train lenet5-infer wgangp-critic-step resnet18-train resnet18-infer vggf-infer \
  fanogan-gan-step fanogan-encoder-step
for w in lenet5-train wgangp-critic-step resnet18-train; do  # allocations and device memory per step
  step "verbose-$w" build-cuda/adx bench "$w" --device cuda --iters 20 --verbose
done
echo "== all steps passed; logs in $out/"
