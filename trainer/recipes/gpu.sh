#!/usr/bin/env bash
# The same retrofit recipe on one CUDA GPU, end to end in about 15 minutes: data, the
# identity fine-tune and both HRM layouts at an equal tuning budget (optimizer steps x
# examples), each converted to Q4_0 and run through the held-out edit suite at 1, 2 and 4
# cycles.
#
#   trainer/recipes/gpu.sh [STATE_DIR]
#
# Full training of every layer (TRAIN_LAYERS=-1); a fixed wall-clock cap per run keeps the
# total inside the budget. Copy STATE_DIR back and continue on CPU with retrofit.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=$(mkdir -p "${1:-$HOME/.local/share/hrmcli-state-gpu}" && cd "${1:-$HOME/.local/share/hrmcli-state-gpu}" && pwd)
export DEVICE=cuda TRAIN_LAYERS=${TRAIN_LAYERS:--1} STEPS=${STEPS:-600} ACCUM=${ACCUM:-16}
export LR=${LR:-1e-4} MAX_MINUTES=${MAX_MINUTES:-3}
export MIX=${MIX:-python=30000,javascript=4000,go=6000,plan=1500}
export THREADS=${THREADS:-8}
cd "$ROOT"
for layout in identity core:22:6:2 planner:2:2; do
  LAYOUT=$layout bash trainer/recipes/retrofit.sh "$STATE" || echo "layout $layout failed"
done
