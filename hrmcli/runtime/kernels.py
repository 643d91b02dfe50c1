"""Quantised matmul for the CPU runtime: y = x @ W.T with W in a GGML block type.

Two backends over the same bytes:

* ``ggml``: ggml's own CPU kernels (the ones llama.cpp runs), reached through ctypes in the
  shared libraries llama-cpp-python ships. Each call builds a one-node graph in a reusable
  scratch arena; weights are copied once into a ggml context at load (4-bit stays 4-bit).
  Activations are quantised to Q8_0 per row inside ggml, exactly as llama.cpp does.
* ``torch``: block dequantisation (hrmcli.runtime.quant, the single definition of the
  numerics) then a float matmul. Always available; the reference the tests compare against.

* ``c``: our own Q4_0/Q8_0 x Q8_0 kernels (hrmcli.runtime.ckernel), bit-identical to ggml's
  results. Used for single-row products (decode: lm_head here, every layer matmul inside the
  fused module call of hrmcli.runtime.fastdecode) and for all rows when ggml is missing.

F32 weights always use torch (exact). HRM_KERNEL=torch|ggml|c forces a backend.

Our C kernel against ggml on the same 2048x768 matrix, 1 thread, same contended box:
    Q4_0 x rows 1: 60 vs 56 us; 8: 449 vs 210 us; 64: 3.5 vs 1.6 ms (Q8_0 alike)
so ggml keeps prefill (its tiled kernels win at many rows) and ours takes m == 1, where the
win is not the dot product but dropping the per-call graph and thread start-up.

Measured on this project's 2-core AMD EPYC (AVX-512 VNNI) dev box, shared with other jobs
(so noisy), for a 2048x768 Q4_0 matrix, 2 threads, torch 2.13:

    x rows | f32 matmul | ggml Q4_0 | dequant+matmul | _weight_int4pack_mm | _weight_int8pack_mm
    1      |  78-106 us |   355 us  |    624 us      |   1083-8080 us      |  8060 us (per-channel)
    64     | 0.97-7.7 ms|  16 ms     |   -            |   70 ms             |  -

torch's int4 weight-only op represents Q4_0 exactly (scale = d, zero = 0, group 32) but is
10-100x slower than a float matmul on this CPU; the int8 op has only per-channel scales, so
it cannot hold Q8_0. ggml wins among the options that keep weights quantised.

Whole model, `hrm bench speed`, Q4_0, 2 threads, same contended box (load average 5-7 on 2
cores, so treat these as rough), random weights:
    tiny  64+32 tok : prefill 6472 vs llama.cpp 12396 tok/s (0.52), decode 419 vs 2895 (0.14)
    small 128+32 tok: prefill 17.9 vs 19.7 (0.91), decode 3.7 vs 18.3 (0.20), RSS 538 MB
    base  64+16 tok : prefill 44.6 vs 43.1 (1.04), decode 5.7 vs 18.4 (0.31), RSS 1095 MB at
                      8k context with all 36 KV caches committed (576 MB fp32)
cProfile of tiny decode: 80% of the time is inside ggml_graph_compute, i.e. per-call thread
start-up and barrier cost of one-node graphs; with 1 thread the same decode ran 83 tok/s
against 6 tok/s with 2 under that load. Next step: a persistent ggml threadpool, or one
graph per block.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from functools import cache

import torch
from torch import Tensor

from hrmcli.runtime import ckernel, quant

# GGML type ids (stable across ggml versions; same values as gguf.GGMLQuantizationType).
F32, F16, Q4_0, Q4_1, Q5_0, Q8_0 = 0, 1, 2, 3, 6, 8
BLOCK = {Q4_0: (32, 18), Q4_1: (32, 20), Q5_0: (32, 22), Q8_0: (32, 34)}
NAMES = {F32: "f32", F16: "f16", Q4_0: "q4_0", Q4_1: "q4_1", Q5_0: "q5_0", Q8_0: "q8_0"}


class _InitParams(ctypes.Structure):
    _fields_ = [("mem_size", ctypes.c_size_t), ("mem_buffer", ctypes.c_void_p),
                ("no_alloc", ctypes.c_bool)]


class _GGML:
    """The handful of ggml entry points we call, bound once."""

    def __init__(self, libdir: str):
        g = ctypes.RTLD_GLOBAL
        self.base = ctypes.CDLL(os.path.join(libdir, "libggml-base.so"), mode=g)
        self.cpu = ctypes.CDLL(os.path.join(libdir, "libggml-cpu.so"), mode=g)
        vp, b = ctypes.c_void_p, self.base
        sig = {
            "ggml_init": ([_InitParams], vp),
            "ggml_free": ([vp], None),
            "ggml_new_tensor_2d": ([vp, ctypes.c_int, ctypes.c_int64, ctypes.c_int64], vp),
            "ggml_mul_mat": ([vp, vp, vp], vp),
            "ggml_new_graph": ([vp], vp),
            "ggml_build_forward_expand": ([vp, vp], None),
            "ggml_get_data": ([vp], vp),
            "ggml_tensor_overhead": ([], ctypes.c_size_t),
            "ggml_graph_overhead": ([], ctypes.c_size_t),
        }
        for name, (args, res) in sig.items():
            f = getattr(b, name)
            f.argtypes, f.restype = args, res
        self.compute = self.cpu.ggml_graph_compute_with_ctx
        self.compute.argtypes, self.compute.restype = [vp, vp, ctypes.c_int], ctypes.c_int
        self.cpu.ggml_cpu_init()
        self.overhead = b.ggml_tensor_overhead() * 8 + b.ggml_graph_overhead() + 4096
        self._scratch = torch.empty(0, dtype=torch.uint8)

    def arena(self, nbytes: int) -> int:
        """A context over a reused scratch buffer: no allocation per call."""
        need = nbytes + self.overhead
        if self._scratch.numel() < need:
            self._scratch = torch.empty(need * 2, dtype=torch.uint8)
        return self.base.ggml_init(_InitParams(self._scratch.numel(),
                                               self._scratch.data_ptr(), False))


@cache
def ggml() -> _GGML | None:
    """ggml from llama-cpp-python, or None when it is not installed (torch backend then)."""
    if os.environ.get("HRM_KERNEL") in ("torch", "c"):
        return None
    try:
        import llama_cpp
    except ImportError:
        if os.environ.get("HRM_KERNEL") == "ggml":
            raise
        return None
    return _GGML(os.path.join(os.path.dirname(llama_cpp.__file__), "lib"))


@dataclass
class QMatrix:
    """An (n, k) weight matrix kept in its GGUF type. `raw` holds the file's bytes as
    (n, row_bytes) uint8 for block types, or a float tensor for F32/F16."""

    gtype: int
    n: int
    k: int
    raw: Tensor
    _ctx: int | None = None
    _tensor: int | None = None

    @property
    def name(self) -> str:
        return NAMES[self.gtype]

    @property
    def nbytes(self) -> int:
        return self.raw.numel() * self.raw.element_size()

    def to_ggml(self) -> None:
        """Copy the bytes into a ggml tensor once, so each matmul passes only a pointer."""
        g = ggml()
        if g is None or self.gtype in (F32,) or self._tensor is not None:
            return
        nb = self.nbytes
        self._ctx = g.base.ggml_init(_InitParams(nb + g.overhead, None, False))
        self._tensor = g.base.ggml_new_tensor_2d(self._ctx, self.gtype, self.k, self.n)
        src = self.raw.contiguous()
        ctypes.memmove(g.base.ggml_get_data(self._tensor), src.data_ptr(), nb)
        self.raw = self.raw[:0]  # the ggml copy is now the only one

    def __del__(self):
        g = ggml() if self._ctx is not None else None
        if g is not None:
            g.base.ggml_free(self._ctx)

    def data_ptr(self) -> int:
        """Address of the (n, row_bytes) block bytes, wherever they live now."""
        if self._tensor is not None:
            return ggml().base.ggml_get_data(self._tensor)
        return self.raw.data_ptr()

    def dequantize(self, rows: Tensor | None = None) -> Tensor:
        """fp32 rows (all rows when rows is None): for embeddings, verify and the torch path."""
        if self._tensor is not None and self.raw.numel() == 0:
            self._restore_raw()
        raw = self.raw if rows is None else self.raw[rows]
        return dequantize_raw(self.gtype, raw, self.k)

    def _restore_raw(self) -> None:
        g = ggml()
        rb = row_bytes(self.gtype, self.k)
        buf = torch.empty(self.n, rb, dtype=torch.uint8) if self.gtype != F16 else \
            torch.empty(self.n, self.k, dtype=torch.float16)
        ctypes.memmove(buf.data_ptr(), g.base.ggml_get_data(self._tensor), self.n * rb)
        self.raw = buf

    def matmul(self, x: Tensor) -> Tensor:
        """x (m, k) fp32 -> (m, n) fp32."""
        if self.gtype == F32:
            return x @ self.raw.t()
        c = ckernel.lib() if self.gtype in ckernel.TYPES else None
        if c is not None and (x.shape[0] == 1 or self._tensor is None):
            return _c_matmul(c, self, x)
        if self._tensor is not None:
            return _ggml_matmul(self, x)
        return x @ self.dequantize().t()


def row_bytes(gtype: int, k: int) -> int:
    if gtype == F32:
        return 4 * k
    if gtype == F16:
        return 2 * k
    qk, size = BLOCK[gtype]
    return k // qk * size


def _f16(b: Tensor) -> Tensor:
    return b.contiguous().view(torch.float16).squeeze(-1).float()


def dequantize_raw(gtype: int, raw: Tensor, k: int) -> Tensor:
    """GGML block bytes (..., row_bytes) -> fp32 (..., k)."""
    if gtype in (F32, F16):
        return raw.float()
    qk, size = BLOCK[gtype]
    b = raw.reshape(*raw.shape[:-1], k // qk, size)
    if gtype == Q8_0:
        return quant.dequantize_q8_0(b[..., 2:].contiguous().view(torch.int8), _f16(b[..., :2]))
    qs = b[..., -16:]
    lo, hi = qs & 0x0F, qs >> 4
    if gtype == Q4_0:
        return quant.dequantize_q4_0(torch.cat([lo, hi], -1), _f16(b[..., :2]))
    if gtype == Q4_1:
        d, m = _f16(b[..., :2]), _f16(b[..., 2:4])
        x = torch.cat([lo, hi], -1).float() * d[..., None] + m[..., None]
        return x.reshape(*x.shape[:-2], -1)
    if gtype == Q5_0:
        qh = b[..., 2:6].contiguous().view(torch.int32)  # little-endian uint32 bits
        bits = (qh >> torch.arange(32, dtype=torch.int32)) & 1
        q = torch.cat([lo, hi], -1).to(torch.int32) | (bits << 4)
        x = (q - 16).float() * _f16(b[..., :2])[..., None]
        return x.reshape(*x.shape[:-2], -1)
    raise ValueError(f"unsupported GGML type {gtype}")


def _c_matmul(c: ckernel.CKernel, w: QMatrix, x: Tensor) -> Tensor:
    x = x.contiguous().float()
    y = torch.empty(x.shape[0], w.n)
    c.matmul(w.gtype, w.data_ptr(), w.n, w.k, x.data_ptr(), x.shape[0], y.data_ptr(),
             torch.get_num_threads())
    return y


def _ggml_matmul(w: QMatrix, x: Tensor) -> Tensor:
    g = ggml()
    m = x.shape[0]
    x = x.contiguous().float()
    # x, y and the Q8_0 copy of x ggml makes in its work buffer, with slack per thread.
    need = 4 * m * (w.k + w.n) + m * w.k * 2 + 64 * 1024
    ctx = g.arena(need)
    try:
        xt = g.base.ggml_new_tensor_2d(ctx, F32, w.k, m)
        ctypes.memmove(g.base.ggml_get_data(xt), x.data_ptr(), 4 * m * w.k)
        yt = g.base.ggml_mul_mat(ctx, w._tensor, xt)
        graph = g.base.ggml_new_graph(ctx)
        g.base.ggml_build_forward_expand(graph, yt)
        if g.compute(ctx, graph, torch.get_num_threads()) != 0:
            raise RuntimeError("ggml graph compute failed")
        y = torch.empty(m, w.n)
        ctypes.memmove(y.data_ptr(), g.base.ggml_get_data(yt), 4 * m * w.n)
        return y
    finally:
        g.base.ggml_free(ctx)
