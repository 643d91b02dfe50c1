"""One C call per module call, for prompt chunks and single tokens (hrmcli.runtime.ckernel).

`install(model)` turns each quantised module (prelude, H, L) into a FusedModule: the same
object, with the same layers and parameter names, whose forward takes the C path when it sees
batch 1 with a KV cache (f32 or f16) and an attention mask that is a key limit per query
(causal, or causal plus whole bidirectional blocks: what block_ids and the prefill chunks make),
and the model.py path otherwise (training shapes, F32 weights, no compiler, other masks).
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from hrmcli.runtime.ckernel import TYPES, CKernel, Dims, Layer, lib
from hrmcli.runtime.model import HRMCode, KVCache, Module
from hrmcli.runtime.qlinear import QLinear

_NAMES = ("attn.wq", "attn.wk", "attn.wv", "attn.wo", "ffn.w1", "ffn.w3", "ffn.w2")
KV_DTYPES = (torch.float32, torch.float16)


def _linear(layer: torch.nn.Module, name: str) -> QLinear | None:
    m = layer.get_submodule(name)
    ok = isinstance(m, QLinear) and m.bias is None and m.w.gtype in TYPES and m.w.pack()
    return m if ok else None


def key_limits(mask: Tensor | None, start: int, t: int) -> Tensor | None:
    """Per query row, the number of leading keys it sees (int32, shape (t,)), or None when the
    mask is not of that form (then the model.py path runs). No mask means causal."""
    if mask is None:
        return torch.arange(start + 1, start + t + 1, dtype=torch.int32)
    if mask.shape[0] != 1 or mask.shape[1] != 1:
        return None
    m = mask[0, 0]
    n = m.sum(-1)
    # every row's visible keys are exactly its leading run of keys [0, n)
    if not bool((n > 0).all()) or bool(m.int().cumprod(-1).sum(-1).ne(n).any()):
        return None
    return n.to(torch.int32)


class FusedModule(Module):
    """A Module whose cached forward for batch 1 is one C call."""

    _c: CKernel
    _layers: ctypes.Array
    _keep: list[Tensor]

    def _bind(self, c: CKernel) -> bool:
        cfg = self.cfg
        if cfg.head_dim % 8 or cfg.n_heads % cfg.n_kv_heads:
            return False
        layers = (Layer * len(self.layers))()
        keep = []
        for i, blk in enumerate(self.layers):
            for j, name in enumerate(_NAMES):
                lin = _linear(blk, name)
                if lin is None:
                    return False
                layers[i].w[j] = lin.w.data_ptr()
                layers[i].type[j] = lin.w.gtype
            norms = [blk.attn_norm.weight.detach().float().contiguous(),
                     blk.ffn_norm.weight.detach().float().contiguous()]
            keep += norms
            layers[i].attn_norm, layers[i].ffn_norm = (n.data_ptr() for n in norms)
        self._exit_norm = None
        if self.norm is not None:
            self._exit_norm = self.norm.weight.detach().float().contiguous()
            keep.append(self._exit_norm)
        self._c, self._layers, self._keep = c, layers, keep
        return True

    def forward(self, x, cos, sin, mask, cache, slot):
        if cache is None or x.shape[0] != 1 or not self._fits(cache):
            return super().forward(x, cos, sin, mask, cache, slot)
        t = x.shape[1]
        kend = key_limits(mask, cache.pos, t)
        if kend is None or cos.shape[0] != t or cache.pos + t > cache.max_len:
            return super().forward(x, cos, sin, mask, cache, slot)
        cfg = self.cfg
        out = x.float().contiguous().clone()
        cos, sin = cos.float().contiguous(), sin.float().contiguous()
        dims = Dims(cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.hidden,
                    cache.max_len, cfg.n_kv_heads * cache.max_len * cfg.head_dim, cfg.norm_eps,
                    int(cache.k.dtype == torch.float16))
        self._c.module_forward(ctypes.byref(dims), self._layers, len(self.layers),
                               None if self._exit_norm is None else self._exit_norm.data_ptr(),
                               out.data_ptr(), t, cache.k.data_ptr(), cache.v.data_ptr(), slot,
                               cache.pos, kend.data_ptr(), cos.data_ptr(), sin.data_ptr(),
                               torch.get_num_threads())
        return out.type_as(x)

    @staticmethod
    def _fits(cache: KVCache) -> bool:
        return (cache.k.dtype in KV_DTYPES and cache.v.dtype == cache.k.dtype
                and cache.k.shape[1] == 1 and cache.k.is_contiguous()
                and cache.v.is_contiguous())


def install(model: HRMCode) -> bool:
    """Fuse every module of a quantised model; False (model untouched) when the C kernels
    are unavailable or some layer matrix is not Q4_0/Q8_0."""
    c = lib()
    if c is None:
        return False
    mods = [m for m in (model.prelude, model.h, model.l) if m is not None and len(m.layers)]
    for m in mods:
        m.__class__ = FusedModule
        m.cfg = model.cfg
        if not m._bind(c):
            for n in mods:
                n.__class__ = Module
            return False
    return True
