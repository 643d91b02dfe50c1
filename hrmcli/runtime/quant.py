"""GGML block quantisation in torch: the single definition of Q8_0 / Q4_0 numerics.

Used by quantisation-aware training (fake quantisation with a straight-through estimator),
by the converters' --verify tolerance checks and by the runtime's kernels, so that what we
train against is bit-for-bit what we ship. Layouts follow ggml: blocks of 32 weights along
the input dimension, one fp16 scale per block.

Q8_0: d = max|x| / 127, q = round(x / d) in [-127, 127] (half away from zero).
Q4_0: d = x_m / -8 where x_m is the signed value of largest magnitude,
      q = min(15, trunc(x / d + 8.5)), x' = (q - 8) * d.
Scales are computed in fp32 and stored as fp16, as ggml does.
"""

from __future__ import annotations

import torch
from torch import Tensor

QK = 32  # weights per block, both types


def _blocks(w: Tensor) -> Tensor:
    if w.shape[-1] % QK:
        raise ValueError(f"last dimension {w.shape[-1]} is not a multiple of {QK}")
    return w.float().reshape(*w.shape[:-1], w.shape[-1] // QK, QK)


def quantize_q8_0(w: Tensor) -> tuple[Tensor, Tensor]:
    """-> (q int8 (..., nb, 32), d fp16 (..., nb))."""
    x = _blocks(w)
    amax = x.abs().amax(-1)
    d = amax / 127.0
    inv = torch.where(d > 0, 1.0 / d, torch.zeros_like(amax))
    # ggml rounds half away from zero; torch.round rounds half to even.
    y = x * inv[..., None]
    q = (torch.sign(y) * torch.floor(y.abs() + 0.5)).clamp(-127, 127).to(torch.int8)
    return q, d.half()


def dequantize_q8_0(q: Tensor, d: Tensor) -> Tensor:
    x = q.float() * d.float()[..., None]
    return x.reshape(*x.shape[:-2], -1)


def quantize_q4_0(w: Tensor) -> tuple[Tensor, Tensor]:
    """-> (q uint8 in [0, 15] (..., nb, 32), d fp16 (..., nb))."""
    x = _blocks(w)
    idx = x.abs().argmax(-1, keepdim=True)
    xm = torch.gather(x, -1, idx).squeeze(-1)
    d = xm / -8.0
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(xm))
    q = torch.trunc(x * inv[..., None] + 8.5).clamp(0, 15).to(torch.uint8)
    return q, d.half()


def dequantize_q4_0(q: Tensor, d: Tensor) -> Tensor:
    x = (q.float() - 8.0) * d.float()[..., None]
    return x.reshape(*x.shape[:-2], -1)


def fake_quantize(w: Tensor, qtype: str) -> Tensor:
    """Quantise-dequantise with a straight-through gradient (for QAT)."""
    if qtype == "q8_0":
        wq = dequantize_q8_0(*quantize_q8_0(w))
    elif qtype == "q4_0":
        wq = dequantize_q4_0(*quantize_q4_0(w))
    else:
        raise ValueError(f"unknown quantisation {qtype!r}: use q8_0 or q4_0")
    return w + (wq.to(w.dtype) - w).detach()
