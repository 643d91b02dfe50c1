"""Our C kernels: matvec equals ggml's bit for bit, the scalar build agrees with the SIMD one,
the fused single-token module call equals the model.py path on the same quantised weights
(GQA included), and a machine without a C compiler falls back cleanly."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType, quants

from bench.speed import code_corpus, random_checkpoint
from converters.gguf_export import export_hrm
from hrmcli.runtime import ckernel, kernels
from hrmcli.runtime.fastdecode import FusedModule
from hrmcli.runtime.generate import decode_one, prefill
from hrmcli.runtime.gguf_load import load
from hrmcli.runtime.model import HRMConfig, KVCache, Module
from trainer.tokenizer import Tokenizer

C = ckernel.lib()
pytestmark = pytest.mark.skipif(C is None, reason="no C compiler or HRM_KERNEL forces another")
GT = {kernels.Q4_0: GGMLQuantizationType.Q4_0, kernels.Q8_0: GGMLQuantizationType.Q8_0}
# n_kv_heads < n_heads exercises the GQA head mapping in the C attention.
CFG = HRMConfig(d_model=128, n_heads=4, n_kv_heads=2, h_layers=2, l_layers=1, max_seq_len=128)


def _matrix(gtype: int, n: int, k: int, seed: int = 0) -> kernels.QMatrix:
    w = torch.randn(n, k, generator=torch.Generator().manual_seed(seed))
    raw = torch.from_numpy(np.ascontiguousarray(quants.quantize(w.numpy(), GT[gtype])))
    return kernels.QMatrix(gtype, n, k, raw)


@pytest.mark.parametrize("gtype", [kernels.Q4_0, kernels.Q8_0])
@pytest.mark.parametrize("m", [1, 5])
def test_c_matmul_matches_ggml_and_dequant_reference(gtype, m):
    w = _matrix(gtype, 96, 256)
    x = torch.randn(m, 256, generator=torch.Generator().manual_seed(1))
    y = kernels._c_matmul(C, w, x)
    ref = x @ w.dequantize().t()
    # Only the Q8_0 rounding of the activations separates the two.
    assert float((y - ref).abs().max()) < 0.02 * float(ref.abs().max())
    if kernels.ggml() is not None:
        g = _matrix(gtype, 96, 256)
        g.to_ggml()
        assert torch.equal(y, kernels._ggml_matmul(g, x))


def test_scalar_build_agrees_with_simd(tmp_path):
    path = ckernel.build(tmp_path, ["-O2", "-fopenmp", "-shared", "-fPIC", "-lm"])
    assert path is not None
    scalar = ckernel.CKernel(path)
    for gtype in (kernels.Q4_0, kernels.Q8_0):
        w = _matrix(gtype, 64, 512, seed=gtype)
        x = torch.randn(3, 512)
        a, b = kernels._c_matmul(C, w, x), kernels._c_matmul(scalar, w, x)
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-4)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tok = Tokenizer.train(code_corpus(100_000), 300)
    ck = random_checkpoint(CFG, tok.to_gguf_fields(), seed=7)
    d = tmp_path_factory.mktemp("ck")
    for q in ("f32", "q8_0", "q4_0"):
        export_hrm(ck, d / f"{q}.gguf", q)
    return d


def _as(model, cls) -> None:
    model.h.__class__ = model.l.__class__ = cls


@pytest.mark.parametrize("qtype", ["q8_0", "q4_0"])
def test_fused_module_call_equals_model_path(models, qtype):
    """One module call on the same input and cache: only float summation order differs."""
    loaded = load(models / f"{qtype}.gguf")
    model, cfg = loaded.model, loaded.cfg
    assert isinstance(model.h, FusedModule) and isinstance(model.l, FusedModule)
    fused, plain = KVCache(cfg), KVCache(cfg)
    for cache in (fused, plain):
        prefill(model, list(range(1, 21)), [-1] * 20, cache)
    x = torch.randn(1, 1, cfg.d_model, generator=torch.Generator().manual_seed(4))
    cos, sin = model.rope_cos[20:21], model.rope_sin[20:21]
    with torch.inference_mode():
        a = model.h(x, cos, sin, None, fused, 0)
        _as(model, Module)
        b = model.h(x, cos, sin, None, plain, 0)
    assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(fused.k, plain.k, atol=1e-5) and torch.allclose(fused.v, plain.v,
                                                                          atol=1e-5)


def test_fused_decode_tracks_model_path(models):
    """Whole decode: a rare Q8_0 rounding flip of an activation may separate the two paths
    by one quantisation step, never by more."""
    loaded = load(models / "q4_0.gguf")
    model, cfg = loaded.model, loaded.cfg
    ids = torch.randint(0, cfg.vocab_size, (60,), generator=torch.Generator().manual_seed(2))
    ids = ids.tolist()
    fused, plain = KVCache(cfg), KVCache(cfg)
    prefill(model, ids[:30], [-1] * 30, fused)
    prefill(model, ids[:30], [-1] * 30, plain)
    worst, scale, same = 0.0, 0.0, 0
    for t in ids[30:]:
        a = decode_one(model, t, fused)
        _as(model, Module)
        b = decode_one(model, t, plain)
        _as(model, FusedModule)
        worst = max(worst, float((a.logits - b.logits).abs().max()))
        scale = max(scale, float(b.logits.abs().max()))
        same += int(a.logits.argmax() == b.logits.argmax())
    assert worst < 0.03 * scale
    assert same >= 27


def test_f32_models_are_not_fused(models):
    model = load(models / "f32.gguf").model
    assert type(model.h) is Module


def test_no_compiler_falls_back(models, tmp_path):
    """No cc/gcc/clang on PATH: lib() is None and a Q4_0 model still generates."""
    env = dict(os.environ, PATH=str(tmp_path), HRM_HOME=str(tmp_path / "home"))
    env.pop("CC", None)
    env.pop("HRM_KERNEL", None)
    code = ("import sys; from hrmcli.runtime import ckernel; from hrmcli.runtime.engine import "
            "Engine; assert ckernel.lib() is None; e = Engine.load(sys.argv[1]); "
            "print(len(list(e.stream('def f():', max_tokens=4))) >= 0, "
            "type(e.model.h).__name__)")
    r = subprocess.run([sys.executable, "-c", code, str(models / "q4_0.gguf")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "Module"]
