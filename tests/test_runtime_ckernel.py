"""Our C kernels: GEMV/GEMM against an fp64 reference on the same quantised operands (and
ggml), the same bits on any number of threads, packed weights read back exactly, the scalar
build against the SIMD one; the fused module calls (prompt chunks with bidirectional blocks,
single tokens, long contexts with split attention, f32 and f16 KV caches) against the
model.py path on the same quantised weights (GQA included); and a machine without a working
C compiler or cache falls back cleanly: the build and cache tests run real compilers (or fake
ones, as real scripts on PATH) in real subprocesses, since what they check is what a user's
process prints and survives."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType, quants

from bench.speed import code_corpus, random_checkpoint
from converters.gguf_export import export_hrm
from hrmcli.runtime import ckernel, fastdecode, kernels, quant
from hrmcli.runtime.fastdecode import FusedModule
from hrmcli.runtime.generate import decode_one, prefill
from hrmcli.runtime.gguf_load import load
from hrmcli.runtime.model import HRMConfig, KVCache, Module, attention_mask
from trainer.tokenizer import Tokenizer

C = ckernel.lib()
needs_c = pytest.mark.skipif(C is None, reason="no C compiler or HRM_KERNEL forces another")
GT = {kernels.Q4_0: GGMLQuantizationType.Q4_0, kernels.Q8_0: GGMLQuantizationType.Q8_0}
# n_kv_heads < n_heads exercises the GQA head mapping in the C attention.
CFG = HRMConfig(d_model=128, n_heads=4, n_kv_heads=2, h_layers=2, l_layers=1, max_seq_len=128)


def _matrix(gtype: int, n: int, k: int, seed: int = 0) -> kernels.QMatrix:
    w = torch.randn(n, k, generator=torch.Generator().manual_seed(seed))
    raw = torch.from_numpy(np.ascontiguousarray(quants.quantize(w.numpy(), GT[gtype])))
    return kernels.QMatrix(gtype, n, k, raw)


def _q8_reference(x: torch.Tensor) -> torch.Tensor:
    """x as the kernels see it: quantised to Q8_0 per 32-block (fp16 scale), in fp64."""
    q, d = quant.quantize_q8_0(x)
    return quant.dequantize_q8_0(q, d).double()


@needs_c
@pytest.mark.parametrize("gtype", [kernels.Q4_0, kernels.Q8_0])
@pytest.mark.parametrize("m", [1, 5, 37])
def test_c_matmul_matches_dequant_reference(gtype, m):
    """GEMV and GEMM (4 activation rows per tile, a ragged tail; 100 rows: a partial group of
    8) against fp64 on the same quantised operands: the integer block products are exact, so
    only the order of float additions differs (measured 4e-7 of the largest output)."""
    w = _matrix(gtype, 100, 256)
    x = torch.randn(m, 256, generator=torch.Generator().manual_seed(1))
    y = kernels._c_matmul(C, w, x)
    ref = _q8_reference(x) @ w.dequantize().double().t()
    scale = float(ref.abs().max())
    assert float((y.double() - ref).abs().max()) < 2e-6 * scale
    if kernels.ggml() is not None:  # ggml's kernels: the same products, another sum order
        g = _matrix(gtype, 100, 256)
        g.to_ggml()
        assert float((y - kernels._ggml_matmul(g, x)).abs().max()) < 2e-6 * scale


@needs_c
@pytest.mark.parametrize("m", [1, 64])
def test_c_matmul_is_the_same_on_any_number_of_threads(m):
    """Work items are whole rows and activation tiles, each done by one thread the same way,
    so the thread count (and which thread takes what) never changes a bit."""
    w = _matrix(kernels.Q4_0, 1536, 576)
    x = torch.randn(m, 576, generator=torch.Generator().manual_seed(3))
    packed = kernels.packed_copy(C, w)
    outs = []
    for nt in (1, 2, 3):
        y = torch.empty(m, 1536)
        C.matmul(kernels.Q4_0, packed.data_ptr(), 1536, 576, x.data_ptr(), m, y.data_ptr(), nt)
        outs.append(y)
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


@needs_c
@pytest.mark.parametrize("gtype", [kernels.Q4_0, kernels.Q8_0])
def test_packed_rows_read_back_exactly(gtype):
    """Embedding lookups and the torch path read weights back from the packed copy (the only
    one kept): bit-identical to dequantising the file's bytes."""
    w = _matrix(gtype, 45, 96, seed=5)
    ref = w.dequantize()
    assert w.pack()
    assert w.raw.numel() == 0 and w.packed is not None
    assert torch.equal(w.dequantize(), ref)
    rows = torch.tensor([[44, 0], [7, 7]])
    assert torch.equal(w.dequantize(rows), ref[rows])
    with pytest.raises(IndexError):
        w.dequantize(torch.tensor([45]))


@needs_c
def test_scalar_build_agrees_with_simd(tmp_path):
    path = ckernel.build(tmp_path, ["-O2", "-pthread", "-shared", "-fPIC", "-lm"])
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


@needs_c
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


@needs_c
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


# A prompt with two bidirectional blocks (ids 1 and 2) between causal runs: the fused path
# takes the mask as a key limit per row, which must reproduce model.py's attention_mask.
BLOCKS = [-1] * 5 + [1] * 6 + [-1] * 4 + [2] * 7 + [-1] * 3


def _prefill_both(model, cfg, ids, block, dtype):
    """The same prompt through the fused modules and through model.py's, each on its own
    cache: (fused output, model.py output, fused cache, model.py cache)."""
    fused, plain = KVCache(cfg, dtype=dtype), KVCache(cfg, dtype=dtype)
    a = prefill(model, ids, block, fused)
    _as(model, Module)
    try:
        b = prefill(model, ids, block, plain)
    finally:
        _as(model, FusedModule)
    return a, b, fused, plain


@needs_c
@pytest.mark.parametrize("qtype", ["q8_0", "q4_0"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_fused_prefill_equals_model_path(models, qtype, dtype):
    """A prompt chunk with bidirectional blocks, through every module call of an HRM model
    (H and L, two cycles each) in one C call per module call: logits and every KV cache slot
    agree with model.py on the same quantised weights, with an f32 or an f16 cache. Apart
    from float summation order, only a rare flip of an activation's Q8_0 rounding separates
    the two (tolerance: 2% of the largest logit)."""
    loaded = load(models / f"{qtype}.gguf")
    model, cfg = loaded.model, loaded.cfg
    ids = torch.randint(1, cfg.vocab_size, (len(BLOCKS),),
                        generator=torch.Generator().manual_seed(9)).tolist()
    a, b, fused, plain = _prefill_both(model, cfg, ids, BLOCKS, dtype)
    scale = float(b.logits.abs().max())
    assert float((a.logits - b.logits).abs().max()) < 0.02 * scale
    assert int(a.logits.argmax()) == int(b.logits.argmax())
    n = len(ids)
    k, v = fused.k[:, :, :, :n].float(), fused.v[:, :, :, :n].float()
    pk, pv = plain.k[:, :, :, :n].float(), plain.v[:, :, :, :n].float()
    assert float((k - pk).abs().max()) < 0.02 * float(pk.abs().max())
    assert float((v - pv).abs().max()) < 0.02 * float(pv.abs().max())
    assert fused.pos == plain.pos == n


@needs_c
def test_first_layer_matches_exactly_where_no_rounding_can_flip(models):
    """The first layer application's keys and values (one quantised matmul of the normalised
    embedding, plus RoPE) agree with model.py to float rounding: the fused code runs the
    same numerics, not an approximation."""
    loaded = load(models / "q8_0.gguf")
    model, cfg = loaded.model, loaded.cfg
    ids = list(range(3, 3 + len(BLOCKS)))
    _, _, fused, plain = _prefill_both(model, cfg, ids, BLOCKS, torch.float32)
    n = len(ids)
    for cache_f, cache_p in ((fused.k, plain.k), (fused.v, plain.v)):
        a, b = cache_f[0, :, :, :n], cache_p[0, :, :, :n]
        assert float((a - b).abs().max()) < 1e-3 * float(b.abs().max())


@needs_c
def test_prefill_is_the_same_on_any_number_of_threads(models):
    loaded = load(models / "q4_0.gguf")
    model, cfg = loaded.model, loaded.cfg
    ids = list(range(5, 5 + len(BLOCKS)))
    before = torch.get_num_threads()
    outs = []
    try:
        for nt in (1, 2, 3):
            torch.set_num_threads(nt)
            cache = KVCache(cfg)
            outs.append((prefill(model, ids, BLOCKS, cache).logits, cache.k.clone()))
    finally:
        torch.set_num_threads(before)
    for logits, k in outs[1:]:
        assert torch.equal(logits, outs[0][0]) and torch.equal(k, outs[0][1])


def test_key_limits_accept_only_prefix_masks():
    """The C attention sees keys [0, limit) per query row; any other mask shape keeps the
    model.py path."""
    assert fastdecode.key_limits(None, 7, 3).tolist() == [8, 9, 10]
    block = torch.tensor([[-1, 1, 1, 1, -1]])
    mask = attention_mask(block, block, 0)
    assert fastdecode.key_limits(mask, 0, 5).tolist() == [1, 4, 4, 4, 5]
    holes = mask.clone()
    holes[0, 0, 4, 2] = False  # row 4 would skip key 2 but see key 3: not a prefix
    assert fastdecode.key_limits(holes, 0, 5) is None
    assert fastdecode.key_limits(mask.expand(2, 1, 5, 5), 0, 5) is None  # batch of 2


LONG = HRMConfig(d_model=128, n_heads=4, n_kv_heads=2, h_layers=1, l_layers=1, h_cycles=1,
                 l_cycles=1, max_seq_len=512)


@pytest.fixture(scope="module")
def long_model(tmp_path_factory):
    tok = Tokenizer.train(code_corpus(100_000), 300)
    path = tmp_path_factory.mktemp("long") / "q4_0.gguf"
    export_hrm(random_checkpoint(LONG, tok.to_gguf_fields(), seed=11), path, "q4_0")
    return path


@needs_c
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_long_context_decode_splits_keys_and_tracks_model_path(long_model, dtype):
    """Past 128 cached keys a decoded token's attention is split over key ranges (one partial
    softmax each, merged after); a 300-token prompt crosses many 16-key blocks and 16-row
    tiles. Both agree with model.py, on 1 and on 3 threads."""
    loaded = load(long_model)
    model, cfg = loaded.model, loaded.cfg
    ids = torch.randint(1, cfg.vocab_size, (310,), generator=torch.Generator().manual_seed(4))
    ids = ids.tolist()
    before = torch.get_num_threads()
    try:
        for nt in (1, 3):
            torch.set_num_threads(nt)
            a, b, fused, plain = _prefill_both(model, cfg, ids[:300], [-1] * 300, dtype)
            assert int(a.logits.argmax()) == int(b.logits.argmax())
            for t in ids[300:]:
                x = decode_one(model, t, fused)
                _as(model, Module)
                y = decode_one(model, t, plain)
                _as(model, FusedModule)
                worst = float((x.logits - y.logits).abs().max())
                assert worst < 0.02 * float(y.logits.abs().max())
    finally:
        torch.set_num_threads(before)


@needs_c
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


# ------------------------------------------------------------------ building, caching, falling back

# Prints what lib() gave, then (when a model path is given) proves decoding still works.
_PROBE = (
    "import sys; from hrmcli.runtime import ckernel; k = ckernel.lib(); "
    "print(type(k).__name__)\n"
    "if len(sys.argv) > 1:\n"
    "    from hrmcli.runtime.engine import Engine; e = Engine.load(sys.argv[1]); "
    "n = len(list(e.stream('def f():', max_tokens=4))); print(type(e.model.h).__name__)"
)


def _probe(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, HRM_HOME=str(tmp_path / "home"), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir(exist_ok=True)
    for key in ("CC", "HRM_KERNEL", "HRM_DEBUG"):
        env.pop(key, None)
    env.update(extra)
    return env


def _fake_cc(tmp_path: Path, body: str) -> Path:
    """A directory holding only a `cc` shell script: the compiler hrm finds on that PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cc = bin_dir / "cc"
    cc.write_text("#!/bin/sh\n" + body)
    cc.chmod(0o755)
    return bin_dir


def test_broken_compiler_falls_back_with_one_warning_line(models, tmp_path):
    bin_dir = _fake_cc(tmp_path, 'echo "cc: note: first line of the log" >&2\n'
                                 'echo "cc: error: no usable assembler" >&2\nexit 1\n')
    env = _env(tmp_path, PATH=str(bin_dir))
    r = _probe(env, str(models / "q4_0.gguf"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["NoneType", "Module"]  # no kernels, and the torch path decodes
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("hrm: warning: ") and "failed to compile" in lines[0]
    assert "no usable assembler" in lines[0] and "HRM_DEBUG=1" in lines[0]
    assert "first line of the log" not in r.stderr

    r = _probe(dict(env, HRM_DEBUG="1"))
    assert r.returncode == 0 and r.stdout.split() == ["NoneType"]
    assert "cc: note: first line of the log" in r.stderr  # the whole compiler output
    assert [ln for ln in r.stderr.splitlines() if ln.startswith("hrm: warning")] != []

    r = _probe(dict(env, HRM_KERNEL="c"))  # asked for C kernels explicitly: a clear error
    assert r.returncode != 0 and "HRM_KERNEL=c but the C kernels are unavailable" in r.stderr


def test_library_that_does_not_load_falls_back_with_one_warning_line(tmp_path):
    """A compiler that 'succeeds' but writes a file that is no library: the load fails."""
    bin_dir = _fake_cc(tmp_path, 'while [ $# -gt 0 ]; do\n'
                                 '  if [ "$1" = -o ]; then echo "not a library" > "$2"; fi\n'
                                 '  shift\ndone\nexit 0\n')
    r = _probe(_env(tmp_path, PATH=str(bin_dir)))
    assert r.returncode == 0 and r.stdout.split() == ["NoneType"], r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hrm: warning: cannot load the C kernels")


def _unwritable_home(tmp_path: Path, how: str) -> Path:
    if how == "parent is a file":  # refused even to root: the cache dir cannot be created
        home = tmp_path / "home-file"
        home.write_text("a regular file where a directory should be\n")
        return home
    if os.geteuid() == 0:
        pytest.skip("root writes through chmod 0o555")
    home = tmp_path / "ro-home"
    (home / "cache").mkdir(parents=True)
    (home / "cache").chmod(0o555)
    return home


@needs_c
@pytest.mark.parametrize("how", ["parent is a file", "chmod 555"])
def test_unwritable_cache_builds_in_a_temporary_directory(tmp_path, how):
    home = _unwritable_home(tmp_path, how)
    try:
        r = _probe(_env(tmp_path, HRM_HOME=str(home)))
    finally:
        if (home / "cache").is_dir():
            (home / "cache").chmod(0o755)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["CKernel"]  # the C kernels still load
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hrm: warning: cannot write the kernel cache")
    assert list((tmp_path / "tmp").iterdir()) == []  # the private build directory is gone


@needs_c
def test_corrupt_cached_library_is_rebuilt(tmp_path, capfd):
    cache = tmp_path / "kernels"
    path = ckernel.build(cache)
    assert path is not None and path.read_bytes()[:4] == b"\x7fELF"
    path.write_bytes(b"\x7fELF truncated by a full disk")
    capfd.readouterr()
    kernel = ckernel.load_kernels(cache)
    assert kernel is not None and kernel.so.hrm_matmul is not None
    assert path.read_bytes()[:4] == b"\x7fELF" and path.stat().st_size > 1000
    assert sorted(p.name for p in cache.iterdir()) == [path.name]  # no build dirs left
    assert capfd.readouterr().err == ""  # recovered: nothing to warn about


def test_cache_key_covers_cpu_flags_compiler_and_flags():
    base = (ckernel.FLAGS, "/usr/bin/cc", "cc (GCC) 12.2.0", "x86_64: avx avx2 fma sse2")
    key = ckernel.cache_key(*base)
    assert key == ckernel.cache_key(*base)
    assert ckernel.cache_key(*base[:3], "x86_64: avx sse2") != key  # a CPU without avx2/fma
    assert ckernel.cache_key(*base[:3], "x86_64: avx avx2 avx512f fma sse2") != key
    assert ckernel.cache_key(base[0], base[1], "cc (GCC) 13.1.0", base[3]) != key
    assert ckernel.cache_key(base[0], "/usr/bin/clang", *base[2:]) != key
    assert ckernel.cache_key(["-O2", *base[0][1:]], *base[1:]) != key


@needs_c
def test_build_is_named_by_this_machines_cpu_flags_and_compiler(tmp_path):
    cc = ckernel._compiler()
    assert cc is not None
    version = ckernel.compiler_version(cc)
    assert version == ckernel.compiler_version(cc) and version.startswith("status 0")
    cpu = ckernel.cpu_flags()
    assert cpu.startswith(platform.machine() + ":") and len(cpu.split()) > 2
    if Path("/proc/cpuinfo").is_file():
        info = Path("/proc/cpuinfo").read_text()
        line = next(ln for ln in info.splitlines()
                    if ln.split(":")[0].strip() in ("flags", "Features", "isa"))
        assert set(line.split(":", 1)[1].split()) <= set(cpu.split())
    path = ckernel.build(tmp_path)
    assert path == tmp_path / f"hrmq-{ckernel.cache_key(ckernel.FLAGS, cc, version, cpu)}.so"
