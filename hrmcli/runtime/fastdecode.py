"""Single-token decode through one C call per module call (see hrmcli.runtime.ckernel).

`install(model)` turns each quantised reasoning module (H and L) into a FusedModule: the same
object, with the same layers and parameter names, whose forward takes the C path when it
sees one token of batch 1 with a KV cache, and the model.py path otherwise (prefill, F32
weights, no compiler). For one query token the block-causal mask is always "every cached
key" (the causal part already covers the whole prefix), so the C attention needs no mask.
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from hrmcli.runtime.ckernel import TYPES, CKernel, Dims, Layer, lib
from hrmcli.runtime.model import HRMCode, KVCache, Module
from hrmcli.runtime.qlinear import QLinear

_NAMES = ("attn.wq", "attn.wk", "attn.wv", "attn.wo", "ffn.w1", "ffn.w3", "ffn.w2")


def _linear(layer: torch.nn.Module, name: str) -> QLinear | None:
    m = layer.get_submodule(name)
    ok = isinstance(m, QLinear) and m.bias is None and m.w.gtype in TYPES
    return m if ok else None


class FusedModule(Module):
    """A Module whose single-token cached forward is one C call."""

    _c: CKernel
    _layers: ctypes.Array
    _keep: list[Tensor]

    def _bind(self, c: CKernel) -> bool:
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
        if cache is None or x.shape[0] != 1 or x.shape[1] != 1 or not self._fits(cache):
            return super().forward(x, cos, sin, mask, cache, slot)
        cfg = self.cfg
        out = x.float().contiguous().clone()
        dims = Dims(cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.hidden,
                    cache.max_len, cfg.n_kv_heads * cache.max_len * cfg.head_dim, cfg.norm_eps)
        self._c.module_decode(ctypes.byref(dims), self._layers, len(self.layers),
                              None if self._exit_norm is None else self._exit_norm.data_ptr(),
                              out.data_ptr(), cache.k.data_ptr(),
                              cache.v.data_ptr(), slot, cache.pos, cos.contiguous().data_ptr(),
                              sin.contiguous().data_ptr(), torch.get_num_threads())
        return out.type_as(x)

    @staticmethod
    def _fits(cache: KVCache) -> bool:
        return (cache.k.dtype == torch.float32 and cache.k.shape[1] == 1
                and cache.k.is_contiguous() and cache.v.is_contiguous())


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
