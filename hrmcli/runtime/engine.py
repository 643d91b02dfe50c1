"""Engine: one loaded HRM-Code GGUF with its tokenizer and KV cache; what backends call.

The cache is append-only across calls: a prompt that extends the previous prompt plus its
completion (the agent's next turn) only prefills the new tokens. Reuse backs off to the start
of a bidirectional block that the old and new prompts share only in part, because that
block's earlier tokens must see its later ones.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from hrmcli import prompt_format as pf
from hrmcli.runtime.generate import (
    LogitsProcessor,
    TextStream,
    generate_ids,
    last_position_heads,
    prefill,
)
from hrmcli.runtime.gguf_load import Loaded, load
from hrmcli.runtime.model import KVCache, Output, block_ids


@dataclass
class CallStats:
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV came from the previous call
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "stop" | "length" | "context"


KV_TYPES = {"f32": torch.float32, "f16": torch.float16}


def kv_dtype(name: str | None = None) -> torch.dtype:
    """The KV cache's element type: `name`, else $HRM_KV_CACHE, else f32. f16 halves the
    cache's memory and the bytes decoding reads per token at long contexts (llama.cpp's
    default); `hrm bench speed --kv f16` measures it and the model card gives its loss cost."""
    name = name or os.environ.get("HRM_KV_CACHE") or "f32"
    if name not in KV_TYPES:
        raise ValueError(f"unknown KV cache type {name!r}: use {' or '.join(KV_TYPES)}")
    return KV_TYPES[name]


_FROZEN = False


def freeze_loaded_objects() -> None:
    """Once per process, after the first model is loaded: move every object alive then (torch,
    the modules, the tokenizer) out of the collector's sight. With torch loaded a full
    collection scans some 300k objects, and decoding's small allocations trigger collections
    often enough to cost about a tenth of decoding time. Collected first, so no garbage is
    frozen; once only, so models loaded later (tests load many) are freed when dropped."""
    global _FROZEN
    if not _FROZEN:
        gc.collect()
        gc.freeze()
        _FROZEN = True


class Engine:
    """kv_slots: KV caches kept side by side, each with the prompt it holds. `hrm run` asks
    one model for plans and for edits in turn; with one cache each edit prompt would evict the
    plan prompt's prefix (they share only the system prompt), so every revised plan would be
    prefilled from scratch. A prompt goes to the cache that holds the longest reusable prefix
    of it, or, when none holds half of it, to a fresh cache (up to kv_slots), else to the one
    used least recently. Caches are allocated when first needed (a single-role chat uses
    one); each holds n_ctx positions."""

    def __init__(self, loaded: Loaded, n_ctx: int | None = None, kv: str | None = None,
                 kv_slots: int = 2):
        self.loaded = loaded
        self.cfg = loaded.cfg
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        last_position_heads(self.model)
        # `_last` follows every forward, so a logits processor running inside stream() reads
        # the heads (plan_logits, halt_prob) at the very position whose logits it is given
        # (generate_ids decodes the next token before it calls the processor).
        self.model.register_forward_hook(self._keep_last)
        self.n_ctx = min(n_ctx or self.cfg.max_seq_len, self.cfg.max_seq_len)
        self._kv_dtype = kv_dtype(kv)
        self.kv_slots = max(1, kv_slots)
        self.cache = KVCache(self.cfg, max_len=self.n_ctx, dtype=self._kv_dtype)
        freeze_loaded_objects()
        self._ids: list[int] = []  # what the cache holds, position by position
        # The other caches as [cache, ids, last use]; the active one is self.cache/self._ids.
        self._spare: list[list] = []
        self._clock = 0
        # Chat vocabularies (retrofits) have no prefix blocks: plain causal attention.
        ids = self.tokenizer.special_ids
        self._openers = {ids[t] for t in pf.BLOCK_OPENERS if t in ids}
        self._causal = ids.get(pf.CAUSAL_OPENER, -1)
        self._last: Output | None = None
        self.turn: list[int] = []  # prompt + completion ids of the last stream() call, no EOS
        self.last = CallStats()

    @classmethod
    def load(cls, path: str | Path, n_ctx: int | None = None,
             threads: int | None = None, kv: str | None = None, kv_slots: int = 2) -> Engine:
        if threads:
            torch.set_num_threads(threads)
        return cls(load(path), n_ctx, kv, kv_slots)

    def tokenize(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def detokenize(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids))

    def reset(self) -> None:
        self.cache.reset()
        self._ids = []
        for slot in self._spare:
            slot[0].reset()
            slot[1] = []

    # -- state of the last position -------------------------------------------------------
    def _keep_last(self, _module, _args, out: Output) -> None:
        self._last = out

    @property
    def plan_logits(self) -> torch.Tensor:
        """Plan-head logits over prompt_format.TOOLS at the last processed position."""
        if self._last is None:
            raise RuntimeError("nothing has been run yet")
        return self._last.plan_logits[0, -1]

    @property
    def halt_prob(self) -> float:
        """P(done) from the halt head at the last processed position."""
        if self._last is None:
            raise RuntimeError("nothing has been run yet")
        return float(torch.sigmoid(self._last.halt_logits[0, -1]))

    def end_of_turn(self) -> Output:
        """The output at the last token of the last stream() call (its prompt plus every
        sampled token but EOS): the position that predicts the end of the assistant turn,
        which is where training labels the halt head. stream() keeps only the output that
        sampled the last token, one position earlier, so this runs that last token again on
        the cached prefix (one token of work); the call's stats are kept."""
        if not self.turn:
            raise RuntimeError("nothing has been generated yet")
        stats = self.last
        out = self.evaluate(self.turn[:self.n_ctx])
        self.last = stats
        return out

    # -- running --------------------------------------------------------------------------
    def _reusable(self, ids: list[int], block: list[int], held: list[int] | None = None) -> int:
        n = 0
        for a, b in zip(self._ids if held is None else held, ids, strict=False):
            if a != b:
                break
            n += 1
        n = min(n, len(ids) - 1)  # the last prompt token must run to give logits
        while n > 0 and block[n] >= 0 and block[n - 1] == block[n]:
            n -= 1
        return max(n, 0)

    def _pick_slot(self, ids: list[int], block: list[int]) -> None:
        """Make the cache that suits `ids` the active one (see the class docstring)."""
        self._clock += 1
        best = self._reusable(ids, block)
        if best * 2 >= len(ids) or self.kv_slots == 1:
            return
        scores = [self._reusable(ids, block, held) for _, held, _ in self._spare]
        if scores and max(scores) > best and max(scores) * 2 >= len(ids):
            i = scores.index(max(scores))
        elif len(self._spare) + 1 < self.kv_slots:
            self._spare.append([KVCache(self.cfg, max_len=self.n_ctx, dtype=self._kv_dtype),
                                [], 0])
            i = len(self._spare) - 1
        else:  # every cache holds something: give up the one used least recently
            i = min(range(len(self._spare)), key=lambda j: self._spare[j][2])
        cache, held, _ = self._spare[i]
        self._spare[i] = [self.cache, self._ids, self._clock]
        self.cache, self._ids = cache, held

    def evaluate(self, ids: list[int]) -> Output:
        """Prefill `ids` (reusing the cached prefix) and return the last position's output."""
        if not ids:
            raise ValueError("empty prompt")
        if len(ids) > self.n_ctx:
            raise ValueError(f"prompt of {len(ids)} tokens exceeds the context of {self.n_ctx}")
        block = block_ids(ids, self._openers, self._causal)
        self._pick_slot(ids, block)
        keep = self._reusable(ids, block)
        self.cache.truncate(keep)
        self._ids = self._ids[:keep]
        self._last = prefill(self.model, ids[keep:], block[keep:], self.cache)
        self._ids.extend(ids[keep:])
        self.last = CallStats(prompt_tokens=len(ids), cached_tokens=keep)
        return self._last

    def stream(self, prompt_text: str, max_tokens: int = 256, temperature: float = 0.0,
               top_p: float = 1.0, stop: Sequence[str] = (),
               logits_processor: LogitsProcessor | None = None,
               seed: int | None = None) -> Iterator[str]:
        """Yield text pieces of the completion. Control tokens are kept in the text (plans
        use the tool tokens); EOS ends generation and is not shown."""
        prompt_ids = self.tokenize(prompt_text)
        self.turn = []
        first = self.evaluate(prompt_ids)
        self.turn = list(prompt_ids)
        stats = self.last
        text = TextStream(lambda t: self.tokenizer.decode(t), stop)
        stats.finish_reason = "length"
        eos = set(self.tokenizer.stop_ids)
        for tok, out in generate_ids(self.model, self.cache, first, max_tokens, temperature,
                                     top_p, eos, logits_processor, seed):
            self._last = out
            stats.completion_tokens += 1
            piece = text.push(tok)
            self._ids.append(tok)
            self.turn.append(tok)
            if piece:
                yield piece
            if text.stopped:
                stats.finish_reason = "stop"
                break
        else:
            if stats.completion_tokens < max_tokens:
                stats.finish_reason = "context" if self.cache.pos >= self.n_ctx else "stop"
        self._ids = self._ids[:self.cache.pos]  # the last sampled token is not cached
        tail = text.flush()
        if tail:
            yield tail
