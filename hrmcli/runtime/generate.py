"""Prefill, decode-one-token, sampling and streaming text for HRMCode (gpt-fast style).

The KV cache holds one slot per layer application, so a decoded token runs through every
module call with its own cache; prefill goes in chunks that never split a bidirectional
prompt block (a block must see itself whole), which bounds the attention scratch and the
logits buffer on long prompts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from hrmcli.runtime.model import HRMCode, KVCache, Output

LogitsProcessor = Callable[[Sequence[int], Tensor], Tensor]


class LastPosition(nn.Module):
    """Wraps a head so it runs only on the last position: a prompt of 8k tokens would
    otherwise need an 8k x vocab logits tensor (1 GB for the base preset)."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        return self.head(x[:, -1:])


def last_position_heads(model: HRMCode) -> None:
    if not isinstance(model.lm_head, LastPosition):
        model.lm_head = LastPosition(model.lm_head)


def prefill_chunks(block: Sequence[int], size: int) -> list[tuple[int, int]]:
    """[start, end) chunks of about `size` tokens, cut only between blocks or inside causal
    (-1) runs, never inside a bidirectional block."""
    cuts, start, n = [], 0, len(block)
    while start < n:
        end = min(start + size, n)
        while end < n and block[end] >= 0 and block[end] == block[end - 1] and end > start:
            end -= 1
        if end == start:  # one block longer than size: take it whole
            end = start + 1
            while end < n and block[end] == block[start]:
                end += 1
        cuts.append((start, end))
        start = end
    return cuts


@torch.inference_mode()
def prefill(model: HRMCode, ids: Sequence[int], block: Sequence[int], cache: KVCache,
            chunk: int = 512) -> Output:
    """Run the prompt through the model from cache.pos; returns the last chunk's output."""
    out = None
    for s, e in prefill_chunks(block, chunk):
        t = torch.tensor([ids[s:e]], dtype=torch.long)
        b = torch.tensor([block[s:e]], dtype=torch.long)
        out = model(t, b, cache)
    if out is None:
        raise ValueError("empty prompt")
    return out


@torch.inference_mode()
def decode_one(model: HRMCode, token: int, cache: KVCache) -> Output:
    return model(torch.tensor([[token]], dtype=torch.long), None, cache)


def sample(logits: Tensor, temperature: float, top_p: float,
           gen: torch.Generator | None) -> int:
    """Greedy at temperature 0, else temperature + nucleus (top-p) sampling."""
    logits = logits.float().reshape(-1)
    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, -1)
    if top_p < 1.0:
        p, idx = torch.sort(probs, descending=True)
        keep = torch.cumsum(p, 0) - p < top_p  # always keeps the most likely token
        p = torch.where(keep, p, torch.zeros_like(p))
        return int(idx[torch.multinomial(p / p.sum(), 1, generator=gen)])
    return int(torch.multinomial(probs, 1, generator=gen))


def generate_ids(model: HRMCode, cache: KVCache, first: Output, max_tokens: int,
                 temperature: float = 0.0, top_p: float = 1.0, stop_ids: set[int] | None = None,
                 logits_processor: LogitsProcessor | None = None,
                 seed: int | None = None) -> Iterator[tuple[int, Output]]:
    """Yield (token, output that produced it) after a prefill; stops on a stop id (not
    yielded), on max_tokens, or when the cache is full."""
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    out, ids = first, []
    stop_ids = stop_ids or set()
    for _ in range(max_tokens):
        logits = out.logits[0, -1]
        if logits_processor is not None:
            logits = torch.as_tensor(logits_processor(ids, logits))
        tok = sample(logits, temperature, top_p, gen)
        if tok in stop_ids:
            return
        ids.append(tok)
        yield tok, out
        if cache.pos >= cache.max_len:
            return
        out = decode_one(model, tok, cache)


class TextStream:
    """Turns token ids into text pieces: holds back bytes of an unfinished UTF-8 character
    (byte-level BPE splits characters across tokens) and any tail that could still become a
    stop string; `stopped` is set once a stop string appears (it is not emitted)."""

    def __init__(self, decode: Callable[[list[int]], str], stop: Sequence[str] = ()):
        self.decode = decode
        self.stop = [s for s in stop if s]
        self.pending: list[int] = []
        self.held = ""
        self.stopped = False

    def push(self, token: int) -> str:
        self.pending.append(token)
        text = self.decode(self.pending)
        if text.endswith("\ufffd"):
            return ""
        self.pending = []
        return self._emit(self.held + text)

    def flush(self) -> str:
        if self.stopped:
            return ""
        text = self.held + (self.decode(self.pending) if self.pending else "")
        self.pending, self.held = [], ""
        return self._emit(text, final=True)

    def _emit(self, text: str, final: bool = False) -> str:
        hits = [(text.find(s), s) for s in self.stop if s in text]
        if hits:
            self.stopped = True
            self.held = ""
            return text[:min(hits)[0]]
        keep = 0 if final else max((k for s in self.stop for k in range(1, len(s))
                                    if text.endswith(s[:k])), default=0)
        self.held = text[len(text) - keep:] if keep else ""
        return text[:len(text) - keep]
