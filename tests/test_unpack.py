"""converters.unpack: an hrm-code GGUF back to a checkpoint the tuner starts from."""

from __future__ import annotations

import torch

from converters.gguf_export import export_hrm
from converters.retrofit import ConvertError, retrofit
from converters.unpack import main, unpack
from hrmcli.runtime.model import HRMCode, HRMConfig
from trainer.checkpoint import load_checkpoint


def _logits(state: dict, cfg: HRMConfig, ids: list[int]) -> torch.Tensor:
    m = HRMCode(cfg).eval()
    m.load_state_dict(state)
    with torch.no_grad():
        return m(torch.tensor([ids])).logits[0]


def test_f32_round_trip_is_exact(tiny_llama, tmp_path):
    path, tok = tiny_llama
    ck = retrofit(path, "core:2:3:2")  # prelude, core and coda, inject_l: every tensor kind
    out = tmp_path / "hrm.gguf"
    export_hrm(ck, out, "f32")
    got = unpack(out)
    assert HRMConfig.from_dict(got["model_config"]) == ck.cfg
    assert set(got["model"]) == set(ck.state)
    for k, v in ck.state.items():
        assert torch.equal(got["model"][k], v), k
    assert got["tokenizer"]["tokens"] == ck.tokenizer_fields["tokens"]
    assert got["provenance"]["layout"] == "core:2:3:2"
    assert got["prompt_format"] == ck.prompt_format


def test_q8_0_unpack_computes_what_was_quantised(tiny_llama, tmp_path):
    path, _ = tiny_llama
    ck = retrofit(path, "identity")
    out = tmp_path / "hrm-q8.gguf"
    export_hrm(ck, out, "q8_0")
    pt = tmp_path / "start.pt"
    assert main([str(out), str(pt)]) == 0
    back = load_checkpoint(pt)
    ids = list(range(3, 40))
    want = _logits(ck.state, ck.cfg, ids)
    got = _logits(back["model"], HRMConfig.from_dict(back["model_config"]), ids)
    assert (got.argmax(-1) == want.argmax(-1)).float().mean() >= 0.9
    assert (got - want).abs().max() < 0.1 * want.abs().max()
    # tied embeddings stay tied: the head is the embedding
    assert torch.equal(back["model"]["lm_head.weight"], back["model"]["embed.weight"])


def test_truncated_file_is_a_clear_error(tiny_llama, tmp_path, capsys):
    path, _ = tiny_llama
    out = tmp_path / "hrm.gguf"
    export_hrm(retrofit(path, "identity"), out, "f32")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(out.read_bytes()[: out.stat().st_size // 3])
    assert main([str(bad), str(tmp_path / "x.pt")]) == 2
    assert "error:" in capsys.readouterr().out
    assert not (tmp_path / "x.pt").exists()
    try:
        unpack(tmp_path / "missing.gguf")
    except ConvertError as e:
        assert "missing.gguf" in str(e)
    else:
        raise AssertionError("a missing file must raise ConvertError")


def test_relayout_starts_as_the_tuned_identity_model(tiny_llama, tmp_path):
    """A tuned identity checkpoint in core and planner layouts computes the same logits at
    1, 2 and 4 cycles (the new parts start at zero) and keeps its plan head."""
    from dataclasses import replace

    from converters.retrofit import relayout

    path, _ = tiny_llama
    ck = retrofit(path, "identity")
    ck.state["plan_head.weight"] = torch.randn_like(ck.state["plan_head.weight"])
    payload = {"model": ck.state, "model_config": ck.cfg.to_dict(), "tokenizer": ck.tokenizer_fields,
               "provenance": ck.provenance, "prompt_format": ck.prompt_format}
    ids = list(range(5, 30))
    want = _logits(ck.state, ck.cfg, ids)
    for layout, field in (("core:2:3:2", "l_cycles"), ("planner:1:2", "h_cycles")):
        new = relayout(payload, layout)
        assert new.provenance["layout"] == layout
        assert torch.equal(new.state["plan_head.weight"], ck.state["plan_head.weight"])
        for cycles in (1, 2, 4):
            cfg = replace(new.cfg, **{field: cycles})
            assert torch.allclose(_logits(new.state, cfg, ids), want, atol=1e-4), (layout, cycles)
    try:
        relayout({**payload, "model_config": relayout(payload, "core:2:3:2").cfg.to_dict()}, "core:1:1:1")
    except ConvertError as e:
        assert "identity" in str(e)
    else:
        raise AssertionError("a non-identity checkpoint must be refused")


def test_convert_cycles_sets_the_layouts_own_recursion(tiny_llama, tmp_path):
    from converters.retrofit import save
    from hrmcli.runtime.gguf_load import load
    from tests.cli_helpers import hrm

    path, _ = tiny_llama
    core = save(retrofit(path, "core:2:3:2"), tmp_path / "core.pt")
    ident = save(retrofit(path, "identity"), tmp_path / "identity.pt")
    r = hrm(tmp_path, tmp_path / "home", "convert", str(core), str(tmp_path / "c4.gguf"),
            "--type", "f32", "--cycles", "4")
    assert r.returncode == 0, r.stderr
    cfg = load(tmp_path / "c4.gguf").cfg
    assert cfg.l_cycles == 4 and cfg.l_layers == 3 and cfg.n_applications == 2 + 4 * 3 + 1
    r = hrm(tmp_path, tmp_path / "home", "convert", str(ident), str(tmp_path / "i.gguf"),
            "--cycles", "2")
    assert r.returncode == 1 and "core or planner" in r.stderr.replace("\n", " ")
    assert not (tmp_path / "i.gguf").exists()
