"""Held-out evaluation of a trained HRM-Code checkpoint (`hrm eval`).

Metrics are the ones the product depends on, computed through the product's own parts:
- loss and bits per byte per language on held-out code (bytes of the decoded text, so
  numbers compare across tokenizers);
- SEARCH/REPLACE apply rate and exact match: each task run through hrm edit's own coder
  (hrmcli.agent.coder.EditCoder: its prompts, constrained decoding and repairs) on the
  runtime's engine, on the prompt's files in a temp dir;
- tool-plan exact match through prompt_format.parse_plan;
- halt-head accuracy at the end of labelled assistant turns (teacher forced).
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hrmcli import prompt_format as pf
from hrmcli.agent.backends.base import GenerationOptions
from hrmcli.runtime.model import HRMCode, KVCache, block_ids

from .batching import IGNORE, Example, SpecialIds, Tokenizer, TokenStream, encode_example

_FILE_RE = re.compile(re.escape(pf.FILE) + r"([^\n]*)\n(.*?)" + re.escape(pf.END_FILE), re.S)
_USER_RE = re.compile(re.escape(pf.USER) + r"(.*?)" + re.escape(pf.END_USER), re.S)


@torch.no_grad()
def heldout_lm_loss(model: HRMCode, stream: TokenStream, seq_len: int, n_batches: int,
                    batch_size: int, device: torch.device | str = "cpu") -> float:
    """Mean next-token loss over evenly spaced held-out windows (the same ones every call)."""
    toks = stream.tokens
    n_win = min(n_batches * batch_size, max(1, (len(toks) - 1) // seq_len))
    if len(toks) < 2:
        return float("nan")
    span = min(seq_len, len(toks) - 1)
    starts = np.linspace(0, len(toks) - span - 1, n_win).astype(np.int64)
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(starts), batch_size):
        w = np.stack([toks[s:s + span + 1] for s in starts[i:i + batch_size]]).astype(np.int64)
        x = torch.from_numpy(w).to(device)
        logits = model(x[:, :-1]).logits.float()
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                       x[:, 1:].reshape(-1), reduction="sum"))
        count += x[:, 1:].numel()
    return total / max(count, 1)


@torch.no_grad()
def bits_per_byte(model: HRMCode, tok: Tokenizer, stream: TokenStream, seq_len: int,
                  max_docs: int = 200, device: torch.device | str = "cpu") -> dict[str, dict]:
    """Per language: mean token loss and bits per byte of held-out documents.

    Each document is scored in windows of seq_len + 1 tokens with stride seq_len, so every
    token but the first is scored exactly once; bytes are those of the decoded scored text.
    max_docs is shared evenly between the languages (shards are ordered by language, so the
    first max_docs documents would cover only a few of them).
    """
    model.eval()
    by_lang: dict[str, list] = {}
    for lang, doc in stream.documents():
        by_lang.setdefault(lang, []).append(doc)
    per_lang = max(1, max_docs // max(1, len(by_lang)))
    acc: dict[str, list[float]] = {}
    for lang, doc in ((lang, d) for lang, docs in by_lang.items() for d in docs[:per_lang]):
        if len(doc) < 2:
            continue
        nats, n = 0.0, 0
        for a in range(0, len(doc) - 1, seq_len):
            w = torch.from_numpy(np.asarray(doc[a:a + seq_len + 1], dtype=np.int64))[None]
            w = w.to(device)
            logits = model(w[:, :-1]).logits.float()
            nats += float(F.cross_entropy(logits[0], w[0, 1:], reduction="sum"))
            n += w.shape[1] - 1
        n_bytes = len(tok.decode([int(t) for t in doc[1:]]).encode("utf-8"))
        s = acc.setdefault(lang, [0.0, 0, 0])
        s[0] += nats
        s[1] += n
        s[2] += n_bytes
    return {lang: {"loss": nats / n, "bits_per_byte": nats / math.log(2) / max(b, 1),
                   "tokens": n, "bytes": b} for lang, (nats, n, b) in sorted(acc.items())}


def greedy_generate(model: HRMCode, prompt: Sequence[int], sp: SpecialIds, max_new: int,
                    stop: set[int] | None = None) -> list[int]:
    """Greedy continuation of `prompt` through the runtime's own prefill/decode (the
    block-causal prompt prefilled once, then one cached token per step), without the stop
    token. Stops at EOS (or any id in `stop`), max_new tokens or the context limit."""
    from hrmcli.runtime.generate import generate_ids, prefill

    n_ctx = min(model.cfg.max_seq_len, len(prompt) + max_new)
    if len(prompt) >= n_ctx:
        return []
    model.eval()
    cache = KVCache(model.cfg, batch=1, max_len=n_ctx)
    ids = list(prompt)
    first = prefill(model, ids, block_ids(ids, set(sp.openers), sp.causal), cache)
    return [t for t, _ in generate_ids(model, cache, first, max_new,
                                       stop_ids=stop if stop is not None else {sp.eos})]


def prompt_files(prompt: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _FILE_RE.finditer(prompt)]


def apply_answer(files: list[tuple[str, str]], answer: str) -> dict[str, str] | None:
    """Apply a SEARCH/REPLACE answer to the files in a temp dir with the agent's engine;
    the resulting file contents, or None when parsing or applying fails."""
    from hrmcli.agent.apply import apply_edits
    from hrmcli.agent.editblocks import parse_edits

    parsed = parse_edits(answer)
    if not parsed.ok or not parsed.blocks:
        return None
    with tempfile.TemporaryDirectory(prefix="hrm-eval-") as tmp:
        root = _write_files(Path(tmp), files)
        try:
            res = apply_edits(parsed.blocks, root)
        except (OSError, ValueError):
            return None
        if not res.ok:
            return None
        return {p: (root / p).read_text(encoding="utf-8") for p, _ in files}


def edit_metrics(model: HRMCode, tok: Tokenizer, examples: list[Example], sp: SpecialIds,
                 max_new: int, tick: Callable[[], None] | None = None) -> dict[str, Any]:
    """Apply rate and exact match on held-out edit tasks, each edited the way `hrm edit`
    edits: the files written to a temp dir and EditCoder run on them through our runtime,
    so the prompts, constrained SEARCH decoding, repairs and context handling are hrm edit's
    own. A task is skipped when its reference answer does not apply or its prompt is not the
    one hrm edit would send for its files and request (a layout hrm edit never uses)."""
    from hrmcli.agent.coder import CoderError, EditCoder

    backend = _checkpoint_backend(model, tok)
    opts = GenerationOptions(max_tokens=max_new, temperature=0.0)
    applied = exact = tried = skipped = 0
    for ex in examples:
        files = prompt_files(ex["prompt"])
        task = _user_text(ex["prompt"])
        want = apply_answer(files, ex["answer"])
        if want is None or task is None or pf.edit_prompt(files, task) != ex["prompt"] \
                or len(tok.encode(ex["prompt"])) + 8 > model.cfg.max_seq_len:
            skipped += 1
        else:
            tried += 1
            with tempfile.TemporaryDirectory(prefix="hrm-eval-") as tmp:
                root = _write_files(Path(tmp), files)
                coder = EditCoder(backend, root, options=opts)
                try:
                    outcome = coder.run([p for p, _ in files], task)
                except CoderError:
                    outcome = None
                if outcome is not None and outcome.applied:
                    applied += 1
                    exact += {p: (root / p).read_text(encoding="utf-8") for p, _ in files} == want
        if tick:
            tick()
    return {"tasks": tried, "skipped": skipped, "apply_rate": applied / tried if tried else None,
            "exact_match": exact / tried if tried else None}


def _checkpoint_backend(model: HRMCode, tok: Tokenizer):
    """The checkpoint's model (a copy: the engine wraps its heads) as hrm edit's backend."""
    import copy

    from hrmcli.agent.backends.hrm import HRMBackend
    from hrmcli.runtime.engine import Engine
    from hrmcli.runtime.gguf_load import Loaded

    m = copy.deepcopy(model).eval()
    return HRMBackend("checkpoint", Engine(Loaded(cfg=m.cfg, model=m, tokenizer=tok, metadata={})))


def _user_text(prompt: str) -> str | None:
    m = _USER_RE.search(prompt)
    return m.group(1) if m else None


def _write_files(root: Path, files: list[tuple[str, str]]) -> Path:
    for path, text in files:
        dest = root / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
    return root


def plan_metrics(model: HRMCode, tok: Tokenizer, examples: list[Example], sp: SpecialIds,
                 max_new: int, tick: Callable[[], None] | None = None) -> dict[str, Any]:
    end_plan = tok.encode(pf.END_PLAN)[0]
    exact = tried = 0
    for ex in examples:
        prompt = tok.encode(ex["prompt"])
        if len(prompt) + 8 <= model.cfg.max_seq_len:
            tried += 1
            out = greedy_generate(model, prompt, sp, max_new, stop={sp.eos, end_plan})
            exact += pf.parse_plan(tok.decode(out)) == pf.parse_plan(ex["answer"])
        if tick:
            tick()
    return {"tasks": tried, "exact_match": exact / tried if tried else None}


@torch.no_grad()
def halt_metrics(model: HRMCode, tok: Tokenizer, examples: list[Example], sp: SpecialIds,
                 device: torch.device | str = "cpu") -> dict[str, Any]:
    """Accuracy of halt logit > 0 against the labels at turn ends, teacher forced."""
    right = total = 0
    for ex in examples:
        row = encode_example(tok, ex, sp)
        labelled = row.halt != IGNORE
        if not labelled.any() or len(row.inputs) > model.cfg.max_seq_len:
            continue
        x = torch.from_numpy(row.inputs)[None].to(device)
        b = torch.from_numpy(row.block)[None].to(device)
        pred = (model(x, b).halt_logits[0].cpu().numpy() > 0)[labelled]
        right += int((pred == (row.halt[labelled] > 0.5)).sum())
        total += int(labelled.sum())
    return {"labels": total, "accuracy": right / total if total else None}
