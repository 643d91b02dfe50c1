"""The llama-cpp-python backend on a tiny llama-architecture GGUF made by our converter
(random weights, our byte-level BPE tokenizer): it loads, streams, counts tokens, and
constrained SEARCH decoding runs through llama.cpp's logits-processor hook."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hrmcli.agent.editblocks as editblocks
from hrmcli.agent.backends import load_backend, read_gguf_info
from hrmcli.agent.backends.base import GenerationOptions, Message, complete
from hrmcli.agent.constrained import SearchConstraint, TokenTrie, normalise_file
from hrmcli.agent.editblocks import parse_edits

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.llama

FILE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


def write_tiny_llama(path: Path, seed: int = 0) -> Path:
    """A ~100k-parameter llama GGUF through converters.llama_export."""
    import torch

    from converters.gguf_export import Checkpoint
    from converters.llama_export import export_llama
    from hrmcli.runtime.model import HRMCode, HRMConfig
    from trainer.tokenizer import Tokenizer

    tok = Tokenizer.train([Path(editblocks.__file__).read_text(encoding="utf-8"), FILE * 20], 600)
    cfg = HRMConfig(vocab_size=tok.vocab_size, d_model=64, n_heads=2, n_kv_heads=2, h_layers=2,
                    l_layers=0, h_cycles=1, l_cycles=0, max_seq_len=512)
    torch.manual_seed(seed)
    model = HRMCode(cfg)
    export_llama(Checkpoint(cfg, model.state_dict(), tok.to_gguf_fields(), {"name": "tiny"}),
                 path, "f32")
    return path


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    return load_backend(str(write_tiny_llama(tmp_path_factory.mktemp("m") / "tiny.gguf")))


def test_gguf_header_is_read_without_loading(backend):
    info = read_gguf_info(backend.path)
    assert info.arch == "llama" and info.quant == "F32" and info.context == 512
    assert info.size == backend.path.stat().st_size


def test_loads_and_streams_tokens(backend):
    pieces: list[str] = []
    msgs = [Message("file", f"m.py\n{FILE}"), Message("user", "rename add to plus")]
    done = complete(backend, msgs, GenerationOptions(max_tokens=24, temperature=1.0, seed=3),
                    pieces.append)
    assert backend.prompt_style == "hrm"  # our baseline: no chat template, HRM role tokens
    assert len(pieces) > 1 and done.text == "".join(pieces)
    assert done.completion_tokens == 24  # random weights rarely pick <|eos|>
    assert done.prompt_tokens > 10 and done.finish_reason == "length"


def test_token_bytes_match_the_tokenizer(backend):
    tb = backend.token_bytes()
    ids = backend.llm.tokenize(b"    return a + b\n", add_bos=False)
    assert b"".join(tb[i] for i in ids) == b"    return a + b\n"
    assert tb[backend.llm.token_eos()] == b""


def _run(backend, trie, constrain: bool, seed: int, bias: list[int] | None = None) -> str:
    """Generate after a forced 'm.py / SEARCH' opening, optionally nudged toward `bias`."""
    msgs = [Message("file", f"m.py\n{FILE}"), Message("user", "fix")]
    state = {"n": None}

    def nudge(ids, scores):
        if state["n"] is None:
            state["n"] = len(ids)
        k = len(ids) - state["n"]
        if bias and k < len(bias):
            scores = np.array(scores, copy=True)
            scores[bias[k]] += 8.0
        return scores

    c = SearchConstraint(trie, {"m.py": FILE}) if constrain else None

    def both(ids, scores):
        s = nudge(ids, scores)
        return c(ids, s) if c else s

    done = complete(backend, msgs, GenerationOptions(max_tokens=60, temperature=1.5, seed=seed,
                                                    logits_processor=both))
    return done.text


def test_constrained_search_through_llama_cpp_always_matches(backend):
    trie = TokenTrie(backend.token_bytes())
    opening = list(backend.llm.tokenize(b"m.py\n<<<<<<< SEARCH\n", add_bos=False, special=True))
    body = ("\n" + normalise_file(FILE).decode())
    opened = 0
    for seed in range(6):
        text = _run(backend, trie, True, seed, bias=opening)
        assert text.startswith("m.py\n<<<<<<< SEARCH\n")
        opened += 1
        search = text.split("<<<<<<< SEARCH\n", 1)[1].split("=======")[0]
        assert body.find("\n" + search) >= 0, search
    assert opened == 6


def test_well_formed_rate_with_and_without_constraint(backend, capsys):
    """A random-weight model nudged toward a correct reply (bonus 8 on each reference
    token, temperature 1.5): how often the whole reply parses and applies."""
    trie = TokenTrie(backend.token_bytes())
    reference = ("m.py\n<<<<<<< SEARCH\n    return a + b\n=======\n    return b + a\n"
                 ">>>>>>> REPLACE\n")
    ref = list(backend.llm.tokenize(reference.encode(), add_bos=False, special=True))
    trials = 12
    rates = {}
    for constrain in (False, True):
        ok = 0
        for seed in range(trials):
            parsed = parse_edits(_run(backend, trie, constrain, seed, bias=ref))
            ok += int(parsed.ok and bool(parsed.blocks) and
                      all(("\n" + FILE).find("\n" + b.search) >= 0 for b in parsed.blocks))
        rates[constrain] = ok / trials
    with capsys.disabled():
        print(f"\nllama.cpp tiny model, nudged copy, {trials} replies: well-formed "
              f"unconstrained {rates[False]:.2f}, constrained {rates[True]:.2f}")
    assert rates[True] >= rates[False]


def test_hrm_models_lists_installed_gguf(backend, tmp_path):
    import json
    import os
    import shutil
    import subprocess
    import sys

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(backend.path, models / "tiny.gguf")
    (models / "broken.gguf").write_bytes(b"GGUF not really")
    env = {**os.environ, "HRM_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "hrmcli", "models", "--json"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    tiny = next(x for x in rows if x["name"] == "tiny")
    assert tiny["arch"] == "llama" and tiny["quant"] == "F32" and tiny["size"] > 0
    assert "broken.gguf" in r.stderr  # skipped with a reason, not a traceback
