#!/usr/bin/env bash
# Reproduce the bundled HRM-Code weights from scratch (what `make weights` runs).
#
#   trainer/recipes/weights.sh [WORK_DIR]
#
# 1. corpus from package registries (trainer/recipes/corpus.sh), 2. tokenizer, shards and
# edit / tool-plan / repair tasks, 3. HRM-Code tiny with Q4_0 quantisation-aware training,
# 4. both transformer baselines at equal training compute, 5. an edit-format fine-tune of
# the HRM model, 6. evaluation,
# 7. Q4_0 GGUF into hrmcli/weights/. Environment knobs (defaults are what shipped):
#   STEPS=250 FT_STEPS=360 FT_STOP=360 SEQ_LEN=1024 BATCH=4 THREADS=1 SEED=0
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mkdir -p "${1:-$ROOT/work-data}" && cd "${1:-$ROOT/work-data}" && pwd)
STEPS=${STEPS:-250}; FT_STEPS=${FT_STEPS:-360}; FT_STOP=${FT_STOP:-360}
SEQ_LEN=${SEQ_LEN:-1024}; BATCH=${BATCH:-4}; SEED=${SEED:-0}
export OMP_NUM_THREADS=${THREADS:-1}
cd "$ROOT"

[ -f "$WORK/corpus/corpus_report.json" ] || bash trainer/recipes/corpus.sh "$WORK/corpus"
python -m trainer.data.build "$WORK/corpus" "$WORK/data" --vocab-size 8192 --seed "$SEED" \
  --plans 4000 --max-task-file-chars 2400 \
  --repair tests/fixtures/code/repair/pystats --repair tests/fixtures/code/repair/pytext \
  --repair tests/fixtures/code/repair/jsrange > "$WORK/data.json"

common=(--preset tiny --data-dir "$WORK/data" --seq-len "$SEQ_LEN" --batch-size "$BATCH"
        --seed "$SEED" --no-progress --json --save-every 50)
resume() { [ -f "$1/checkpoint.pt" ] && echo --resume || true; }
python -m trainer.recipes.compute --preset tiny --seq-len "$SEQ_LEN" --steps "$STEPS" \
  > "$WORK/compute.json"
tp=$(python -m trainer.recipes.compute --seq-len "$SEQ_LEN" --steps "$STEPS" --only transformer-params)
tf=$(python -m trainer.recipes.compute --seq-len "$SEQ_LEN" --steps "$STEPS" --only transformer-flops)

# The shipped model (HRM-Code with Q4_0 QAT) and both baselines at equal training compute
# run side by side, one thread each. QAT's extra work is not credited to HRM.
hrm train "${common[@]}" --out "$WORK/runs/hrm-qat" --steps "$STEPS" --qat q4_0 \
  $(resume "$WORK/runs/hrm-qat") > "$WORK/train-hrm-qat.json" &
hrm train "${common[@]}" --out "$WORK/runs/tp" --steps "$tp" --arch transformer-params \
  $(resume "$WORK/runs/tp") > "$WORK/train-tp.json" &
hrm train "${common[@]}" --out "$WORK/runs/tf" --steps "$tf" --arch transformer-flops \
  $(resume "$WORK/runs/tf") > "$WORK/train-tf.json" &
wait

# Fine-tune the shipped model on the edit format (QAT still on). The shipped weights are the
# checkpoint at FT_STOP of a FT_STEPS schedule (the session's time ran out there).
OMP_NUM_THREADS=2 hrm train --preset tiny --data-dir "$WORK/data" --seq-len "$SEQ_LEN" \
  --batch-size "$BATCH" --seed 1 --no-progress --json --save-every 40 --out "$WORK/runs/hrm-ft" \
  --steps "$FT_STEPS" --stop-after "$FT_STOP" --qat q4_0 --init-from "$WORK/runs/hrm-qat" \
  --mix edit=0.75,lm=0.1,plan=0.1,repair=0.05 $(resume "$WORK/runs/hrm-ft") > "$WORK/train-hrm-ft.json"

for run in hrm-qat tp tf hrm-ft; do
  hrm eval "$WORK/runs/$run" --json --max-tasks 20 --max-new 150 --max-docs "$([ $run = hrm-ft ] && echo 48 || echo 200)" > "$WORK/eval-$run.json"
done

mkdir -p hrmcli/weights
for t in f32 q8_0 q4_0; do
  hrm convert "$WORK/runs/hrm-ft" "$WORK/hrm-code-tiny-$t.gguf" --type "$t" --verify
done
python -m converters.quant_report --data "$WORK/data" "$WORK"/hrm-code-tiny-{f32,q8_0,q4_0}.gguf \
  > "$WORK/quant.json"
cp "$WORK/hrm-code-tiny-q4_0.gguf" hrmcli/weights/hrm-code-tiny-q4_0.gguf
echo "bundled: hrmcli/weights/hrm-code-tiny-q4_0.gguf (reports in $WORK)"
