"""`hrm run` as a user runs it: a subprocess, a real git repo, models behind real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scripted_server import ScriptedServer
from tests.test_loop import FIX, git, make_repo, plan_then, tree_state

HRM = [sys.executable, "-m", "hrmcli"]


def hrm(*args: str, home: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([*HRM, *args], input=stdin, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HRM_HOME": str(home)})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def test_json_run_fixes_the_test(repo: Path, tmp_path: Path) -> None:
    plan = "1. read calc.py\n2. edit calc.py\n3. run_tests\n4. done\n"
    with ScriptedServer(plan_then(plan)) as srv:
        p = hrm("run", "make test_add pass", "--repo", str(repo), "--yes", "--json",
                "--model", srv.spec, home=tmp_path / "home")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["plan"] == ["1. read calc.py", "2. edit calc.py", "3. run_tests", "4. done"]
    assert [(s["tool"], s["ok"]) for s in result["steps"]] == [
        ("read", True), ("edit", True), ("run_tests", True)]
    assert result["done"] is True
    assert result["tests"] == {"passed": 1, "failed": 0}
    # the plan is shown before the first step runs; the transcript is printed
    err = p.stderr
    assert err.index("1. read calc.py") < err.index("> step 1: read")
    assert "transcript" in err and "outcome: tests pass" in err
    # and stored: hrm history's database holds the session
    db = tmp_path / "home" / "data" / "history.sqlite3"
    assert db.exists()
    import sqlite3

    with sqlite3.connect(db) as conn:
        (outcome,) = conn.execute("SELECT outcome FROM sessions").fetchone()
    assert outcome == "tests pass"


def test_edit_declined_on_stdin_changes_nothing(repo: Path, tmp_path: Path) -> None:
    before = tree_state(repo)
    with ScriptedServer(plan_then("1. edit calc.py\n2. run_tests\n")) as srv:
        p = hrm("run", "fix add", "--repo", str(repo), "--json", "--model", srv.spec,
                "--max-steps", "2", home=tmp_path / "home", stdin="n\n")
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["steps"][0] == {"tool": "edit", "arg": "calc.py", "ok": False,
                                  "skipped": True, "rolled_back": False}
    assert "+    return a + b" in p.stderr  # the diff was shown before asking
    assert result["done"] is False and p.returncode == 1
    assert result["tests"] == {"passed": 0, "failed": 1}
    assert tree_state(repo) == before


def test_planner_and_editor_are_separate_models(repo: Path, tmp_path: Path) -> None:
    plan = "1. edit calc.py\n2. run_tests\n3. done\n"
    with ScriptedServer(plan_then(plan, edit="no edits from the planner")) as planner, \
            ScriptedServer(plan_then("1. done\n", edit=FIX)) as editor:
        p = hrm("run", "fix add", "--repo", str(repo), "--yes", "--json",
                "--planner", planner.spec, "--editor", editor.spec, home=tmp_path / "home")
        assert planner.kinds == ["plan"]
        assert editor.kinds == ["edit"]
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["done"] is True
    assert "a + b" in (repo / "calc.py").read_text()
    assert "Hrm-Edit: true" in git(repo, "log", "-1", "--format=%B")


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    p = hrm("run", "x", "--repo", str(tmp_path / "nope"), home=tmp_path / "home")
    assert p.returncode == 2 and "not a directory" in p.stderr and "Traceback" not in p.stderr
    p = hrm("run", "x", "--repo", str(tmp_path), "--model", "openai:http://127.0.0.1:9/v1#m",
            home=tmp_path / "home")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "cannot reach the model server" in p.stderr
