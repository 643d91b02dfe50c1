"""`hrm bench speed` end to end on tiny models: real subprocesses, real GGUF files, real
llama.cpp; and the llama GGUF it builds for an identity retrofit holds exactly its bytes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import numpy as np
import pytest
import torch

from bench.speed import (
    code_corpus,
    is_identity,
    llama_available,
    matching_llama,
    random_checkpoint,
)
from converters.gguf_export import export_hrm
from converters.llama_export import export_llama
from converters.retrofit import retrofit
from hrmcli.runtime.model import HRMConfig
from tests.chat_models import tiny_chat_llama
from trainer.tokenizer import Tokenizer

KEYS = ("prefill_tps", "decode_tps", "ttft_s", "peak_rss_mb", "llama_prefill_tps",
        "llama_decode_tps", "llama_ttft_s", "prefill_ratio", "decode_ratio", "repeat")


@pytest.fixture(autouse=True)
def _own_home(tmp_path, monkeypatch):
    """Runs record to the history store under HRM_HOME: a temp dir, never the user's (the
    subprocesses inherit it)."""
    monkeypatch.setenv("HRM_HOME", str(tmp_path / "hrm-home"))


def _bench(model, tmp_path, *extra: str) -> dict:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), HRM_HOME=str(tmp_path / "h"))
    r = subprocess.run([sys.executable, "-m", "hrmcli", "bench", "speed", "--model", str(model),
                        "--prompt-tokens", "16", "--gen-tokens", "4", "--threads", "1", "--json",
                        *extra], capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_bench_speed_json(tmp_path):
    """Two interleaved rounds: every key the issue names, medians over the rounds, each ratio
    the median of the per-round ratios, and a time to first token that includes the prefill."""
    tok = Tokenizer.train(code_corpus(100_000), 300)
    cfg = HRMConfig(d_model=64, n_heads=2, n_kv_heads=1, h_layers=1, l_layers=1, max_seq_len=64)
    model = tmp_path / "m.gguf"
    export_hrm(random_checkpoint(cfg, tok.to_gguf_fields()), model, "q4_0")
    res = _bench(model, tmp_path, "--repeat", "2", "--kv", "f16")
    assert res["repeat"] == 2 and len(res["rounds"]) == 2 and res["kv_cache"] == "f16"
    assert abs(res["file_mb"] - model.stat().st_size / 2**20) < 1e-9
    hrm = [r["hrm"] for r in res["rounds"]]
    assert res["decode_tps"] == statistics.median(r["decode_tps"] for r in hrm)
    assert res["peak_rss_mb"] == max(r["peak_rss_mb"] for r in hrm)
    for r in hrm:  # the first token comes after the whole prompt
        assert r["ttft_s"] >= 16 / r["prefill_tps"] - 1e-9
    if not llama_available():
        return
    for k in KEYS:
        assert k in res and res[k] > 0, k
    assert "same-FLOP transformer" in res["note"]  # not an identity retrofit: no same weights
    ratios = [r["hrm"]["decode_tps"] / r["llama"]["decode_tps"] for r in res["rounds"]]
    assert abs(res["decode_ratio"] - statistics.median(ratios)) < 1e-9


def test_bench_speed_bad_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"garbage" * 100)
    r = subprocess.run([sys.executable, "-m", "hrmcli", "bench", "speed", "--model", str(bad)],
                       capture_output=True, text=True,
                       env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "c")))
    assert r.returncode == 1 and "corrupt or truncated" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def identity(smollm2_gguf, tmp_path_factory):
    """A tiny identity retrofit with SmolLM2's vocabulary: its Q4_0 hrm-code GGUF and the
    llama GGUF our own exporter writes from the same checkpoint."""
    d = tmp_path_factory.mktemp("identity")
    ck = retrofit(tiny_chat_llama(smollm2_gguf, d / "base.gguf"))
    assert is_identity(ck.cfg)
    export_hrm(ck, d / "hrm.gguf", "q4_0", embed_qtype="q8_0")
    export_llama(ck, d / "llama.gguf", "q4_0", embed_qtype="q8_0")
    return d


def test_matching_llama_copies_the_same_bytes(identity, tmp_path):
    """Built from the hrm-code file alone (no checkpoint, no re-quantisation), the llama file
    holds exactly what the exporter writes from the checkpoint: same names, types, shapes and
    bytes (Q and K rows reordered for llama.cpp's RoPE, the embedding kept at Q8_0)."""
    import gguf

    out = matching_llama(identity / "hrm.gguf", tmp_path)
    assert matching_llama(identity / "hrm.gguf", tmp_path) == out  # cached
    ours = {t.name: t for t in gguf.GGUFReader(str(out)).tensors}
    ref = {t.name: t for t in gguf.GGUFReader(str(identity / "llama.gguf")).tensors}
    assert sorted(ours) == sorted(ref)
    for name, t in ref.items():
        assert ours[name].tensor_type == t.tensor_type, name
        assert list(ours[name].shape) == list(t.shape), name
        assert np.array_equal(np.asarray(ours[name].data), np.asarray(t.data)), name
    md = gguf.GGUFReader(str(out)).fields
    assert md["general.architecture"].contents() == "llama"


@pytest.mark.skipif(not llama_available(), reason="needs llama-cpp-python")
def test_llama_cpp_on_the_copy_computes_what_our_runtime_does(identity, tmp_path):
    """The point of the copy: llama.cpp and our runtime run the same function, so the speed
    ratio compares like with like. Same next-token choices on real text, logits close (both
    quantise activations to Q8_0, in other orders; llama.cpp keeps an f16 KV cache)."""
    import llama_cpp

    from hrmcli.runtime.gguf_load import load

    loaded = load(identity / "hrm.gguf")
    ids = loaded.tokenizer.encode("def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n")
    with torch.inference_mode():
        ours = loaded.model(torch.tensor([ids])).logits[0]
    llm = llama_cpp.Llama(str(matching_llama(identity / "hrm.gguf", tmp_path)), n_ctx=128,
                          n_threads=1, logits_all=True, verbose=False)
    llm.eval(ids)
    theirs = torch.tensor(np.array(llm.scores[:len(ids)]))
    assert torch.equal(ours.argmax(-1), theirs.argmax(-1))
    diff = (ours - theirs).abs()
    assert float(diff.max()) < 0.05 * float(theirs.abs().max())  # measured 2.4%
    assert float(diff.mean()) < 0.02 * float(theirs.abs().mean())


def test_identity_layout_detection():
    base = HRMConfig(retrofit=True, prelude_layers=4, h_layers=0, l_layers=0, h_cycles=1,
                     l_cycles=0)
    assert is_identity(base)
    assert not is_identity(HRMConfig(retrofit=True, prelude_layers=2, h_layers=1, l_layers=1,
                                     h_cycles=1, l_cycles=2))  # a recurrent core
    assert not is_identity(HRMConfig())  # a plain HRM model
