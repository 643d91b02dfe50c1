"""hrm-code GGUF: export -> memory-mapped load round trips, --verify, and clear errors."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import torch

from bench.speed import code_corpus, random_checkpoint
from converters.gguf_export import ConvertError, export_hrm, load_checkpoint
from converters.verify import verify_file
from hrmcli.prompt_format import PROMPT_FORMAT_VERSION
from hrmcli.runtime.gguf_load import GGUFError, load
from hrmcli.runtime.model import HRMCode, HRMConfig, KVCache
from trainer.checkpoint import save_checkpoint
from trainer.tokenizer import Tokenizer

CFG = HRMConfig(d_model=64, n_heads=2, n_kv_heads=1, h_layers=1, l_layers=1, max_seq_len=128)


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.train(code_corpus(150_000), 400)


@pytest.fixture(scope="module")
def ck(tok):
    return random_checkpoint(CFG, tok.to_gguf_fields(), seed=1)


def _torch_model(ck) -> HRMCode:
    m = HRMCode(ck.cfg).eval()
    m.load_state_dict(ck.state)
    return m


def test_f32_logits_match_torch(ck, tmp_path):
    path = tmp_path / "m.gguf"
    export_hrm(ck, path, "f32")
    rt, ref = load(path).model, _torch_model(ck)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(3):
            ids = torch.randint(0, ck.cfg.vocab_size, (1, 40), generator=g)
            a, b = ref(ids), rt(ids)
            assert (a.logits - b.logits).abs().max() < 1e-4
            assert (a.plan_logits - b.plan_logits).abs().max() < 1e-4
            assert (a.halt_logits - b.halt_logits).abs().max() < 1e-4
        # incremental decode through the per-call KV caches as well
        c1, c2 = KVCache(ck.cfg), KVCache(ck.cfg)
        ref(ids[:, :30], cache=c1)
        rt(ids[:, :30], cache=c2)
        a, b = ref(ids[:, 30:31], cache=c1), rt(ids[:, 30:31], cache=c2)
        assert (a.logits - b.logits).abs().max() < 1e-4


def test_metadata_and_tokenizer_round_trip(ck, tok, tmp_path):
    path = tmp_path / "m.gguf"
    export_hrm(ck, path, "q8_0")
    loaded = load(path)
    assert loaded.cfg == ck.cfg
    md = loaded.metadata
    assert md["general.architecture"] == "hrm-code"
    assert md["hrm-code.prompt_format_version"] == PROMPT_FORMAT_VERSION
    assert md["hrm-code.provenance.steps"] == 0
    assert md["tokenizer.ggml.model"] == "gpt2"
    text = "def add(a, b):\n    return a + b  # é\n"
    assert loaded.tokenizer.encode(text) == tok.encode(text)
    # norms and the plan head stay f32, every matrix (embedding and LM head too) is Q8_0
    types = loaded.weight_types
    assert types["h.blk.0.attn_norm.weight"] == types["plan_head.weight"] == 0
    assert types["token_embd.weight"] == types["output.weight"] == types["l.blk.0.attn_q.weight"] == 8


@pytest.mark.parametrize("qtype", ["f32", "f16", "q8_0", "q4_0", "q4_1", "q5_0"])
def test_verify_accepts_every_type(ck, tmp_path, qtype):
    path = tmp_path / f"{qtype}.gguf"
    export_hrm(ck, path, qtype)
    checks = verify_file(path, ck.state, qtype)
    assert len(checks) == len(ck.state)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok][:2]


def test_verify_catches_a_changed_tensor(ck, tmp_path):
    path = tmp_path / "m.gguf"
    export_hrm(ck, path, "q4_0")
    state = dict(ck.state)
    state["h.layers.0.attn.wq.weight"] = state["h.layers.0.attn.wq.weight"] * 1.5
    bad = [c for c in verify_file(path, state, "q4_0") if not c.ok]
    assert [c.name for c in bad] == ["h.blk.0.attn_q.weight"]


def test_truncated_and_corrupt_files(ck, tmp_path):
    good = tmp_path / "m.gguf"
    export_hrm(ck, good, "q4_0")
    data = good.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) - 1000])
    with pytest.raises(GGUFError, match="truncated|corrupt"):
        load(cut)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file at all" * 10)
    with pytest.raises(GGUFError, match="corrupt or truncated"):
        load(junk)
    header_only = tmp_path / "head.gguf"
    header_only.write_bytes(data[:64])
    with pytest.raises(GGUFError):
        load(header_only)
    with pytest.raises(GGUFError, match="not found"):
        load(tmp_path / "absent.gguf")


def test_wrong_architecture(ck, tmp_path):
    from converters.llama_export import export_llama

    tf = random_checkpoint(CFG.same_flops_transformer(), ck.tokenizer_fields)
    path = tmp_path / "llama.gguf"
    export_llama(tf, path, "f16")
    with pytest.raises(GGUFError, match="architecture 'llama'.*llama.cpp"):
        load(path)
    with pytest.raises(ConvertError, match="transformer baseline"):
        export_hrm(tf, tmp_path / "x.gguf", "f16")


def test_missing_tensor(ck, tmp_path):
    import gguf

    from converters.gguf_export import hrm_metadata, hrm_tensors, write_gguf

    tensors = [(n, t) for n, t in hrm_tensors(ck) if n != "l.blk.0.ffn_down.weight"]
    path = tmp_path / "m.gguf"
    write_gguf(path, "hrm-code", "f16", lambda w: hrm_metadata(w, ck), tensors)
    assert gguf.GGUFReader(str(path)).tensors  # a valid file, just incomplete
    with pytest.raises(GGUFError, match="missing tensors.*l.blk.0.ffn_down.weight"):
        load(path)


def test_tokenizer_mismatch(ck, tmp_path):
    fields = dict(ck.tokenizer_fields)
    fields["tokens"] = fields["tokens"][:-5]
    fields["token_type"] = fields["token_type"][:-5]
    bad = type(ck)(ck.cfg, ck.state, fields, ck.provenance)
    with pytest.raises(ConvertError, match="tokenizer has"):
        export_hrm(bad, tmp_path / "x.gguf", "f16")


def test_convert_cli(ck, tok, tmp_path):
    tok.save(tmp_path / "tok.json")
    save_checkpoint(tmp_path / "run" / "checkpoint.pt",
                    {"model": ck.state, "model_config": ck.cfg.to_dict(),
                     "tokenizer": str(tmp_path / "tok.json"), "provenance": {"steps": 7}})
    assert load_checkpoint(tmp_path / "run").provenance == {"steps": 7}
    out = tmp_path / "out.gguf"
    hrm = [sys.executable, "-m", "hrmcli"]
    r = subprocess.run(hrm + ["convert", str(tmp_path / "run"), str(out), "--type", "q4_0",
                              "--verify"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "verified" in r.stdout and out.exists()
    r = subprocess.run(hrm + ["convert", str(tmp_path / "none.pt"), str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "no checkpoint" in r.stderr and "Traceback" not in r.stderr
    shutil.copy(out, tmp_path / "copy.gguf")
    assert load(tmp_path / "copy.gguf").cfg == ck.cfg
