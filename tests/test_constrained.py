"""Constrained SEARCH decoding on a real byte-level BPE tokenizer (trained here on real
source files): with random logits every SEARCH section the processor lets through is a
verbatim span of the file, and it raises the well-formed rate of a noisy copying model."""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hrmcli.agent.editblocks as editblocks
import hrmcli.prompt_format as prompt_format
from hrmcli.agent.apply import apply_edits
from hrmcli.agent.constrained import (
    SearchConstraint,
    TokenTrie,
    normalise_file,
    tokenizer_token_bytes,
)
from hrmcli.agent.editblocks import parse_edits
from trainer.tokenizer import Tokenizer

TARGET = "pkg/editblocks.py"
FILE = Path(editblocks.__file__).read_text(encoding="utf-8") + "\n# caf\u00e9 \u2603 \u4e2d\u6587\n"


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    corpus = [Path(m.__file__).read_text(encoding="utf-8") for m in (editblocks, prompt_format, inspect, textwrap)]
    return Tokenizer.train(corpus, 1200)


@pytest.fixture(scope="module")
def trie(tok: Tokenizer) -> TokenTrie:
    return TokenTrie(tokenizer_token_bytes(tok))


def _decode(trie: TokenTrie, ids: list[int]) -> str:
    return b"".join(trie.token_bytes[i] for i in ids).decode("utf-8", "replace")


def sample_search(tok, trie, rng, prefix: str, steps: int = 120, constrain: bool = True):
    """Random-logit decoding after `prefix` until the SEARCH section closes; the text."""
    c = SearchConstraint(trie, {TARGET: FILE})
    prompt = tok.encode("<|bos|>edit it<|assistant|>")
    ids = list(prompt)
    vocab = len(trie.token_bytes)
    c(ids, np.zeros(vocab))  # first call: everything so far is the prompt
    for t in tok.encode(prefix):
        ids.append(t)
    for _ in range(steps):
        logits = rng.normal(size=vocab) * 4
        if constrain:
            logits = c(ids, logits)
        ids.append(int(np.argmax(logits)))
        if "\n=======\n" in _decode(trie, ids[len(prompt):]):
            break
    return _decode(trie, ids[len(prompt):])


def _search_of(text: str) -> str | None:
    blocks = parse_edits(text + "\nx\n>>>>>>> REPLACE\n```\n").blocks
    return blocks[0].search if blocks else None


def _is_span(search: str) -> bool:
    body = normalise_file(FILE).decode()
    return search == "" or ("\n" + body).find("\n" + search) >= 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), partial=st.sampled_from(["", "<<<<<<< SEA", "<<<<<<< SEARCH"]))
def test_every_constrained_search_is_a_span_of_the_file(tok, trie, seed, partial):
    rng = np.random.default_rng(seed)
    prefix = f"{TARGET}\n```python\n" + (partial or "<<<<<<< SEARCH\n")
    text = sample_search(tok, trie, rng, prefix)
    search = _search_of(text)
    if search is not None:
        assert _is_span(search), search
    elif "<<<<<<< SEARCH\n" in text:  # not closed in the step budget: still in the file
        body = text.split("<<<<<<< SEARCH\n", 1)[1]
        head, _, last = body.rpartition("\n")
        if "=======".startswith(last):  # a divider being written
            body = head + "\n" if head else ""
        assert ("\n" + normalise_file(FILE).decode()).find("\n" + body) >= 0


def test_unconstrained_random_search_does_not_match(tok, trie):
    rng = np.random.default_rng(0)
    texts = [sample_search(tok, trie, rng, f"{TARGET}\n```python\n<<<<<<< SEARCH\n", 40, False)
             for _ in range(10)]
    assert not any((s := _search_of(t)) is not None and s and _is_span(s) for t in texts)


def test_multibyte_characters_split_across_byte_tokens(tok, trie):
    # the file's last line has 2- and 3-byte characters: byte-level tokens split them
    c = SearchConstraint(trie, {TARGET: FILE})
    c([], np.zeros(len(trie.token_bytes)))
    line = "# caf\u00e9 \u2603 \u4e2d\u6587\n"
    ids = tok.encode(f"{TARGET}\n<<<<<<< SEARCH\n" + line[:9])
    c.__call__(ids, np.zeros(len(trie.token_bytes)))
    kind, allowed = c.allowed()
    assert kind == "allow"
    rest = line[9:].encode()
    assert any(rest.startswith(trie.token_bytes[i]) for i in allowed)
    assert all(rest.startswith(trie.token_bytes[i]) or trie.token_bytes[i].startswith(rest)
               for i in allowed)


def test_new_file_search_must_be_empty_and_control_tokens_are_banned(tok, trie):
    c = SearchConstraint(trie, {TARGET: FILE})
    c([], np.zeros(len(trie.token_bytes)))
    ids = tok.encode("new/file.py\n<<<<<<< SEARCH\n")
    c(ids, np.zeros(len(trie.token_bytes)))
    kind, allowed = c.allowed()
    assert kind == "allow"
    assert all(b"=======\n".startswith(trie.token_bytes[i]) or trie.token_bytes[i].startswith(b"=======\n")
               for i in allowed)
    assert tok.eos_id not in allowed


def test_marker_token_cannot_run_on_into_text_outside_the_file(trie):
    # a vocabulary with a token that glues the marker line to SEARCH text
    vocab = [b"", b"<<<<<<< SEARCH\nbogus", b"<<<<<<< SEARCH\nx = 1", b"a", b"\n", b"=======\n"]
    t = TokenTrie(vocab)
    c = SearchConstraint(t, {"f.py": "x = 1\ny = 2\n"})
    out = c([], np.zeros(len(vocab)))
    assert c.allowed() == ("ban", [1])
    assert np.isinf(out[1]) and np.isfinite(out[[2, 3, 4, 5]]).all()


def test_torch_logits_are_masked_too(tok, trie):
    import torch

    c = SearchConstraint(trie, {TARGET: FILE})
    c([], torch.zeros(len(trie.token_bytes)))  # our runtime passes only generated ids
    out = c(tok.encode(f"{TARGET}\n<<<<<<< SEARCH\n"), torch.zeros(len(trie.token_bytes)))
    assert isinstance(out, torch.Tensor) and torch.isinf(out).any() and torch.isfinite(out).any()


# -- well-formed rate of a noisy copying model, with and without the constraint ----------
REFERENCE_SEARCH = (
    "        if not path:\n"
    "            result.errors.append(\n"
)


def noisy_copy_rate(tok, trie, constrain: bool, trials: int, noise: float, tmp_root: Path,
                    seed: int = 1) -> float:
    """A stand-in for a small model that mostly copies: logits = noise + a bonus on the
    reference reply's next token (by position). Returns the fraction of replies that are
    well formed and apply (parse ok, dry-run ok)."""
    reference = (f"{TARGET}\n```python\n<<<<<<< SEARCH\n{REFERENCE_SEARCH}=======\n"
                 "        if not path:  # no path given\n            result.errors.append(\n"
                 ">>>>>>> REPLACE\n```\n")
    ref_ids = tok.encode(reference)
    vocab = len(trie.token_bytes)
    rng = np.random.default_rng(seed)
    root = Path(tmp_root)
    ok = 0
    for _ in range(trials):
        c = SearchConstraint(trie, {TARGET: FILE})
        ids: list[int] = []
        for step in range(len(ref_ids) + 10):
            logits = rng.normal(size=vocab) * noise
            if step < len(ref_ids):
                logits[ref_ids[step]] += 6.0
            else:
                logits[tok.eos_id] += 6.0
            if constrain:
                logits = c(ids, logits)
            nxt = int(np.argmax(logits))
            if nxt == tok.eos_id:
                break
            ids.append(nxt)
        parsed = parse_edits(_decode(trie, ids))
        if parsed.ok and parsed.blocks:
            ok += int(_dry_run_ok(parsed.blocks, root))
    return ok / trials


def _dry_run_ok(blocks, root: Path) -> bool:
    (root / "pkg").mkdir(parents=True, exist_ok=True)
    (root / TARGET).write_text(FILE, encoding="utf-8")
    return apply_edits(blocks, root, dry_run=True).ok


@pytest.mark.parametrize("noise", [1.0, 1.3])
def test_constraint_raises_the_well_formed_rate(tok, trie, capsys, noise, tmp_path):
    trials = 30
    without = noisy_copy_rate(tok, trie, False, trials, noise, tmp_path)
    with_c = noisy_copy_rate(tok, trie, True, trials, noise, tmp_path)
    with capsys.disabled():
        print(f"\nwell-formed rate, noisy copier (noise {noise}) over {trials} replies: "
              f"unconstrained {without:.2f}, constrained {with_c:.2f}")
    assert with_c > without
