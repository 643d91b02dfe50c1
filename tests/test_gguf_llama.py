"""Transformer baselines as llama-architecture GGUF: llama.cpp loads them, its logits match
our torch model (RoPE row permutation), and it generates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.speed import code_corpus, random_checkpoint
from converters.llama_export import export_llama
from hrmcli.runtime.model import HRMCode, HRMConfig
from trainer.tokenizer import Tokenizer

llama_cpp = pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.llama

CFG = HRMConfig(d_model=64, n_heads=2, n_kv_heads=1, h_layers=1, l_layers=1,
                max_seq_len=128).same_flops_transformer()
# Measured: F32 max |diff| 1.2e-3 (llama.cpp keeps its KV cache in f16), logits up to ~4.
TOL = {"f32": 5e-3, "q8_0": 0.15}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tok = Tokenizer.train(code_corpus(150_000), 400)
    ck = random_checkpoint(CFG, tok.to_gguf_fields(), seed=2)
    model = HRMCode(ck.cfg).eval()
    model.load_state_dict(ck.state)
    return tok, ck, model, tmp_path_factory.mktemp("llama")


@pytest.mark.parametrize("qtype", ["f32", "q8_0"])
def test_llama_logits_match_torch(setup, qtype):
    tok, ck, model, d = setup
    path = d / f"{qtype}.gguf"
    export_llama(ck, path, qtype)
    llm = llama_cpp.Llama(str(path), n_ctx=128, n_threads=2, logits_all=True, verbose=False)
    ids = torch.randint(0, ck.cfg.vocab_size, (1, 40), generator=torch.Generator().manual_seed(0))
    llm.eval(ids[0].tolist())
    got = np.array(llm.scores[:40])
    with torch.no_grad():
        want = model(ids).logits[0].numpy()
    assert np.abs(got - want).max() < TOL[qtype]


def test_llama_tokenizes_like_us_and_generates(setup):
    tok, ck, model, d = setup
    path = d / "q4_0.gguf"
    export_llama(ck, path, "q4_0")
    llm = llama_cpp.Llama(str(path), n_ctx=128, n_threads=2, verbose=False)
    text = "def add(a, b):\n    return a + b\n"
    assert llm.tokenize(text.encode(), add_bos=False, special=False) == tok.encode(text)
    out = llm.create_completion("def f(", max_tokens=8, temperature=0)
    assert out["usage"]["completion_tokens"] >= 1
    assert isinstance(out["choices"][0]["text"], str)
