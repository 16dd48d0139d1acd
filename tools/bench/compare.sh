#!/usr/bin/env bash
# Runs `adx bench` and the PyTorch script side by side, alternating, and prints a
# Markdown table of throughputs and ratios (adx / PyTorch; > 1 means adx is faster).
#   tools/bench/compare.sh [--threads T] [--iters K] [--rounds R] [--device D] [--tf32] [WORKLOAD ...]
# --device cuda runs both sides on GPU 0 (PyTorch with cuDNN, cudnn.benchmark as set in
# torch_bench.py); the default is the CPU. --tf32 lets both use TF32 tensor cores.
# Needs build/adx (or $ADX_BUILD/adx), and Debian's python3-torch with libopenblas0-pthread
# (or $PYTHON, a Python whose torch has CUDA, for --device cuda).
# Each side reports its best round. PyTorch runs twice per round, with OpenMP's default
# wait policy and with OMP_WAIT_POLICY=PASSIVE: on small layers its spinning OpenMP
# threads compete with OpenBLAS's own for the same cores (the f-AnoGAN mlp ran up to 3×
# slower that way), so the better of the two is the fair figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=2 iters=20 rounds=2 device=cpu
workloads=() tf32=()
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --tf32) tf32=(--tf32); shift ;;
    *) workloads+=("$1"); shift ;;
  esac
done
[ ${#workloads[@]} -gt 0 ] || workloads=(gemm lenet5-train lenet5-infer wgangp-critic-step fanogan-gan-step
  fanogan-encoder-step resnet18-train resnet18-infer vggf-infer)
py=${PYTHON:-/usr/bin/python3}  # a Python with torch (CUDA builds of it for --device cuda)
adx=${ADX_BUILD:-build}/adx
metric() { $py -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d.get('gflops', d.get('items_per_s')))"; }
best() { printf '%s\n' "$@" | sort -g | tail -1; }

echo "| workload | threads | adx | PyTorch $($py -c 'import torch; print(torch.__version__)') | adx / PyTorch |"
echo "| --- | --- | --- | --- | --- |"
for w in "${workloads[@]}"; do
  a=() t=()
  for _ in $(seq "$rounds"); do  # alternate so that machine noise hits both sides
    a+=("$("$adx" bench "$w" --threads "$threads" --iters "$iters" --device "$device" "${tf32[@]}" | metric)")
    t+=("$($py tools/bench/torch_bench.py "$w" --threads "$threads" --iters "$iters" --device "$device" "${tf32[@]}" | metric)")
    t+=("$(OMP_WAIT_POLICY=PASSIVE $py tools/bench/torch_bench.py "$w" --threads "$threads" --iters "$iters" --device "$device" "${tf32[@]}" | metric)")
  done
  ab=$(best "${a[@]}") tb=$(best "${t[@]}")
  unit=$([ "$w" = gemm ] && echo "GFLOP/s" || echo "img/s")
  printf '| %s | %s | %.1f %s | %.1f %s | %.2f× |\n' "$w" "$threads" "$ab" "$unit" "$tb" "$unit" \
    "$($py -c "print($ab / $tb)")"
done
