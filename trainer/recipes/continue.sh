#!/usr/bin/env bash
# Continue tuning an HRM-Code GGUF on short-window edit tasks, the inverse-mutation kinds,
# the tool plans and test-driven fixes: the stages that made the bundled model from the
# first tuned one (`make weights` runs retrofit.sh, then this from its output).
#
#   FROM=path.gguf trainer/recipes/continue.sh [STATE_DIR]
#   FROM=hrmcli/weights/hrm-code-135m-q8_0.gguf FROM_STAGE=C trainer/recipes/continue.sh
#     (the second form starts at stage C from a stage-B model, as the bundled v5 was made)
#
# Like retrofit.sh every stage is skipped when its output exists and each tuning stage
# resumes from its last checkpoint, so the recipe can be stopped and run again.
#   1. FROM -> a tuning checkpoint (converters.unpack)
#   2. records from files cut into windows of at most 1,200 characters (<= 640 tokens):
#      stage A's set from Python's standard library, npm's JavaScript and Go's sources
#      (seed 5); stage B's from those plus the installed Python packages (seed 6), with
#      every kind including trainer.data.inverse_tasks's, and fresh tool plans (seed 4)
#   3. stage A: 16 top blocks, lr 2e-4, 20 warm-up steps, cosine over 560 steps
#      (the bundled model stopped this stage at step 297 and went on to stage B)
#   4. stage B from stage A's checkpoint: lr 1.2e-4, 10 warm-up steps, cosine over 330
#      (v4 stopped stage B at step 241, its time budget)
#   5. stage C: plans whose prompt starts with the sandbox's repo map (as `hrm run` shows
#      it), Rust (rust-src) and Java (the JDK's src.zip) windows, renames weighted up;
#      lr 1e-4, cosine over C_STEPS
#   6. stage D from C: edits after a failing test run (trainer.data.test_fix_tasks) and
#      fresh edit tasks (seed 9), half of all requests typed casually; lr 6e-5, up to
#      900-token records
#   7. stage E from D (RUN_E=1; not in the bundled model): plans over projects whose module,
#      function and bug vary (the plan must name the file from the repo map or the failing
#      output, not from memory), the revision after a failed run_tests as `hrm run` shows
#      it, fresh test-fix edits and edit tasks in five languages; lr 5e-5, cosine over E_STEPS
#   8. Q8_0 GGUF of the last stage run and the held-out edit suite; SHIP=1 copies it into
#      hrmcli/weights/. FROM_STAGE=E starts at stage E from a stage-D model (the bundled v5).
# Knobs: A_STEPS=560 A_STOP=297 B_STEPS=330 B_STOP=241 C_STEPS C_STOP D_STEPS D_STOP
# E_STEPS E_STOP
# THREADS=2 MAX_MINUTES=110 (per tuning run; a stage that stops early says "run again").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
STATE=$(mkdir -p "${1:-$HOME/.local/share/hrmcli-state}" && cd "${1:-$HOME/.local/share/hrmcli-state}" && pwd)
FROM=${FROM:?set FROM to the hrm-code GGUF to continue from}
A_STEPS=${A_STEPS:-560}; A_STOP=${A_STOP:-297}; B_STEPS=${B_STEPS:-330}; B_STOP=${B_STOP:-241}
C_STEPS=${C_STEPS:-300}; C_STOP=${C_STOP:-255}; D_STEPS=${D_STEPS:-100}; D_STOP=${D_STOP:-100}
E_STEPS=${E_STEPS:-400}; E_STOP=${E_STOP:-400}
FROM_STAGE=${FROM_STAGE:-A}
D_MIX=python:test_fix=700,javascript:test_fix=300,python=300,javascript=150,go=150,rust=100
D_MIX=$D_MIX,plan=150,python:rename=150,javascript:rename=100,go:rename=60,rust:rename=60
THREADS=${THREADS:-2}; MAX_MINUTES=${MAX_MINUTES:-110}
cd "$ROOT"
PY=${PYTHON:-python}
BASE=$($PY -m converters.base_model)
D="$STATE/data"; mkdir -p "$D"
START="$STATE/from-$(basename "$FROM" .gguf).pt"
[ -f "$START" ] || $PY -m converters.unpack "$FROM" "$START"

STD=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
SITE=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
NPM=$(npm root -g 2>/dev/null || true)
GOSRC=$(command -v go >/dev/null && echo "$(go env GOROOT)/src" || true)
records() {  # OUT SEED LIMIT ROOT...: short-window ChatML edit records, built once
  local out=$1 seed=$2 limit=$3; shift 3
  [ -f "$out" ] && return 0
  $PY -m trainer.data.chat_tasks "$out.part" "$@" --tokenizer-from "$BASE" \
    --limit "$limit" --max-chars 1200 --max-tokens 640 --seed "$seed"
  mv "$out.part" "$out"
}
js=(); [ -d "$NPM/npm" ] && js=("$NPM/npm" "$NPM/npm/node_modules")
[ -f "$D/short-heldout.jsonl" ] || $PY -m trainer.data.chat_tasks "$D/short-heldout.jsonl" \
  "$STD" "${js[@]}" ${GOSRC:+"$GOSRC"} --heldout --tokenizer-from "$BASE" --limit 3000 \
  --max-chars 1200 --max-tokens 640 --seed 5
[ -f "$D/val-v3.jsonl" ] || $PY -m trainer.data.mix "$D/val-v3.jsonl" "$D/short-heldout.jsonl" \
  --per-language python=100,javascript=60,go=60 --seed 1
if [ "$FROM_STAGE" = A ]; then  # stages A and B's data
  records "$D/short.jsonl" 5 30000 "$STD" "${js[@]}"
  [ -n "$GOSRC" ] && records "$D/short-go.jsonl" 5 8000 "$GOSRC"
  records "$D/short-v4.jsonl" 6 30000 "$STD" "${js[@]}"
  records "$D/extra-v4.jsonl" 6 40000 "$SITE" ${NPM:+"$NPM"} ${GOSRC:+"$GOSRC"}
  [ -f "$D/plans.jsonl" ] || $PY -m trainer.data.chat_tasks "$D/plans.jsonl" x \
    --tokenizer-from "$BASE" --plans 1500
  [ -f "$D/plans-v4.jsonl" ] || $PY -m trainer.data.chat_tasks "$D/plans-v4.jsonl" x \
    --tokenizer-from "$BASE" --plans 1560 --seed 4
  go_a=(); [ -f "$D/short-go.jsonl" ] && go_a=("$D/short-go.jsonl")
  [ -f "$D/train-v3.jsonl" ] || $PY -m trainer.data.mix "$D/train-v3.jsonl" "$D/short.jsonl" \
    "${go_a[@]}" "$D/plans.jsonl" --per-language python=7000,javascript=3500,go=3500,plan=1200 --seed 3
  # the inverse-mutation kinds at the share the bundled model's stage B drew of them
  NEW=python:add_docstring=581,python:add_guard=110,python:missing_import=136
  NEW=$NEW,python:param_from_literal=73,javascript:add_docstring=44,javascript:add_guard=42
  NEW=$NEW,javascript:missing_import=34,go:add_docstring=223,go:add_guard=88,go:missing_import=69
  [ -f "$D/train-v4.jsonl" ] || $PY -m trainer.data.mix "$D/train-v4.jsonl" "$D/short-v4.jsonl" \
    "$D/extra-v4.jsonl" "$D/plans-v4.jsonl" \
    --per-language "python=2600,javascript=1300,go=1300,plan=750,$NEW" --seed 4
fi

tune() {  # OUT INIT DATA then trainer.tune flags
  local out=$1 init=$2 data=$3; shift 3
  $PY -m trainer.tune --init "$init" --data "$data" --out "$out" --train-layers 16 --accum 8 \
    --max-tokens 640 --save-minutes 8 --max-minutes "$MAX_MINUTES" --threads "$THREADS" \
    --change-weight 4 --plan-weight 0.5 --halt-weight 0.2 \
    --val "$D/val-v3.jsonl" --val-every 80 --val-n 32 "$@"
}
step_of() { $PY -c "import torch,sys; print(torch.load(sys.argv[1], map_location='cpu', weights_only=True)['step'])" "$1"; }
A="$STATE/runs/v3-t16"; B="$STATE/runs/v4-t16"
# FROM_STAGE=C: FROM is already stage B's model (the bundled v4); go straight to stage C
if [ "$FROM_STAGE" = A ]; then
  if [ ! -f "$B/checkpoint.pt" ]; then
    if [ ! -f "$A/checkpoint.pt" ] || [ "$(step_of "$A/checkpoint.pt")" -lt "$A_STOP" ]; then
      tune "$A" "$START" "$D/train-v3.jsonl" --lr 2e-4 --warmup 20 --steps "$A_STEPS" \
        --stop-at "$A_STOP"
    fi
    [ "$(step_of "$A/checkpoint.pt")" -ge "$A_STOP" ] || { echo "stage A stopped early: run again"; exit 0; }
  fi
  tune "$B" "$A/checkpoint.pt" "$D/train-v4.jsonl" --lr 1.2e-4 --warmup 10 --steps "$B_STEPS" \
    --stop-at "$B_STOP" --seed 4
  [ "$(step_of "$B/checkpoint.pt")" -ge "$B_STOP" ] || { echo "stage B stopped early: run again"; exit 0; }
fi

RUSTSRC=$(ls -d /usr/src/rustc-*/library 2>/dev/null | head -n 1 || true)
JDKZIP=$(ls /usr/lib/jvm/*/lib/src.zip 2>/dev/null | head -n 1 || true)
RUN_D="$STATE/runs/v5d-t16"
if [ "$FROM_STAGE" != E ]; then
# stage C: the planner's repo map, edits driven by a failing test's output, Rust and Java
# windows, and more of the kinds the bundled v4 failed (renames, signatures, literals)
if [ -n "$JDKZIP" ] && [ ! -d "$STATE/src/jdk" ]; then
  mkdir -p "$STATE/src"
  unzip -q -o "$JDKZIP" 'java.base/java/util/*' 'java.base/java/time/*' 'java.base/java/text/*' \
    -d "$STATE/src/jdk.part" && mv "$STATE/src/jdk.part" "$STATE/src/jdk"
fi
records "$D/short-v5.jsonl" 8 12000 "$STD" "${js[@]}" ${GOSRC:+"$GOSRC"}
[ -n "$RUSTSRC" ] && records "$D/short-rust.jsonl" 8 4000 "$RUSTSRC"
[ -d "$STATE/src/jdk" ] && records "$D/short-java.jsonl" 8 4000 "$STATE/src/jdk"
[ -f "$D/plans-v5.jsonl" ] || $PY -m trainer.data.chat_tasks "$D/plans-v5.jsonl" x \
  --tokenizer-from "$BASE" --plans 1560 --seed 5 --repo-map
more=(); for f in short-rust short-java; do [ -f "$D/$f.jsonl" ] && more+=("$D/$f.jsonl"); done
C_MIX=python=1100,javascript=600,go=500,rust=350,java=250,plan=700
C_MIX=$C_MIX,python:rename=300,javascript:rename=200,go:rename=120,python:add_param=150
C_MIX=$C_MIX,javascript:add_param=100,python:literal=120,javascript:literal=80
[ -f "$D/train-v5.jsonl" ] || $PY -m trainer.data.mix "$D/train-v5.jsonl" "$D/short-v5.jsonl" \
  "${more[@]}" "$D/plans-v5.jsonl" --per-language "$C_MIX" --seed 5
C="$STATE/runs/v5-t16"
if [ "$FROM_STAGE" = C ]; then C_INIT=$START; else C_INIT=$B/checkpoint.pt; fi
tune "$C" "$C_INIT" "$D/train-v5.jsonl" --lr 1e-4 --warmup 10 --steps "$C_STEPS" \
  --stop-at "$C_STOP" --seed 5
[ "$(step_of "$C/checkpoint.pt")" -ge "$C_STOP" ] || { echo "stage C stopped early: run again"; exit 0; }

# stage D: edits asked for after a failing test run (the prompt holds the test output, as
# `hrm run` gives it, trainer.data.test_fix_tasks), and edit tasks drawn afresh, half of
# them typed casually (trainer.data.phrasing.casual), renames weighted up
[ -f "$D/test-fix.jsonl" ] || $PY -m trainer.data.test_fix_tasks "$D/test-fix.jsonl" --n 1200 \
  --seed 7 --tokenizer-from "$BASE"
records "$D/short-v5d.jsonl" 9 12000 "$STD" "${js[@]}" ${GOSRC:+"$GOSRC"} ${RUSTSRC:+"$RUSTSRC"}
[ -f "$D/train-v5d.jsonl" ] || $PY -m trainer.data.mix "$D/train-v5d.jsonl" "$D/test-fix.jsonl" \
  "$D/short-v5d.jsonl" "$D/plans-v5.jsonl" --per-language "$D_MIX" --seed 6
tune "$RUN_D" "$C/checkpoint.pt" "$D/train-v5d.jsonl" --lr 6e-5 --warmup 5 --steps "$D_STEPS" \
  --stop-at "$D_STOP" --seed 6 --max-tokens 900
[ "$(step_of "$RUN_D/checkpoint.pt")" -ge "$D_STOP" ] || { echo "stage D stopped early: run again"; exit 0; }
fi

# stage E (RUN_E=1, or FROM_STAGE=E): plans over varied failing projects
# (trainer.data.plan_tasks over test_fix_tasks' projects), the revision plan after a failed
# run_tests, fresh test-fix edits and edit tasks with the Java windows, renames weighted up.
# Its v6 did not beat stage D's v5 (MODEL_CARD.md), so by default the recipe ships D's.
FINAL=$RUN_D/checkpoint.pt; NAME=v5
if [ "${RUN_E:-0}" = 1 ] || [ "$FROM_STAGE" = E ]; then
  if [ -n "$JDKZIP" ] && [ ! -d "$STATE/src/jdk" ]; then
    mkdir -p "$STATE/src"
    unzip -q -o "$JDKZIP" 'java.base/java/util/*' 'java.base/java/time/*' \
      'java.base/java/text/*' -d "$STATE/src/jdk.part" && mv "$STATE/src/jdk.part" "$STATE/src/jdk"
  fi
  [ -f "$D/plans-v6.jsonl" ] || { $PY -m trainer.data.chat_tasks "$D/plans-v6.jsonl.part" x \
    --tokenizer-from "$BASE" --plans 1560 --seed 6 --repo-map && mv "$D/plans-v6.jsonl.part" "$D/plans-v6.jsonl"; }
  [ -f "$D/test-fix-e.jsonl" ] || { $PY -m trainer.data.test_fix_tasks "$D/test-fix-e.jsonl.part" \
    --n 1000 --seed 8 --tokenizer-from "$BASE" && mv "$D/test-fix-e.jsonl.part" "$D/test-fix-e.jsonl"; }
  jdk=(); [ -d "$STATE/src/jdk" ] && jdk=("$STATE/src/jdk")
  records "$D/short-v6.jsonl" 10 14000 "$STD" "${js[@]}" ${GOSRC:+"$GOSRC"} ${RUSTSRC:+"$RUSTSRC"} "${jdk[@]}"
  E_MIX=plan=900,python:test_fix=450,javascript:test_fix=200,python=650,javascript=350,go=300
  E_MIX=$E_MIX,rust=200,java=200,python:rename=150,javascript:rename=100,go:rename=60
  E_MIX=$E_MIX,rust:rename=40,java:rename=40,python:add_param=80,javascript:add_param=60
  [ -f "$D/train-v6.jsonl" ] || $PY -m trainer.data.mix "$D/train-v6.jsonl" "$D/plans-v6.jsonl" \
    "$D/test-fix-e.jsonl" "$D/short-v6.jsonl" --per-language "$E_MIX" --seed 7
  if [ "$FROM_STAGE" = E ]; then E_INIT=$START; else E_INIT=$RUN_D/checkpoint.pt; fi
  E="$STATE/runs/v6-t16"
  tune "$E" "$E_INIT" "$D/train-v6.jsonl" --lr 5e-5 --warmup 5 --steps "$E_STEPS" \
    --stop-at "$E_STOP" --seed 7 --max-tokens 900
  [ "$(step_of "$E/checkpoint.pt")" -ge "$E_STOP" ] || { echo "stage E stopped early: run again"; exit 0; }
  FINAL=$E/checkpoint.pt; NAME=v6
fi

GGUF="$STATE/hrm-code-$NAME-q8_0.gguf"
[ -f "$GGUF" ] || hrm convert "$FINAL" "$GGUF" --type q8_0 --verify
hrm bench edits --model "$GGUF" --json > "$STATE/edits-$NAME.json" || true
tail -n 1 "$STATE/edits-$NAME.json"
if [ "${SHIP:-0}" = 1 ]; then
  cp "$GGUF" hrmcli/weights/hrm-code-135m-q8_0.gguf
  echo "bundled: hrmcli/weights/hrm-code-135m-q8_0.gguf"
fi
