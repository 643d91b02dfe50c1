"""Quantised matmul for the CPU runtime: y = x @ W.T with W in a GGML block type.

Three backends over the same weights:

* ``c``: our own kernels (hrmcli.runtime.ckernel) on a copy of Q4_0/Q8_0 matrices repacked
  once at load (`QMatrix.pack`); the packed copy then becomes the only one kept (rows are read
  back from it for embeddings and the torch path). Used for any number of rows, and inside the
  fused module calls of hrmcli.runtime.fastdecode.
* ``ggml``: ggml's own CPU kernels (the ones llama.cpp runs), reached through ctypes in the
  shared libraries llama-cpp-python ships; one-node graphs in a reusable scratch arena, the
  weights copied once into a ggml context. Used for Q4_0/Q8_0 when our kernels are
  unavailable (no C compiler), and for the block types they do not run (Q4_1, Q5_0, F16).
* ``torch``: block dequantisation (hrmcli.runtime.quant, the single definition of the
  numerics) then a float matmul. Always available; the reference the tests compare against.

F32 weights always use torch (exact). HRM_KERNEL=torch|ggml|c forces a backend. Activations
are quantised to Q8_0 per row by the c and ggml backends, exactly as llama.cpp does.
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
    packed: Tensor | None = None  # ckernel's interleaved copy (see ckernel.hrm_pack)

    @property
    def name(self) -> str:
        return NAMES[self.gtype]

    @property
    def nbytes(self) -> int:
        return self.raw.numel() * self.raw.element_size()

    def pack(self, keep_raw: bool = False) -> bool:
        """Repack into our C kernels' layout; False when they cannot run this matrix. The
        file's bytes are then dropped unless keep_raw, so the packed copy is the only one in
        memory (rows are read back from it)."""
        c = ckernel.lib() if self.gtype in ckernel.TYPES else None
        if self.packed is not None:
            return True
        if c is None or self._tensor is not None or not _packable(self):
            return False
        self.packed = packed_copy(c, self)
        if not keep_raw:
            self._drop_raw()
        return True

    def _drop_raw(self) -> None:
        """Forget the file's bytes: an empty tensor of its own, not a view, so the memory map
        (and every page of it that packing read) is released with the GGUF reader."""
        self.raw = torch.empty((0,) + tuple(self.raw.shape[1:]), dtype=self.raw.dtype)

    def to_ggml(self) -> None:
        """Copy the bytes into a ggml tensor once, so each matmul passes only a pointer."""
        g = ggml()
        if g is None or self.gtype in (F32,) or self._tensor is not None or \
                self.packed is not None:
            return
        nb = self.nbytes
        self._ctx = g.base.ggml_init(_InitParams(nb + g.overhead, None, False))
        self._tensor = g.base.ggml_new_tensor_2d(self._ctx, self.gtype, self.k, self.n)
        src = self.raw.contiguous()
        ctypes.memmove(g.base.ggml_get_data(self._tensor), src.data_ptr(), nb)
        self._drop_raw()  # the ggml copy is now the only one

    def __del__(self):
        g = ggml() if self._ctx is not None else None
        if g is not None:
            g.base.ggml_free(self._ctx)

    def data_ptr(self) -> int:
        """Address of the packed copy when there is one, else of the (n, row_bytes) block
        bytes, wherever they live now."""
        if self.packed is not None:
            return self.packed.data_ptr()
        if self._tensor is not None:
            return ggml().base.ggml_get_data(self._tensor)
        return self.raw.data_ptr()

    def dequantize(self, rows: Tensor | None = None) -> Tensor:
        """fp32 rows (all rows when rows is None): for embeddings, verify and the torch path."""
        if self.packed is not None and self.raw.numel() == 0:
            ids = None if rows is None else rows.reshape(-1).to(torch.int64).contiguous()
            if ids is not None and ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.n):
                raise IndexError(f"row index out of range for a matrix of {self.n} rows")
            m = self.n if ids is None else ids.numel()
            out = torch.empty(m, self.k)
            ckernel.lib().dequant_rows(self.gtype, self.packed.data_ptr(), self.k,
                                       None if ids is None else ids.data_ptr(), m,
                                       out.data_ptr())
            return out if rows is None else out.reshape(*rows.shape, self.k)
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
        if self.packed is not None or (self._tensor is None and self.pack(keep_raw=True)):
            return _c_matmul(ckernel.lib(), self, x)
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


def _huge_buffer(c: ckernel.CKernel, nbytes: int) -> Tensor:
    """A uint8 buffer that asks for 2 MB pages when it is big enough to hold one: weights are
    streamed from memory once per decoded token, and 4 KB pages stop the hardware prefetcher
    at every page boundary."""
    huge = 2 << 20
    if nbytes < huge:
        return torch.empty(nbytes, dtype=torch.uint8)
    buf = torch.empty(nbytes + huge, dtype=torch.uint8)
    start = -buf.data_ptr() % huge
    out = buf[start:start + nbytes]
    c.advise_huge(out.data_ptr(), nbytes)
    return out


def _packable(w: QMatrix) -> bool:
    return w.gtype in ckernel.TYPES and w.k % 32 == 0 and w.raw.numel() > 0


def packed_copy(c: ckernel.CKernel, w: QMatrix, out: Tensor | None = None) -> Tensor:
    """w's block bytes in the layout of the kernel build c (each build owns its layout),
    written into out when given (a slice of a shared arena)."""
    if not _packable(w):
        raise ValueError(f"the C kernels cannot pack this {w.name} matrix of width {w.k}")
    src = w.raw.contiguous()
    if out is None:
        out = _huge_buffer(c, c.packed_bytes(w.gtype, w.n, w.k))
    c.pack(w.gtype, src.data_ptr(), w.n, w.k, out.data_ptr())
    return out


def pack_all(mats: list[QMatrix]) -> int:
    """Pack every matrix our C kernels run into one arena, in the order given (a model's
    layers in file order: decoding then walks memory mostly forwards), dropping the file's
    bytes. Returns how many were packed; none when the kernels are unavailable."""
    c = ckernel.lib()
    todo = [m for m in mats if m.packed is None and m._tensor is None and _packable(m)] \
        if c is not None else []
    if not todo:
        return 0
    sizes = [(c.packed_bytes(m.gtype, m.n, m.k) + 63) // 64 * 64 for m in todo]
    arena = _huge_buffer(c, sum(sizes))
    off = 0
    for m, size in zip(todo, sizes, strict=True):
        m.packed = packed_copy(c, m, arena[off:off + size])
        m._drop_raw()
        off += size
    return len(todo)


def _c_matmul(c: ckernel.CKernel, w: QMatrix, x: Tensor) -> Tensor:
    """x @ w.T with the kernel build c: w's own packed copy when c is the loaded build,
    else (another build, as in tests) a packed copy made for c."""
    if c is ckernel.lib() and w.pack(keep_raw=True):
        packed = w.packed
    else:
        packed = packed_copy(c, w)
    x = x.contiguous().float()
    y = torch.empty(x.shape[0], w.n)
    c.matmul(w.gtype, packed.data_ptr(), w.n, w.k, x.data_ptr(), x.shape[0], y.data_ptr(),
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
