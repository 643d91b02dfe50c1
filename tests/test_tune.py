"""trainer.tune: plan- and halt-head labels on the real SmolLM2 tokenizer, a few real tuning
steps that teach the plan head, and an exact resume after SIGTERM to a real `python -m
trainer.tune` process (tests/chat_models: a tiny random llama with the real vocabulary)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from hrmcli.agent.prompts import IM_END
from hrmcli.prompt_format import TOOLS
from hrmcli.runtime.gguf_load import load_tokenizer
from tests.chat_models import (
    PLANS,
    edit_record,
    retrofit_checkpoint,
    tiny_chat_llama,
    write_records,
)
from trainer import checkpoint as ckpt
from trainer.tune import Records, TuneArgs, load_init, tune, validate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tok(smollm2_gguf):
    return load_tokenizer(smollm2_gguf)


@pytest.fixture(scope="module")
def tiny(smollm2_gguf, tmp_path_factory):
    """(retrofit checkpoint of a tiny chat llama, a records file of plans and one edit)."""
    shared = tmp_path_factory.getbasetemp() / "chat-models"
    shared.mkdir(exist_ok=True)
    d = tmp_path_factory.mktemp("tune")
    llama = tiny_chat_llama(smollm2_gguf, shared / "tiny.gguf")
    init = retrofit_checkpoint(llama, d / "init.pt")
    return init, write_records(d / "records.jsonl", [*PLANS, edit_record()])


def test_a_space_led_tool_never_merges_with_the_step_number(tok):
    """What the label positions rest on: `N.` tokenises alone to the prefix of `N. tool ...`
    (digits split one by one; byte-level BPE does not merge across the space)."""
    for tool in TOOLS:
        for n in (1, 7, 10, 23):
            for before in ("", "1. read a.py\n"):
                head = tok.encode(f"{before}{n}.")
                assert tok.encode(f"{before}{n}. {tool} src/x.py") == head + tok.encode(f" {tool} src/x.py")
                assert tok.encode(f"{before}{n}. {tool}") == head + tok.encode(f" {tool}")


def test_records_label_each_plan_step_and_the_turn_end(tok, tiny):
    _, path = tiny
    recs = Records(str(path), tok, 1024, seed=0)
    end = tok.token_to_id(IM_END)
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    answers = [json.loads(line)["answer"] for line in path.read_text().splitlines()]
    seen_plans = 0
    for i in range(len(recs.items)):
        item = recs.order(0)[i]
        ex = recs.get(i)
        ids = ex.ids[0].tolist()
        if kinds[item] == "plan":
            lines = [ln for ln in answers[item].splitlines() if ln[:1].isdigit()]
            assert len(ex.plan_pos) == len(lines) >= 2
            for k, (pos, tool) in enumerate(zip(ex.plan_pos, ex.plan_tool, strict=True), 1):
                # the position is the `.` of `k.`; the next tokens spell " tool"
                assert tok.decode(ids[:pos + 1]).endswith(f"\n{k}." if k > 1 else "Plan:\n1.")
                spelled = tok.encode(" " + TOOLS[tool])
                assert ids[pos + 1:pos + 1 + len(spelled)] == spelled
                assert lines[k - 1].split(" ")[1] == TOOLS[tool]
                assert ex.labels[0, pos] == spelled[0]  # the LM predicts the same token there
            assert ex.halt_label == [0.0]
            seen_plans += 1
        else:
            assert ex.plan_pos == [] and ex.halt_label == [1.0]
        assert ids[ex.halt_pos[0] + 1] == end == ex.labels[0, ex.halt_pos[0]]
    assert seen_plans == len(PLANS)


def _args(init: Path, data: Path, out: Path, steps: int, **kw) -> TuneArgs:
    base = dict(init=str(init), data=str(data), out=str(out), steps=steps, accum=2, lr=3e-3,
                warmup=1, train_layers=2, max_tokens=512, bf16=False, threads=1,
                save_minutes=100.0, min_lr_frac=1.0)
    return TuneArgs(**{**base, **kw})


def test_a_few_steps_lower_the_plan_loss_and_log_head_accuracy(tiny, tmp_path, tok):
    init, data = tiny
    recs = Records(str(data), tok, 512, seed=0)
    model, _ = load_init(str(init))
    before = validate(model, recs, 7, bf16=False)
    res = tune(_args(init, data, tmp_path / "run", steps=8, plan_weight=2.0, halt_weight=1.0))
    assert res["step"] == 8 and res["data_pos"] == 16
    tuned, _ = load_init(str(tmp_path / "run" / ckpt.CHECKPOINT_NAME))
    after = validate(tuned, recs, 7, bf16=False)
    assert before["val_plan_n"] == after["val_plan_n"] == 19
    assert after["val_plan_loss"] < 0.7 * before["val_plan_loss"], (before, after)
    assert after["val_halt_loss"] < before["val_halt_loss"]
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 8
    assert all(0.0 <= r["plan_acc"] <= 1.0 and r["plan_n"] > 0 for r in log if "plan_n" in r)
    assert sum("halt_acc" in r for r in log) == 8  # every record ends with <|im_end|>


def _log(out: Path) -> list[dict]:
    p = out / "log.jsonl"
    return [json.loads(x) for x in p.read_text().splitlines()] if p.is_file() else []


def test_resume_after_sigterm_continues_at_the_saved_step_and_record(tiny, tmp_path, capsys):
    init, data = tiny
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "trainer.tune", "--init", str(init), "--data", str(data),
           "--out", str(run), "--steps", "500", "--accum", "1", "--lr", "3e-3", "--warmup", "1",
           "--train-layers", "2", "--max-tokens", "512", "--no-bf16", "--threads", "1",
           "--save-minutes", "100", "--min-lr-frac", "1.0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 600
        while len(_log(run)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "(SIGTERM)" in out
    saved = ckpt.load_checkpoint(run / ckpt.CHECKPOINT_NAME)
    k = int(saved["step"])
    assert k == len(_log(run)) >= 3 and int(saved["data_pos"]) == k  # accum 1

    args = _args(init, data, run, steps=k + 2, accum=1)
    res = tune(args)
    assert f"resuming at step {k}" in capsys.readouterr().out
    assert res == {"step": k + 2, "data_pos": k + 2, "stopped": ""}
    # The same run without the interruption: the same records in the same order, the same
    # losses step by step, the same weights at the end.
    straight = tune(replace(args, out=str(tmp_path / "straight")))
    assert straight["step"] == k + 2
    a, b = _log(run), _log(tmp_path / "straight")
    assert [r["tokens"] for r in a] == [r["tokens"] for r in b]
    for ra, rb in zip(a, b, strict=True):
        assert ra["loss"] == pytest.approx(rb["loss"], rel=1e-5, abs=1e-6), (ra, rb)
    wa = ckpt.load_checkpoint(run / ckpt.CHECKPOINT_NAME)["model"]
    wb = ckpt.load_checkpoint(tmp_path / "straight" / ckpt.CHECKPOINT_NAME)["model"]
    assert all(torch.allclose(wa[n], wb[n], atol=1e-6) for n in wa)


def test_change_weights_mark_what_makes_an_edit_an_edit(tok):
    from trainer.tune import change_weights

    answer = ("a.py\n<<<<<<< SEARCH\ndef f(x):\n    return x + 1\n=======\n"
              "def f(x):\n    return x - 1\n>>>>>>> REPLACE\n"
              "a.py\n<<<<<<< SEARCH\nprint('debug')\nkeep = 1\n=======\nkeep = 1\n"
              ">>>>>>> REPLACE\n<|im_end|>")
    ids = tok.encode(answer)
    w = change_weights(tok, answer, ids, 4.0)
    heavy = "".join(tok.decode([t]) for t, x in zip(ids, w, strict=True) if x > 1)
    assert "return x - 1" in heavy  # the changed line
    assert "keep = 1" in heavy  # where the second block's REPLACE parts from its SEARCH
    # where each edit goes: the start of each SEARCH section's first line
    assert "SEARCH" not in heavy and heavy.count("\ndef f") == 1 and "\nprint(" in heavy
    # copied lines stay at 1 past their start
    assert "return x + 1" not in heavy and "'debug')" not in heavy
    assert change_weights(tok, answer, ids, 1.0) == [1.0] * len(ids)
    assert change_weights(tok, "1. run_tests\n<|im_end|>", [1, 2, 3], 4.0) == [1.0] * 3


def test_stop_at_ends_a_run_mid_schedule_and_a_rerun_does_not_step_past_it(tiny, tmp_path):
    """--stop-at N saves after step N with the learning-rate schedule of --steps (how the
    bundled model's first stage was cut short, trainer/recipes/continue.sh)."""
    init, data = tiny
    run = tmp_path / "run"
    cosine = dict(accum=1, min_lr_frac=0.1)  # a schedule whose rates depend on --steps
    res = tune(_args(init, data, run, steps=6, stop_at=2, **cosine))
    assert res["step"] == 2 and res["stopped"] == "--stop-at 2"
    lrs = [r["lr"] for r in _log(run)]
    full = tune(_args(init, data, tmp_path / "full", steps=6, **cosine))
    assert full["step"] == 6 and lrs == [r["lr"] for r in _log(tmp_path / "full")][:2]
    again = tune(_args(init, data, run, steps=6, stop_at=2, **cosine))
    assert again["step"] == 2 and len(_log(run)) == 2
