"""Quantisation-aware training: every Linear weight is fake-quantised in the forward.

A parametrization rewrites `linear.weight` as `fake_quantize(original, qtype)`, using the
one definition of ggml's Q8_0/Q4_0 numerics (hrmcli.runtime.quant), so the network trains
against exactly the weights the GGUF file will hold while the optimizer updates the fp32
originals (straight-through gradient). Embeddings and norms are not Linear and stay full
precision, matching what the converter writes.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils import parametrize

from hrmcli.runtime.quant import QK, fake_quantize

QTYPES = ("q8_0", "q4_0")
_ORIGINAL = ".parametrizations.weight.original"


class FakeQuant(nn.Module):
    def __init__(self, qtype: str):
        super().__init__()
        if qtype not in QTYPES:
            raise ValueError(f"unknown quantisation {qtype!r}: use one of {', '.join(QTYPES)}")
        self.qtype = qtype

    def forward(self, w: Tensor) -> Tensor:
        return fake_quantize(w, self.qtype)


def quantised_linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """The Linear layers QAT covers: all of them (rows are 32-weight blocks along the input)."""
    out = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            if m.in_features % QK:
                raise ValueError(f"{name}: {m.in_features} inputs is not a multiple of {QK}")
            out.append((name, m))
    return out


def enable_qat(model: nn.Module, qtype: str) -> int:
    """Fake-quantise every Linear weight of `model` in place; returns how many."""
    layers = quantised_linears(model)
    for _, m in layers:
        parametrize.register_parametrization(m, "weight", FakeQuant(qtype))
    return len(layers)


def clean_state_dict(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    """State-dict keys as the plain model has them (`x.weight`), whether or not QAT is on:
    checkpoints store the fp32 originals under the names the converter and runtime know."""
    return {k.replace(_ORIGINAL, ".weight"): v for k, v in sd.items()}


def clean_name(param_name: str) -> str:
    return param_name.replace(_ORIGINAL, ".weight")
