"""Trainer: batching labels, curriculum, schedules, QAT numerics, checkpoints, overfitting,
exact resume and greedy decoding through the edit engine."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hrmcli import prompt_format as pf
from hrmcli.runtime.model import HRMCode, HRMConfig
from hrmcli.runtime.quant import dequantize_q4_0, quantize_q4_0
from trainer import checkpoint as ckpt
from trainer.batching import (
    IGNORE,
    SpecialIds,
    TokenStream,
    TrainData,
    collate,
    encode_example,
    lm_row,
)
from trainer.curriculum import CURRICULUM, mixture, stage_at
from trainer.evaluate import apply_answer, edit_metrics, greedy_generate, prompt_files
from trainer.qat import clean_state_dict, enable_qat
from trainer.tokenizer import Tokenizer
from trainer.train import TrainArgs, TrainError, grad_window_at, lr_at, train

STDLIB = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
CODE = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
FIXED = CODE.replace("a * b", "a * b * 1")


@pytest.fixture(autouse=True)
def one_thread():
    """The CI box has 2 shared cores: one intra-op thread is ~5x faster under contention."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    texts = [(STDLIB / n).read_text() for n in ("bisect.py", "heapq.py", "textwrap.py")]
    return Tokenizer.train(texts + [CODE], vocab_size=600)


@pytest.fixture(scope="module")
def sp(tok) -> SpecialIds:
    return SpecialIds.from_tokenizer(tok)


def edit_example() -> dict:
    answer = ("m.py\n<<<<<<< SEARCH\n    return a * b\n=======\n    return a * b * 1\n"
              ">>>>>>> REPLACE\n")
    return {"prompt": pf.edit_prompt([("m.py", CODE)], "make mul multiply by one too"),
            "answer": answer + pf.EOS, "kind": "edit", "lang": "python", "halt": None}


def plan_example() -> dict:
    steps = [("git_branch", "fix/x"), ("edit", "m.py"), ("run_tests", "")]
    return {"prompt": pf.plan_prompt("fix the bug on a new branch"),
            "answer": pf.render_plan(steps) + pf.EOS, "kind": "plan", "lang": "", "halt": None}


def repair_example(halt: int) -> dict:
    first = "m.py\n<<<<<<< SEARCH\n    return a * b\n=======\n    return a + b\n>>>>>>> REPLACE\n"
    answer = (first + pf.obs_block("FAILED test_mul") + pf.ASSISTANT + "m.py\n<<<<<<< SEARCH\n"
              "    return a + b\n=======\n    return a * b\n>>>>>>> REPLACE\n" + pf.EOS)
    return {"prompt": pf.edit_prompt([("m.py", CODE)], "fix mul"), "answer": answer,
            "kind": "repair", "lang": "python", "halt": halt}


# -- batching -------------------------------------------------------------------------------

def test_edit_example_scores_only_answer_tokens(tok, sp):
    ex = edit_example()
    row = encode_example(tok, ex, sp)
    n_prompt = len(tok.encode(ex["prompt"]))
    scored = np.flatnonzero(row.targets != IGNORE)
    # Position t scores token t+1: the first answer token is predicted at the last prompt token.
    assert scored[0] == n_prompt - 1 and scored[-1] == len(row.inputs) - 1
    assert len(scored) == len(tok.encode(ex["answer"]))
    assert tok.decode(row.targets[scored].tolist()) == ex["answer"]
    # The prompt's file and user blocks are bidirectional prefix blocks; the answer is causal.
    assert (row.block[:n_prompt - 1] >= 0).all() and (row.block[n_prompt - 1:] == -1).all()
    assert (row.plan == IGNORE).all() and (row.halt == IGNORE).all()


def test_eos_is_appended_when_the_answer_lacks_it(tok, sp):
    ex = edit_example() | {"answer": edit_example()["answer"].removesuffix(pf.EOS)}
    row = encode_example(tok, ex, sp)
    assert row.targets[-1] == sp.eos


def test_plan_labels_sit_where_the_next_token_is_a_tool(tok, sp):
    row = encode_example(tok, plan_example(), sp)
    where = np.flatnonzero(row.plan != IGNORE)
    assert [pf.TOOLS[i] for i in row.plan[where]] == ["git_branch", "edit", "run_tests"]
    assert all(row.targets[t] == tok.encode(pf.tool_token(pf.TOOLS[row.plan[t]]))[0]
               for t in where)


@pytest.mark.parametrize("halt", [0, 1])
def test_repair_turns_get_halt_labels_and_observations_are_not_scored(tok, sp, halt):
    ex = repair_example(halt)
    row = encode_example(tok, ex, sp)
    labelled = np.flatnonzero(row.halt != IGNORE)
    assert len(labelled) == 2  # one per assistant turn
    assert row.halt[labelled].tolist() == [0.0, float(halt)]
    obs_id, eos = tok.encode(pf.OBS)[0], sp.eos
    # Each label sits on a turn's last token: the next token opens the observation / is EOS.
    assert tok.decode(row.inputs[labelled[0] + 1:labelled[0] + 2].tolist()) == pf.OBS
    assert row.targets[labelled[1]] == eos
    # The observation (test output) comes from a tool, not the model: unscored.
    obs_at = int(np.flatnonzero(row.inputs == obs_id)[0])
    end_obs = int(np.flatnonzero(row.inputs == tok.encode(pf.END_OBS)[0])[0])
    assert (row.targets[obs_at - 1:end_obs] == IGNORE).all()
    assert row.targets[end_obs] != IGNORE  # the <|assistant|> that resumes is predicted


def test_repair_record_with_the_failed_turn_in_the_prompt_labels_both_turn_ends(tok, sp):
    """trainer.data.repair_tasks puts the failed first attempt in the prompt."""
    ex = repair_example(1)
    first, _, rest = ex["answer"].partition(pf.OBS)
    obs, _, second = rest.partition(pf.END_OBS)
    prompt = ex["prompt"] + first + pf.EOS + pf.OBS + obs + pf.END_OBS + pf.ASSISTANT
    rec = ex | {"prompt": prompt, "answer": second.removeprefix(pf.ASSISTANT)}
    row = encode_example(tok, rec, sp)
    labelled = np.flatnonzero(row.halt != IGNORE)
    assert row.halt[labelled].tolist() == [0.0, 1.0]
    assert row.targets[labelled[1]] == sp.eos
    assert tok.decode(row.inputs[labelled[0] + 1:labelled[0] + 2].tolist()) == pf.EOS
    # Only the corrected second turn is trained as text.
    assert tok.decode(row.targets[row.targets != IGNORE].tolist()) == rec["answer"]


def test_collate_pads_without_scoring_and_uses_fast_path_for_pure_lm(tok, sp):
    a = encode_example(tok, edit_example(), sp)
    b = lm_row(np.arange(10, 31), sp, "python")
    batch = collate([a, b], sp, seq_len=len(a.inputs) + 5)
    assert batch.block is not None and batch.n_scored == int((a.targets != IGNORE).sum()) + 20
    assert (batch.inputs[1, 20:] == sp.pad).all() and (batch.targets[1, 20:] == IGNORE).all()
    assert collate([b, b], sp, 20).block is None
    with pytest.raises(ValueError, match="longer than seq_len"):
        collate([a], sp, 8)


def test_token_stream_attributes_languages_by_document():
    s = TokenStream(np.arange(10), np.array([0, 4, 7]), ["python", "go", "rust"])
    assert [s.lang_at(i) for i in (0, 3, 4, 6, 9)] == ["python", "python", "go", "go", "rust"]
    assert [len(d) for _, d in s.documents()] == [4, 3, 3]


# -- schedules and curriculum ---------------------------------------------------------------

def test_curriculum_moves_from_code_to_tool_use_and_renormalises():
    assert stage_at(0, 100) is CURRICULUM[0] and stage_at(99, 100) is CURRICULUM[-1]
    early = mixture(0, 100, {"lm", "edit", "plan", "repair"})
    late = mixture(99, 100, {"lm", "edit", "plan", "repair"})
    assert early["lm"] > late["lm"] and late.get("plan", 0) > early.get("plan", 0)
    only_lm = mixture(99, 100, {"lm"})
    assert only_lm == {"lm": 1.0}
    assert mixture(0, 100, {"plan"}) == {"plan": 1.0}  # stage names none: uniform fallback
    with pytest.raises(ValueError, match="no training data"):
        mixture(0, 10, set())


def test_grad_window_grows_from_two_to_five_over_the_first_fifth():
    calls = 6  # (2, 2) cycles: L L H L L H
    assert grad_window_at("auto", 0, 100, calls) == 2
    assert grad_window_at("auto", 10, 100, calls) in (3, 4)
    assert grad_window_at("auto", 20, 100, calls) == 5
    assert grad_window_at("auto", 99, 100, calls) == 5
    assert grad_window_at("full", 0, 100, calls) is None
    assert grad_window_at("3", 50, 100, calls) == 3
    assert grad_window_at("auto", 0, 100, 1) is None  # transformers: one call, full backprop
    with pytest.raises(TrainError, match="grad-window"):
        grad_window_at("zero", 0, 10, calls)


def test_lr_warms_up_then_decays_to_the_floor():
    a = TrainArgs(steps=100, warmup=10, min_lr_frac=0.1)
    f = [lr_at(s, a) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(x >= y for x, y in zip(f[10:], f[11:], strict=False))
    assert f[-1] == pytest.approx(0.1, abs=1e-3)


# -- QAT ------------------------------------------------------------------------------------

SMALL = HRMConfig(vocab_size=64, d_model=64, n_heads=2, n_kv_heads=2, h_layers=1, l_layers=1,
                  max_seq_len=32)


def test_qat_forward_equals_real_q4_0_dequantisation():
    torch.manual_seed(0)
    model = HRMCode(SMALL)
    ref = HRMCode(SMALL)
    ref.load_state_dict(model.state_dict())
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, torch.nn.Linear):
                m.weight.copy_(dequantize_q4_0(*quantize_q4_0(m.weight)))
    n = enable_qat(model, "q4_0")
    assert n == sum(isinstance(m, torch.nn.Linear) for m in ref.modules())
    x = torch.randint(0, 64, (2, 12))
    assert torch.equal(model(x).logits, ref(x).logits)
    # Embeddings and norms stay full precision; the optimizer still sees fp32 originals.
    assert torch.equal(model.embed.weight, ref.embed.weight)
    model(x).logits.sum().backward()
    orig = model.h.layers[0].attn.wq.parametrizations.weight.original
    assert orig.grad is not None and orig.grad.abs().sum() > 0  # straight-through
    assert set(clean_state_dict(model.state_dict())) == set(ref.state_dict())


def test_qat_changes_the_forward_and_rejects_unknown_types():
    torch.manual_seed(0)
    model = HRMCode(SMALL)
    x = torch.randint(0, 64, (1, 8))
    before = model(x).logits
    enable_qat(model, "q8_0")
    after = model(x).logits
    assert not torch.equal(before, after) and (before - after).abs().max() < 0.5
    with pytest.raises(ValueError, match="unknown quantisation"):
        enable_qat(HRMCode(SMALL), "q3_k")


# -- checkpoints ----------------------------------------------------------------------------

def test_checkpoint_is_atomic_and_corruption_is_reported(tmp_path):
    path = tmp_path / "checkpoint.pt"
    ckpt.save_checkpoint(path, {"model": {"w": torch.ones(3)}, "step": 1})
    assert ckpt.load_checkpoint(tmp_path)["step"] == 1
    with pytest.raises(Exception):  # noqa: B017 - an unpicklable payload fails mid-write
        ckpt.save_checkpoint(path, {"model": {}, "step": 2, "bad": lambda: 0})
    assert ckpt.load_checkpoint(path)["step"] == 1  # the old file survived
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp left behind
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ckpt.CheckpointError, match="truncated or not a checkpoint"):
        ckpt.load_checkpoint(path)
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint"):
        ckpt.load_checkpoint(tmp_path / "nope")


def test_rng_state_round_trips():
    import random

    state = ckpt.rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())
    ckpt.set_rng_state(state)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


# -- training -------------------------------------------------------------------------------

def _data(tok, examples: list[dict], lm: bool = True) -> TrainData:
    ids = np.asarray(tok.encode((STDLIB / "bisect.py").read_text()), dtype=np.int64)
    stream = TokenStream(ids, np.array([0]), ["python"]) if lm else None
    by_kind: dict[str, list] = {}
    for ex in examples:
        by_kind.setdefault(ex["kind"], []).append(ex)
    return TrainData(tok, "tok.json", stream, stream, by_kind, examples, corpus="test")


NARROW = {"d_model": 64, "n_heads": 2, "n_kv_heads": 2}  # tiny's depth and cycles, narrower


def _args(tmp_path: Path, **kw) -> TrainArgs:
    base = TrainArgs(preset="tiny", out=str(tmp_path / "run"), steps=6, batch_size=4,
                     seq_len=112, lr=3e-3, device="cpu", progress=False, eval_batches=1,
                     log_every=1, save_every=0, model_overrides=NARROW)
    return replace(base, **kw)


def test_tiny_model_overfits_one_edit_and_decodes_it_through_the_edit_engine(tmp_path, tok, sp):
    ex = edit_example()
    data = _data(tok, [ex], lm=False)
    r = train(_args(tmp_path, steps=60, lr=2e-3, warmup=5), data)
    assert r["initial_loss"] > 4 and r["final_loss"] < 0.1, r
    model, _ = ckpt.load_model(r["checkpoint"], use_ema=False)
    prompt = tok.encode(ex["prompt"])
    out = greedy_generate(model, prompt, sp, max_new=60)
    assert tok.decode(out) == ex["answer"].removesuffix(pf.EOS)
    m = edit_metrics(model, tok, [ex], sp, max_new=60)
    assert m == {"tasks": 1, "skipped": 0, "apply_rate": 1.0, "exact_match": 1.0}


def test_resume_after_interruption_reproduces_the_uninterrupted_run(tmp_path, tok):
    data = _data(tok, [edit_example(), plan_example(), repair_example(1)])
    full = train(_args(tmp_path / "a"), data)
    part = train(_args(tmp_path / "b", stop_after=3), data)
    assert part["step"] == 3 and part["stopped_early"]
    with pytest.raises(TrainError, match="pass --resume"):
        train(_args(tmp_path / "b"), data)
    resumed = train(_args(tmp_path / "b", resume=True), data)
    a, b = ckpt.load_checkpoint(full["checkpoint"]), ckpt.load_checkpoint(resumed["checkpoint"])
    assert a["step"] == b["step"] == 6
    for key in ("model", "ema"):
        assert a[key].keys() == b[key].keys()
        for k in a[key]:
            assert torch.equal(a[key][k], b[key][k]), (key, k)
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    assert a["metrics"]["initial_loss"] == b["metrics"]["initial_loss"]
    assert b["provenance"]["tokens_seen"] == 6 * 4 * 112 and b["provenance"]["corpus"] == "test"
    assert resumed["final_loss"] == full["final_loss"]


def test_qat_training_checkpoints_plain_weight_names(tmp_path, tok):
    r = train(_args(tmp_path, steps=2, qat="q4_0"), _data(tok, [edit_example()]))
    sd = ckpt.load_checkpoint(r["checkpoint"])["model"]
    assert "h.layers.0.attn.wq.weight" in sd and not any("parametrizations" in k for k in sd)
    model, _ = ckpt.load_model(r["checkpoint"])
    assert model.cfg.vocab_size == tok.vocab_size


@pytest.mark.parametrize("arch,layers", [("transformer-params", 4), ("transformer-flops", 12)])
def test_baselines_train_from_the_same_data(tmp_path, tok, arch, layers):
    r = train(_args(tmp_path, steps=2, arch=arch, seq_len=64), _data(tok, [], lm=True))
    model, ck = ckpt.load_model(r["checkpoint"])
    assert model.l is None and len(model.h.layers) == layers and ck["provenance"]["arch"] == arch
    assert np.isfinite(r["heldout_loss"])


def test_apply_answer_uses_the_prompt_files_and_rejects_bad_edits():
    ex = edit_example()
    assert prompt_files(ex["prompt"]) == [("m.py", CODE)]
    assert apply_answer(prompt_files(ex["prompt"]), ex["answer"]) == {"m.py": FIXED}
    wrong = ex["answer"].replace("return a * b\n=", "return a - b\n=")
    assert apply_answer(prompt_files(ex["prompt"]), wrong) is None
    assert apply_answer(prompt_files(ex["prompt"]), "no edits here") is None


def test_init_from_fine_tunes_from_the_checkpoint_ema_with_a_fixed_mix(tmp_path, tok):
    data = _data(tok, [edit_example(), plan_example()])
    first = train(_args(tmp_path / "a", steps=3), data)
    start = ckpt.load_checkpoint(first["checkpoint"])["ema"]
    # lr 0 for the whole fine-tune: its weights must still be the initial checkpoint's EMA.
    ft = train(_args(tmp_path / "b", steps=2, lr=1e-12, min_lr_frac=1.0,
                     init_from=first["checkpoint"], mix="edit=1"), data)
    after = ckpt.load_checkpoint(ft["checkpoint"])
    for k, v in start.items():
        assert torch.allclose(after["model"][k], v, atol=1e-6), k
    assert after["provenance"]["init_from"] == first["checkpoint"]
    assert after["provenance"]["mix"] == "edit=1"


def test_mix_is_validated():
    from trainer.train import parse_mix

    assert parse_mix("edit=0.7, lm=0.3") == {"edit": 0.7, "lm": 0.3}
    assert parse_mix("") == {}
    for bad in ("edit", "code=1", "edit=-1"):
        with pytest.raises(TrainError, match="--mix"):
            parse_mix(bad)


def test_bits_per_byte_covers_every_language_within_max_docs(tok):
    from hrmcli.runtime.model import HRMCode, HRMConfig
    from trainer.evaluate import bits_per_byte

    docs = [("python", "def f(x):\n    return x\n"), ("python", "import os\nprint(os.sep)\n"),
            ("go", "package main\n\nfunc f() int { return 1 }\n")]
    ids, starts, langs = [], [], []
    for lang, text in docs:
        starts.append(len(ids))
        langs.append(lang)
        ids += tok.encode(text) + [tok.eos_id]
    stream = TokenStream(np.asarray(ids, dtype=np.int64), np.asarray(starts), langs)
    model = HRMCode(HRMConfig(vocab_size=tok.vocab_size, d_model=32, n_heads=2, n_kv_heads=2,
                              h_layers=1, l_layers=1, max_seq_len=64))
    got = bits_per_byte(model, tok, stream, seq_len=32, max_docs=2)
    assert set(got) == {"go", "python"}
    assert all(v["bytes"] > 0 and v["bits_per_byte"] > 0 for v in got.values())
