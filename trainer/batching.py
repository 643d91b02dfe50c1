"""Training examples -> token ids, loss targets, block ids, plan and halt labels.

Two row sources share one layout, so a batch can mix them: task examples (prompt/answer
records from trainer.data: loss on answer tokens only) and windows of plain code from the
token shards (loss on every token). Everything is aligned to *targets*: position t reads
input token t and is scored against token t+1.

- target: next token where it is scored, else IGNORE (prompt, padding, observation blocks
  inside a multi-turn answer: the model never writes those).
- plan: the tool index when the next token is a tool token, else IGNORE; trains the plan
  head on z_H at exactly the position that chooses the next tool step.
- halt: at the position that predicts the end of an assistant turn (its last generated
  token), 1.0 when the finished turn is "done" (edit applied, tests passed), else 0.0.
  Earlier turns of a repair trajectory (in its prompt or answer) are labelled 0: they
  were followed by a failing test run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict

import numpy as np
import torch

from hrmcli import prompt_format as pf
from hrmcli.runtime.model import block_ids

IGNORE = -100
KINDS: tuple[str, ...] = ("lm", "edit", "plan", "repair")


class Example(TypedDict):
    """The training-example record written by trainer.data's task generators."""

    prompt: str
    answer: str
    kind: str  # "lm" | "edit" | "plan" | "repair"
    lang: str
    halt: int | None


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int], skip_control: bool = False) -> str: ...


@dataclass(frozen=True)
class SpecialIds:
    pad: int
    eos: int
    openers: frozenset[int]  # open a bidirectional prefix block
    causal: int  # <|assistant|>
    tool_of: dict[int, int]  # token id -> index into prompt_format.TOOLS

    @classmethod
    def from_tokenizer(cls, tok: Tokenizer) -> SpecialIds:
        def one(text: str) -> int:
            ids = tok.encode(text)
            if len(ids) != 1:
                raise ValueError(f"tokenizer splits the special token {text!r} into {ids}; "
                                 "retrain it with prompt_format.SPECIAL_TOKENS")
            return ids[0]

        return cls(pad=one(pf.PAD), eos=one(pf.EOS),
                   openers=frozenset(one(t) for t in pf.BLOCK_OPENERS),
                   causal=one(pf.CAUSAL_OPENER),
                   tool_of={one(t): i for i, t in enumerate(pf.TOOL_TOKENS)})

    def plan_labels(self, targets: np.ndarray) -> np.ndarray:
        out = np.full(targets.shape, IGNORE, dtype=np.int64)
        for tid, idx in self.tool_of.items():
            out[targets == tid] = idx
        return out


@dataclass
class Row:
    """One training sequence of T positions (before padding)."""

    inputs: np.ndarray  # int64 (T,)
    targets: np.ndarray  # int64 (T,), IGNORE where not scored
    block: np.ndarray  # int64 (T,), block ids of the inputs (-1: causal)
    plan: np.ndarray  # int64 (T,)
    halt: np.ndarray  # float32 (T,), IGNORE where unlabelled
    kind: str
    lang: str


def encode_example(tok: Tokenizer, ex: Example, sp: SpecialIds) -> Row:
    """Encode prompt and answer separately: prompts end in a special token, so the split
    is a token boundary and answer positions are known exactly."""
    p = tok.encode(ex["prompt"])
    a = tok.encode(ex["answer"])
    if not a or a[-1] != sp.eos:
        a = a + [sp.eos]
    ids = np.asarray(p + a, dtype=np.int64)
    blk = np.asarray(block_ids(ids.tolist(), set(sp.openers), sp.causal), dtype=np.int64)
    inputs, targets = ids[:-1], ids[1:].copy()
    in_answer = np.arange(1, len(ids)) >= len(p)
    generated = in_answer & (blk[1:] < 0)
    targets[~generated] = IGNORE
    halt = np.full(len(inputs), IGNORE, dtype=np.float32)
    if ex.get("halt") is not None:
        # Last generated token of each assistant turn (earlier turns may sit in the prompt,
        # as in repair trajectories): a causal token followed by EOS or an observation.
        cur, nxt = ids[:-1], ids[1:]
        turn_end = (nxt == sp.eos) | np.isin(nxt, list(sp.openers))
        ends = np.flatnonzero((blk[:-1] < 0) & (cur != sp.eos) & turn_end)
        halt[ends] = 0.0
        if len(ends):
            halt[ends[-1]] = float(ex["halt"])
    return Row(inputs, targets, blk[:-1], sp.plan_labels(targets), halt,
               ex["kind"], ex.get("lang", ""))


def lm_row(window: np.ndarray, sp: SpecialIds, lang: str = "") -> Row:
    """A window of seq_len + 1 shard tokens: plain causal LM, every token scored."""
    w = np.asarray(window, dtype=np.int64)
    n = len(w) - 1
    return Row(w[:-1], w[1:].copy(), np.full(n, -1, dtype=np.int64), sp.plan_labels(w[1:]),
               np.full(n, IGNORE, dtype=np.float32), "lm", lang)


@dataclass
class Batch:
    inputs: torch.Tensor  # (B, T)
    targets: torch.Tensor
    block: torch.Tensor | None  # None when every row is plain causal (fast SDPA path)
    plan: torch.Tensor
    halt: torch.Tensor
    kinds: list[str]
    langs: list[str]

    def to(self, device: torch.device | str) -> Batch:
        def mv(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return Batch(mv(self.inputs), mv(self.targets), mv(self.block), mv(self.plan),
                     mv(self.halt), self.kinds, self.langs)

    @property
    def n_scored(self) -> int:
        return int((self.targets != IGNORE).sum())


def collate(rows: Sequence[Row], sp: SpecialIds, seq_len: int) -> Batch:
    """Right-pad to seq_len. Padding is its own causal region that nothing scores, and
    since real tokens never attend forward past a causal token, it cannot leak back."""
    b = len(rows)
    inputs = np.full((b, seq_len), sp.pad, dtype=np.int64)
    targets = np.full((b, seq_len), IGNORE, dtype=np.int64)
    block = np.full((b, seq_len), -1, dtype=np.int64)
    plan = np.full((b, seq_len), IGNORE, dtype=np.int64)
    halt = np.full((b, seq_len), IGNORE, dtype=np.float32)
    for i, r in enumerate(rows):
        n = len(r.inputs)
        if n > seq_len:
            raise ValueError(f"row of {n} tokens is longer than seq_len {seq_len}")
        inputs[i, :n], targets[i, :n], block[i, :n] = r.inputs, r.targets, r.block
        plan[i, :n], halt[i, :n] = r.plan, r.halt
    has_blocks = bool((block >= 0).any())
    return Batch(torch.from_numpy(inputs), torch.from_numpy(targets),
                 torch.from_numpy(block) if has_blocks else None, torch.from_numpy(plan),
                 torch.from_numpy(halt), [r.kind for r in rows], [r.lang for r in rows])


@dataclass
class TokenStream:
    """A flat token array (e.g. a memmapped shard) with document starts and languages, so
    that losses can be attributed per language."""

    tokens: np.ndarray
    starts: np.ndarray  # int64, ascending offsets of the documents' first tokens
    langs: list[str]  # language of each document

    def lang_at(self, offset: int) -> str:
        i = int(np.searchsorted(self.starts, offset, side="right")) - 1
        return self.langs[max(i, 0)] if self.langs else ""

    def documents(self) -> list[tuple[str, np.ndarray]]:
        ends = list(self.starts[1:]) + [len(self.tokens)]
        return [(lang, self.tokens[a:b]) for lang, a, b in
                zip(self.langs, self.starts, ends, strict=True)]


@dataclass
class TrainData:
    """What the training loop draws from: the tokenizer, the LM token streams and the
    task examples, encoded once. Built by trainer.train.prepare_data (or by tests)."""

    tokenizer: Tokenizer
    tokenizer_path: str
    lm_train: TokenStream | None
    lm_heldout: TokenStream | None
    examples: dict[str, list[Example]]  # training task examples by kind
    heldout_examples: list[Example]
    corpus: str = ""

    def __post_init__(self) -> None:
        self.special = SpecialIds.from_tokenizer(self.tokenizer)
        self._encoded: dict[str, list[Row]] = {}

    def rows(self, kind: str, seq_len: int) -> list[Row]:
        """Encoded examples of `kind` that fit seq_len (longer ones are skipped, not cut:
        a cut prompt loses the file the answer edits)."""
        if kind not in self._encoded:
            self._encoded[kind] = [encode_example(self.tokenizer, ex, self.special)
                                   for ex in self.examples.get(kind, [])]
        key = f"{kind}@{seq_len}"
        if key not in self._encoded:
            self._encoded[key] = [r for r in self._encoded[kind] if len(r.inputs) <= seq_len]
        return self._encoded[key]

    def available_kinds(self, seq_len: int) -> set[str]:
        kinds = {k for k in self.examples if k != "lm" and self.rows(k, seq_len)}
        if self.lm_train is not None and len(self.lm_train.tokens) > seq_len + 1:
            kinds.add("lm")
        return kinds

    @property
    def langs(self) -> list[str]:
        found = set(self.lm_train.langs if self.lm_train is not None else [])
        found |= {ex.get("lang", "") for exs in self.examples.values() for ex in exs}
        return sorted(found)
