"""`hrm bench speed` end to end on a tiny model: real subprocesses, real GGUF files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.speed import code_corpus, llama_available, random_checkpoint
from converters.gguf_export import export_hrm
from hrmcli.runtime.model import HRMConfig
from trainer.tokenizer import Tokenizer


def test_bench_speed_json(tmp_path):
    tok = Tokenizer.train(code_corpus(100_000), 300)
    cfg = HRMConfig(d_model=64, n_heads=2, n_kv_heads=1, h_layers=1, l_layers=1, max_seq_len=64)
    model = tmp_path / "m.gguf"
    export_hrm(random_checkpoint(cfg, tok.to_gguf_fields()), model, "q4_0")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "hrmcli", "bench", "speed", "--model", str(model),
                        "--prompt-tokens", "16", "--gen-tokens", "4", "--threads", "1", "--json"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    for k in ("prefill_tps", "decode_tps", "peak_rss_mb", "file_mb"):
        assert res[k] > 0
    assert abs(res["file_mb"] - model.stat().st_size / 2**20) < 1e-9
    if llama_available():
        assert res["llama_decode_tps"] > 0
        assert abs(res["decode_ratio"] - res["decode_tps"] / res["llama_decode_tps"]) < 1e-9


def test_bench_speed_bad_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"garbage" * 100)
    r = subprocess.run([sys.executable, "-m", "hrmcli", "bench", "speed", "--model", str(bad)],
                       capture_output=True, text=True,
                       env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "c")))
    assert r.returncode == 1 and "corrupt or truncated" in r.stderr
    assert "Traceback" not in r.stderr
