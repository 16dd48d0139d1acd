#!/usr/bin/env bash
# Runs `adx experiment` in chunks of at most CHUNK_MINUTES (default 8) until the grid is
# complete: each chunk stops at an epoch's end with its checkpoint saved and the next
# one resumes there. For batch systems with short job limits, or for tools that cap a
# command's time.
#   scripts/experiment-chunks.sh CONFIG [adx experiment options...]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 CONFIG [adx experiment options...]" >&2; exit 1; }
adx=${ADX:-build/adx}
minutes=${CHUNK_MINUTES:-8}
while true; do
  out=$("$adx" experiment "$@" --max-minutes "$minutes")
  if ! grep -q "run again to continue" <<<"$out"; then
    echo "$out"
    break
  fi
  echo "chunk finished: $(grep -o '[0-9]* of [0-9]* runs finished' <<<"$out")" >&2
done
