#!/usr/bin/env bash
# Retrofit layouts compared at an equal budget from the same tuned start (MODEL_CARD.md,
# "HRM layouts"):
#
#   trainer/recipes/layouts.sh START.gguf TRAIN.jsonl HELDOUT.jsonl [STATE_DIR]
#
# START is an identity hrm-code GGUF (the bundled model); it is unpacked, placed in each
# layout (converters.retrofit on a .pt keeps its tuning and heads), tuned for the same steps
# on the same records in the same order, and scored by bench.layouts at 1, 2 and 4 cycles.
# Knobs: LAYOUTS="identity core:22:6:2 planner:2:1" STEPS=30 ACCUM=8 LR=1.5e-4 THREADS=1
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
START=$(realpath "$1"); TRAIN=$(realpath "$2"); HELDOUT=$(realpath "$3")
STATE=$(mkdir -p "${4:-$HOME/.local/share/hrmcli-state/layouts}" && cd "${4:-$HOME/.local/share/hrmcli-state/layouts}" && pwd)
LAYOUTS=${LAYOUTS:-identity core:22:6:2 planner:2:1}; STEPS=${STEPS:-30}; ACCUM=${ACCUM:-8}
LR=${LR:-1.5e-4}; THREADS=${THREADS:-1}
PY=${PYTHON:-python}
cd "$ROOT"
[ -f "$STATE/start-identity.pt" ] || $PY -m converters.unpack "$START" "$STATE/start-identity.pt"
runs=()
for L in $LAYOUTS; do
  n=${L//:/-}
  [ -f "$STATE/start-$n.pt" ] || $PY -m converters.retrofit "$STATE/start-identity.pt" "$STATE/start-$n.pt" --layout "$L"
  $PY -m trainer.tune --init "$STATE/start-$n.pt" --data "$TRAIN" --out "$STATE/run-$n" \
    --train-layers 8 --lr "$LR" --accum "$ACCUM" --steps "$STEPS" --warmup 5 --save-minutes 10 \
    --threads "$THREADS" --max-tokens 1024 --change-weight 4 --plan-weight 0.5 --halt-weight 0.2 --seed 7
  runs+=("$STATE/run-$n/checkpoint.pt")
done
$PY -m bench.layouts "$HELDOUT" "${runs[@]}" --n 60 --threads "$THREADS" --json | tee "$STATE/result.json"
