"""Drop-in replacements for nn.Linear / nn.Embedding that keep GGUF weights quantised.

gpt-fast style: build HRMCode on the meta device, then swap every Linear and the Embedding
for these modules, so the one model definition runs unchanged on quantised weights.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from hrmcli.runtime.kernels import QMatrix


class QLinear(nn.Module):
    def __init__(self, w: QMatrix, bias: Tensor | None = None):
        super().__init__()
        self.w = w
        self.in_features, self.out_features = w.k, w.n
        self.bias = bias

    def forward(self, x: Tensor) -> Tensor:
        y = self.w.matmul(x.reshape(-1, self.in_features))
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"{self.in_features}->{self.out_features}, {self.w.name}"


class QEmbedding(nn.Module):
    """Dequantises only the looked-up rows."""

    def __init__(self, w: QMatrix):
        super().__init__()
        self.w = w

    def forward(self, ids: Tensor) -> Tensor:
        return self.w.dequantize(ids.reshape(-1)).reshape(*ids.shape, self.w.k)


def swap_modules(model: nn.Module, weight: Callable[[str], QMatrix],
                 bias: Callable[[str], Tensor | None]) -> None:
    """Replace every nn.Linear / nn.Embedding under model; weight(name) gives its matrix."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Linear):
            setattr(model, name, QLinear(weight(name), bias(name) if child.bias is not None
                                         else None))
        elif isinstance(child, nn.Embedding):
            setattr(model, name, QEmbedding(weight(name)))
        else:
            swap_modules(child, lambda n, p=name: weight(f"{p}.{n}"),
                         lambda n, p=name: bias(f"{p}.{n}"))
