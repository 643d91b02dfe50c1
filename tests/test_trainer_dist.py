"""`hrm train` / `python -m trainer` / torchrun as real subprocesses: a 2-process gloo DDP run
equals one process on the same global batch; CLI resume, eval and user errors."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from trainer.data.corpus import is_heldout, normalise

STDLIB = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
SMALL = ["--override", "d_model=64", "--override", "n_heads=2", "--override", "n_kv_heads=2",
         "--override", "vocab_size=700"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Small stdlib modules for training; sunau.py is the one that the hash split holds out."""
    root = tmp_path_factory.mktemp("corpus")
    for name in ("bisect.py", "heapq.py", "textwrap.py", "colorsys.py", "fnmatch.py",
                 "keyword.py", "shlex.py", "glob.py", "sunau.py"):
        shutil.copy(STDLIB / name, root / name)
    held = [p.name for p in root.iterdir()
            if is_heldout(hashlib.sha256(normalise(p.read_bytes()).encode()).hexdigest())]
    assert held == ["sunau.py"]
    return root


def _train(corpus: Path, out: Path, data: Path, *extra: str, launcher: list[str] | None = None,
           check: bool = True) -> subprocess.CompletedProcess:
    cmd = (launcher or [sys.executable, "-m", "trainer"]) + [
        "--corpus", str(corpus), "--out", str(out), "--data-dir", str(data), "--steps", "4",
        "--batch-size", "4", "--seq-len", "64", "--no-progress", "--json", *SMALL, *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr[-3000:]
    return p


def _result(p: subprocess.CompletedProcess) -> dict:
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def single(corpus, tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("single")
    p = _train(corpus, base / "run", base / "data")
    return base, _result(p)


def test_single_process_run_reports_json_summary(single):
    base, r = single
    assert r["step"] == 4 and r["world_size"] == 1 and r["tokens"] == 4 * 4 * 64
    assert r["initial_loss"] > r["final_loss"] > 0 and r["params"] > 0
    assert Path(r["checkpoint"]).is_file() and r["tokens_per_s"] > 0
    assert (base / "run" / "tb").is_dir() and (base / "data" / "tokenizer.json").is_file()


def test_two_process_gloo_ddp_matches_single_process(corpus, single, tmp_path):
    base, r1 = single
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node=2", "-m", "trainer"]
    p = _train(corpus, tmp_path / "ddp", base / "data", launcher=launcher)
    r2 = _result(p)
    assert r2["world_size"] == 2 and r2["tokens"] == r1["tokens"]
    a = torch.load(r1["checkpoint"], weights_only=True)["model"]
    b = torch.load(r2["checkpoint"], weights_only=True)["model"]
    assert a.keys() == b.keys()
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert worst < 1e-4, worst
    assert r2["initial_loss"] == pytest.approx(r1["initial_loss"], abs=1e-5)
    assert r2["final_loss"] == pytest.approx(r1["final_loss"], abs=1e-4)


def test_two_process_fsdp2_matches_single_process(corpus, single, tmp_path):
    """FSDP2 is meant for base on GPUs; gloo on CPU runs the same code path here."""
    base, r1 = single
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node=2", "-m", "trainer"]
    r2 = _result(_train(corpus, tmp_path / "fsdp", base / "data", "--fsdp", "on",
                        launcher=launcher))
    a = torch.load(r1["checkpoint"], weights_only=True)
    b = torch.load(r2["checkpoint"], weights_only=True)
    for key in ("model", "ema"):
        worst = max(float((a[key][k] - b[key][k]).abs().max()) for k in a[key])
        assert worst < 1e-4, (key, worst)
    assert b["optimizer"]["state"]  # the full optimizer state was gathered for the file


def test_cli_resume_and_eval(corpus, single, tmp_path):
    base, full = single
    out = tmp_path / "run"
    part = _result(_train(corpus, out, base / "data", "--stop-after", "2"))
    assert part["step"] == 2 and part["stopped_early"]
    p = _train(corpus, out, base / "data", check=False)
    assert p.returncode == 2 and "pass --resume" in p.stderr and "Traceback" not in p.stderr
    done = _result(_train(corpus, out, base / "data", "--resume"))
    assert done["step"] == 4 and done["final_loss"] == full["final_loss"]
    assert done["initial_loss"] == full["initial_loss"]
    a = torch.load(full["checkpoint"], weights_only=True)["model"]
    b = torch.load(done["checkpoint"], weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    ev = subprocess.run([sys.executable, "-m", "hrmcli", "eval", str(out), "--json",
                         "--max-tasks", "2", "--max-new", "16"],
                        capture_output=True, text=True, env=ENV, timeout=300)
    assert ev.returncode == 0, ev.stderr[-2000:]
    m = json.loads(ev.stdout.strip().splitlines()[-1])
    assert m["step"] == 4 and m["weights"] == "ema"
    py = m["languages"]["python"]
    assert py["bytes"] > py["tokens"] > 0 and 0 < py["bits_per_byte"] < 16
    assert m["edit"]["tasks"] + m["edit"]["skipped"] <= 2


@pytest.mark.parametrize("args,expect", [
    (["train", "--corpus", "/nonexistent/dir", "--out", "{tmp}/o"], "does not exist"),
    (["train", "--corpus", "{tmp}", "--out", "{tmp}/o", "--arch", "rnn"], "unknown --arch"),
    (["train", "--corpus", "{tmp}", "--out", "{tmp}/o", "--override", "d_model=x"], "--override"),
    (["train", "--out", "{tmp}/o", "--resume"], "no checkpoint"),
    (["eval", "{tmp}/missing.pt"], "no checkpoint"),
    (["eval", "{tmp}/bad.pt"], "not a checkpoint"),
])
def test_user_errors_are_one_line_and_exit_nonzero(tmp_path, args, expect):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    p = subprocess.run([sys.executable, "-m", "hrmcli", *argv], capture_output=True, text=True,
                       env=ENV, timeout=120)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert expect in p.stderr and "Traceback" not in p.stderr


def test_ctrl_c_saves_a_checkpoint_that_resumes(corpus, single, tmp_path):
    base, _ = single
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "trainer", "--data-dir", str(base / "data"), "--out", str(out),
           "--steps", "100000", "--batch-size", "2", "--seq-len", "32", "--save-every", "0",
           "--no-progress", *SMALL]
    # A test run started in a shell's background has SIGINT ignored, and the trainer would
    # inherit that; give it the default disposition so Python turns Ctrl-C into KeyboardInterrupt.
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (out / "tb").exists() and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.2)
    time.sleep(1.5)  # inside the loop by now
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-2000:]
    assert "continue with" in err and "Traceback" not in err
    step = torch.load(out / "checkpoint.pt", weights_only=True)["step"]
    assert step >= 1
    done = _result(_train(corpus, out, base / "data", "--resume", "--steps", str(step + 2)))
    assert done["step"] == step + 2
