"""Repair trajectories come from real failing test runs, and both turns apply through the
edit engine: turn 1 gives the recorded attempt, turn 2 gives back the working code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hrmcli import prompt_format as pf
from hrmcli.agent.apply import apply_edits
from hrmcli.agent.editblocks import parse_edits
from trainer.data.repair_tasks import detect_project, repair_records

REPAIR = Path(__file__).parent / "fixtures" / "code" / "repair"


def _apply(root: Path, path: str, text: str, answer: str) -> str:
    (root / path).write_text(text)
    res = apply_edits(parse_edits(answer.removesuffix(pf.EOS)).blocks, root)
    assert res.ok, [str(f) for f in res.failed]
    return (root / path).read_text()


def _buggy(rec: dict) -> str:
    return rec["prompt"].split(pf.FILE, 1)[1].split("\n", 1)[1].split(pf.END_FILE, 1)[0]


@pytest.mark.parametrize("name", ["pystats", "jsrange"])
def test_repair_records(name: str, tmp_path: Path) -> None:
    project = detect_project(REPAIR / name)
    assert project is not None
    if project.test_cmd[0] == "node" and shutil.which("node") is None:
        pytest.skip("node missing")
    recs = list(repair_records(project, seed=0, per_file=1))
    assert recs
    work = tmp_path / "w"
    shutil.copytree(REPAIR / name, work)
    for r in recs:
        assert r["kind"] == "repair" and r["halt"] == 1
        assert [t["halt"] for t in r["turns"]] == [0, 1]
        assert "".join(t["context"] + t["text"] for t in r["turns"]) == r["prompt"] + r["answer"]
        obs = r["prompt"].split(pf.OBS, 1)[1].split(pf.END_OBS, 1)[0]
        assert obs.startswith("$ ") and str(tmp_path) not in obs
        path = r["path"]
        attempt = _apply(work, path, _buggy(r), r["turns"][0]["text"])
        assert attempt == r["attempt"]
        fixed = _apply(work, path, attempt, r["answer"])
        assert fixed == r["target"] == (REPAIR / name / path).read_text()
        # The observation is what the tests really print for the attempt.
        cmd = [sys.executable if a == "python" else a for a in project.test_cmd]
        (work / path).write_text(attempt)
        assert subprocess.run(cmd, cwd=work, capture_output=True).returncode != 0
        (work / path).write_text(fixed)
        assert subprocess.run(cmd, cwd=work, capture_output=True).returncode == 0


def test_project_with_failing_tests_is_refused(tmp_path: Path) -> None:
    shutil.copytree(REPAIR / "pystats", tmp_path / "p")
    src = tmp_path / "p" / "stats.py"
    src.write_text(src.read_text().replace("return sum(values) / len(values)", "return 0"))
    with pytest.raises(ValueError, match="fail before any bug"):
        list(repair_records(detect_project(tmp_path / "p"), seed=0))


def test_dir_without_tests_is_not_a_project(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    assert detect_project(tmp_path) is None
