"""Retrofit: a llama GGUF becomes an HRM-Code checkpoint that computes the source model.

A small random llama GGUF made by our own exporter checks the weights path exactly (F32:
llama.cpp's logits vs ours), every layout at init equals the identity at 1, 2 and 4
cycles, and the retrofit runs in our runtime from an hrm-code GGUF. The real
SmolLM2-135M-Instruct file (tests/helpers: fetched once into the cache) checks the
tokenizer and greedy decoding against llama.cpp on the same file.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from converters.gguf_export import export_hrm
from converters.llama_export import export_llama
from converters.retrofit import ConvertError, parse_layout, retrofit
from hrmcli.runtime.model import HRMCode
from trainer.tokenizer import Tokenizer

llama_cpp = pytest.importorskip("llama_cpp")

def _model(ck) -> HRMCode:
    m = HRMCode(ck.cfg).eval()
    m.load_state_dict(ck.state)
    return m


def _ids(n: int, vocab: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, vocab, (1, n), generator=torch.Generator().manual_seed(seed))


def test_identity_matches_llama_cpp_exactly(tiny_llama):
    path, _ = tiny_llama
    ck = retrofit(path)
    assert ck.cfg.retrofit and ck.cfg.tie_embeddings and ck.cfg.prelude_layers == 6
    ids = _ids(40, ck.cfg.vocab_size)
    llm = llama_cpp.Llama(str(path), n_ctx=128, n_threads=2, logits_all=True, verbose=False)
    llm.eval(ids[0].tolist())
    theirs = np.array(llm.scores[:40])
    with torch.no_grad():
        ours = _model(ck)(ids).logits[0].numpy()
    # Measured: max |diff| 8e-3, typically 1e-3 (llama.cpp keeps its KV cache in f16); a
    # wrong RoPE row order gives differences of order 1.
    assert np.abs(ours - theirs).max() < 2e-2


@pytest.mark.parametrize("layout", ["core:2:3:{n}", "planner:2:{n}"])
@pytest.mark.parametrize("cycles", [1, 2, 4])
def test_every_layout_starts_as_the_source(tiny_llama, layout, cycles):
    path, _ = tiny_llama
    ids = _ids(24, 500, seed=1)
    with torch.no_grad():
        want = _model(retrofit(path)).eval()(ids).logits
        ck = retrofit(path, layout.format(n=cycles))
        got = _model(ck)(ids).logits
    assert ck.cfg.n_applications > 6 or cycles == 1
    assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


def test_layouts_are_checked():
    assert parse_layout("core:4:8:2", 30)["h_layers"] == 18
    with pytest.raises(ConvertError, match="does not fit"):
        parse_layout("core:20:20:2", 30)
    with pytest.raises(ConvertError, match="unknown layout"):
        parse_layout("loop", 30)


def test_not_a_llama_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 20)
    with pytest.raises(ConvertError, match="not a readable GGUF"):
        retrofit(bad)
    with pytest.raises(ConvertError, match="no GGUF file"):
        retrofit(tmp_path / "missing.gguf")


def test_retrofit_runs_in_our_runtime_and_round_trips_to_llama(tiny_llama, tmp_path):
    from hrmcli.runtime.engine import Engine

    path, _ = tiny_llama
    ck = retrofit(path, "core:2:3:2")
    out = tmp_path / "hrm.gguf"
    export_hrm(ck, out, "f32")
    eng = Engine.load(out)
    assert eng.cfg.retrofit and eng.cfg.prelude_layers == 2 and eng.cfg.l_cycles == 2
    ids = _ids(20, ck.cfg.vocab_size, seed=2)[0].tolist()
    got = eng.evaluate(ids).logits[0, -1]
    with torch.no_grad():
        want = _model(ck)(torch.tensor([ids])).logits[0, -1]
    assert torch.allclose(got, want, atol=1e-3)
    # The identity layout exports back to llama: llama.cpp runs what we tune.
    back = tmp_path / "back.gguf"
    export_llama(retrofit(path), back, "f32")
    a = llama_cpp.Llama(str(path), n_ctx=64, n_threads=2, logits_all=True, verbose=False)
    b = llama_cpp.Llama(str(back), n_ctx=64, n_threads=2, logits_all=True, verbose=False)
    a.eval(ids)
    b.eval(ids)
    assert np.abs(np.array(a.scores[:20]) - np.array(b.scores[:20])).max() < 1e-4


def test_smollm2_identity_matches_llama_cpp(smollm2_gguf):
    """The real base: same tokens as llama.cpp, the same greedy continuation, and logits
    close (llama.cpp quantises activations to 8 bits for its Q4_1 matmuls; we run the
    dequantized weights in fp32: measured max |diff| about 1.0 on logits of scale 20)."""
    ck = retrofit(smollm2_gguf, max_seq_len=256)
    tok = Tokenizer.from_gguf_fields(ck.tokenizer_fields)
    assert tok.is_chat and tok.eos_id == 2
    llm = llama_cpp.Llama(str(smollm2_gguf), n_ctx=256, n_threads=2, logits_all=True,
                          verbose=False)
    prompt = ("<|im_start|>user\nWrite a Python function that adds two numbers 12345."
              "<|im_end|>\n<|im_start|>assistant\n")
    for text in (prompt, "def fib(n):\n    if n < 2:\n        return n\n  x = 1_000 + 0x1F\n"):
        assert tok.encode(text) == llm.tokenize(text.encode(), add_bos=False, special=True)
    ids = tok.encode(prompt)
    model = _model(ck)
    with torch.no_grad():
        ours = model(torch.tensor([ids])).logits[0]
    llm.eval(ids)
    theirs = torch.tensor(np.array(llm.scores[:len(ids)]))
    assert (ours.argmax(-1) == theirs.argmax(-1)).float().mean() >= 0.95
    assert (ours - theirs).abs().max() < 2.5
    seq = list(ids)
    with torch.no_grad():
        for _ in range(12):
            seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
    llm.reset()
    want = llm.create_completion(prompt, max_tokens=12, temperature=0.0, top_k=1)
    assert tok.decode(seq[len(ids):]) == want["choices"][0]["text"]
