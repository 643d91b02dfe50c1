"""`hrm convert --verify`: re-read a written GGUF and check every tensor against the checkpoint.

Each stored tensor must equal what its type's quantiser makes of the checkpoint tensor
(hrmcli.runtime.quant for Q8_0/Q4_0, the single definition we also train against; the gguf
package for the others) up to float rounding, and the round-trip error against the original
must stay inside the type's bound: half a step of the block scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from hrmcli.runtime import quant
from hrmcli.runtime.kernels import F16, F32, NAMES, Q4_0, Q8_0

from .gguf_export import ggml_type, gguf_name


@dataclass
class TensorCheck:
    name: str
    type: str
    max_err: float  # vs the checkpoint tensor
    bound: float
    matches_reference: bool

    @property
    def ok(self) -> bool:
        return self.matches_reference and self.max_err <= self.bound


def reference(w: torch.Tensor, gtype: int) -> torch.Tensor:
    """What a correct file holds for w stored as gtype, as fp32."""
    import gguf

    if gtype == F32:
        return w.float()
    if gtype == F16:
        return w.half().float()
    if gtype == Q8_0:
        return quant.dequantize_q8_0(*quant.quantize_q8_0(w))
    if gtype == Q4_0:
        return quant.dequantize_q4_0(*quant.quantize_q4_0(w))
    q = gguf.quants.quantize(w.float().numpy(), gguf.GGMLQuantizationType(gtype))
    return torch.from_numpy(gguf.quants.dequantize(q, gguf.GGMLQuantizationType(gtype)))


def error_bound(w: torch.Tensor, gtype: int) -> float:
    """Largest round-trip error a correct quantiser can make on w."""
    amax = float(w.abs().max()) if w.numel() else 0.0
    if gtype == F32:
        return 0.0
    if gtype == F16:
        return amax * 2.0 ** -11 + 1e-7
    # One quantisation step (Q4_0's clamp at +7 can cost a whole step), plus fp16 scale slack.
    levels = {Q8_0: 127.0, Q4_0: 8.0}.get(gtype, 7.5 if NAMES[gtype] == "q4_1" else 16.0)
    return amax / levels * (1 + 2.0 ** -9) + 1e-7


def verify_file(path: str | Path, state: dict[str, torch.Tensor], qtype: str,
                names=None, embed_qtype: str | None = None) -> list[TensorCheck]:
    """Check every checkpoint tensor against the file; names maps state keys to GGUF names
    and tensors (default: the hrm-code mapping, no transformation)."""
    from hrmcli.runtime.gguf_load import _matrix, _reader

    path = Path(path)
    reader = _reader(path)
    tensors = {t.name: t for t in reader.tensors}
    pairs = names if names is not None else ((gguf_name(k), v) for k, v in state.items())
    out = []
    for gname, w in pairs:
        if gname == "output.weight" and gname not in tensors and "token_embd.weight" in tensors \
                and torch.equal(w, state.get("embed.weight", w * 0)):
            continue  # tied LM head: stored once, as the token embedding
        if gname not in tensors:
            out.append(TensorCheck(gname, "missing", float("inf"), 0.0, False))
            continue
        m = _matrix(tensors[gname], path)
        got = m.dequantize().reshape(w.shape)
        gtype = int(ggml_type(gname, tuple(w.shape), qtype, embed_qtype))
        ref = reference(w.detach().float(), m.gtype)
        same = m.gtype == gtype and torch.allclose(got, ref.reshape(w.shape), rtol=0,
                                                    atol=1e-6 * max(1.0, float(w.abs().max())))
        out.append(TensorCheck(gname, NAMES[m.gtype], float((got - w.float()).abs().max()),
                               error_bound(w.float(), m.gtype), same))
    return out
