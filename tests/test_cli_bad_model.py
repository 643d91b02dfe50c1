"""A --model that names nothing is one clear line and exit 2 in every command that takes it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("args", [
    ["bench", "polyglot", "--dir", str(FIXTURES / "polyglot"), "--languages", "python"],
    ["bench", "livecodebench", "--problems", str(FIXTURES / "lcb" / "problems.jsonl")],
])
def test_unknown_model_is_a_clear_error(args, tmp_path):
    r = subprocess.run([sys.executable, "-m", "hrmcli", *args, "--model", "no-such-model"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "HRM_HOME": str(tmp_path / "home")})
    assert r.returncode == 2, r.stderr
    said = " ".join(r.stderr.split())  # rich wraps long lines
    assert "cannot load model 'no-such-model'" in said and "hrm models" in said
    assert "Traceback" not in r.stderr
