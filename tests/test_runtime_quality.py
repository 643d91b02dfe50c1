"""Quantised GGUF quality: held-out loss of Q8_0 / Q4_0 within 1% / 5% of F32, on a tiny
HRM-Code briefly trained on real code (the standard library), through our runtime."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bench.speed import code_corpus
from converters.gguf_export import Checkpoint, export_hrm
from hrmcli.runtime.gguf_load import load
from hrmcli.runtime.model import HRMCode, HRMConfig
from trainer.tokenizer import Tokenizer

SEQ = 64


def _windows(ids: list[int], n: int, g: torch.Generator) -> torch.Tensor:
    t = torch.tensor(ids)
    starts = torch.randint(0, len(ids) - SEQ - 1, (n,), generator=g)
    return torch.stack([t[s:s + SEQ + 1] for s in starts.tolist()])


def _loss(model, batch: torch.Tensor) -> float:
    with torch.no_grad():
        logits = model(batch[:, :-1]).logits
    return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    texts = code_corpus(400_000)
    tok = Tokenizer.train(texts[:-3], 512)
    train_ids = tok.encode("\n".join(texts[:-3]))
    held_ids = tok.encode("\n".join(texts[-3:]))
    cfg = HRMConfig(vocab_size=tok.vocab_size, d_model=128, n_heads=4, n_kv_heads=2,
                    h_layers=1, l_layers=1, max_seq_len=SEQ)
    torch.manual_seed(0)
    model = HRMCode(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        b = _windows(train_ids, 8, g)
        out = model(b[:, :-1], grad_window=2)
        loss = F.cross_entropy(out.logits.reshape(-1, cfg.vocab_size), b[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    held = _windows(held_ids, 24, torch.Generator().manual_seed(1))
    d = tmp_path_factory.mktemp("q")
    ck = Checkpoint(cfg, model.state_dict(), tok.to_gguf_fields(), {})
    losses = {}
    for q in ("f32", "q8_0", "q4_0"):
        export_hrm(ck, d / f"{q}.gguf", q)
        losses[q] = _loss(load(d / f"{q}.gguf").model, held)
    model.eval()
    losses["torch"] = _loss(model, held)
    return losses


def test_trained_model_learned_something(trained):
    print("held-out loss", trained)
    assert trained["f32"] < 0.75 * torch.log(torch.tensor(512.0)).item()
    assert abs(trained["f32"] - trained["torch"]) < 1e-4


def test_q8_0_within_1_percent(trained):
    print("held-out loss", trained)
    assert trained["q8_0"] <= trained["f32"] * 1.01


def test_q4_0_within_5_percent(trained):
    assert trained["q4_0"] <= trained["f32"] * 1.05
