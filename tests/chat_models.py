"""Small real models with SmolLM2's own chat vocabulary, for the tests of the plan and halt
heads (tuning, the plan turn of `hrm run`, the halt check of the agent loop).

The vocabulary is the real one (read from the SmolLM2-135M-Instruct GGUF), so ChatML, the
digit-splitting pre-tokenizer and <|im_end|> behave as in the shipped model; the layers are
a tiny random llama written by our own exporter and retrofitted like the real base, so
tuning a few steps takes seconds on a busy 2-core CPU.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bench.speed import random_checkpoint
from converters.llama_export import export_llama
from converters.retrofit import retrofit, save
from hrmcli.agent.planner import format_steps
from hrmcli.agent.prompts import HRM_STYLE, IM_END, edit_messages, plan_messages, render_chatml
from hrmcli.runtime.gguf_load import load_tokenizer
from hrmcli.runtime.model import HRMConfig

TINY = HRMConfig(d_model=64, n_heads=4, n_kv_heads=2, h_layers=2, l_layers=0, h_cycles=1,
                 l_cycles=0, max_seq_len=512, rope_base=100000.0).transformer(2)


def tiny_chat_llama(base_gguf: Path, out: Path, seed: int = 0) -> Path:
    """A 2-layer random llama GGUF (F32, tied embeddings) with the base file's tokenizer;
    made once per test session (`out` is reused when it exists)."""
    if out.is_file():
        return out
    fields = load_tokenizer(base_gguf).gguf_fields
    ck = random_checkpoint(replace(TINY, tie_embeddings=True), fields, seed=seed)
    # Embeddings at a pretrained model's scale: HRMCode's unit-RMS init, tied to the head,
    # gives logits of std 8 and an LM loss near 47 whose gradients drown the heads' at first.
    ck.state["embed.weight"] = ck.state["embed.weight"] * 0.05
    ck.state["lm_head.weight"] = ck.state["embed.weight"]
    export_llama(ck, out, "f32")
    return out


def retrofit_checkpoint(llama_gguf: Path, out: Path, max_seq_len: int = 512) -> Path:
    """The tuner's --init: the retrofit (identity layout) of a llama GGUF."""
    save(retrofit(llama_gguf, max_seq_len=max_seq_len), out)
    return out


def edit_record() -> dict:
    """One ChatML edit record as trainer.data.chat_tasks writes them."""
    msgs = edit_messages([("cfg.py", "RETRIES = 3\n")], "set RETRIES to 5", style=HRM_STYLE)
    answer = "cfg.py\n<<<<<<< SEARCH\nRETRIES = 3\n=======\nRETRIES = 5\n>>>>>>> REPLACE\n"
    return {"prompt": render_chatml(msgs), "answer": answer + IM_END, "kind": "literal"}


def write_records(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def plan_record(request: str, steps: list[tuple[str, str]], context: str = "") -> dict:
    """A plan record laid out as trainer.data.chat_tasks.plan_records writes them (its
    scenarios run real tools to capture their contexts: too slow for a test's setup)."""
    return {"prompt": render_chatml(plan_messages(request, context)),
            "answer": "\n".join(format_steps(steps)) + "\n" + IM_END, "kind": "plan"}


# What `hrm run "run the tests"` should plan: look first, then test, then stop.
TEST_STEPS = [("git_status", "git status"), ("run_tests", "python -m pytest -q"), ("done", "")]
TEST_REQUESTS = ("run the tests", "Run the tests.", "please run the test suite",
                 "Check that the tests pass.")
PLANS = [plan_record(r, TEST_STEPS) for r in TEST_REQUESTS] + [
    plan_record("Rename total to sum_all in calc.py.",
                [("read", "calc.py"), ("edit", "calc.py"), ("run_tests", "python -m pytest -q"),
                 ("done", "")], context="calc.py:\n  def total(xs)"),
    plan_record('Commit calc.py with the message "Fix add".',
                [("git_add", "git add calc.py"), ("git_commit", 'git commit -m "Fix add"'),
                 ("done", "")]),
]
