"""`hrm edit` end to end: a real temp git repo, the real CLI in a subprocess, and a real
OpenAI-compatible HTTP server on 127.0.0.1 as the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import git, hrm, init_repo
from tests.scripted_server import ScriptedServer

ORIGINAL = "def greet(name):\n    return 'hi ' + name\n\n\ndef unused():\n    pass\n"
GOOD = (
    "I'll make the greeting friendlier.\n\n"
    "app.py\n```python\n<<<<<<< SEARCH\n    return 'hi ' + name\n=======\n"
    "    return 'hello, ' + name\n>>>>>>> REPLACE\n```\n"
)
WRONG_SEARCH = GOOD.replace("return 'hi ' + name\n=", "return 'hey ' + name\n=")
MALFORMED = "app.py\n```python\n<<<<<<< SEARCH\n    return 'hi ' + name\n```\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", {"app.py": ORIGINAL})


def test_edit_applies_commits_and_undo_restores(repo: Path, tmp_path: Path):
    home = tmp_path / "home"
    with ScriptedServer([GOOD]) as srv:
        r = hrm(repo, home, "edit", "app.py", "make the greeting friendlier",
                "--model", f"openai:{srv.url}#m", "--yes", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["applied"] is True and result["well_formed"] is True
    assert result["files"] == ["app.py"] and "+    return 'hello, ' + name" in result["diff"]
    assert result["tokens"] > 0 and result["seconds"] >= 0
    assert "return 'hello, ' + name" in (repo / "app.py").read_text()
    log = git(repo, "log", "--format=%s%n%b")
    assert "hrm: edit app.py" in log and "Hrm-Edit: true" in log
    assert git(repo, "status", "--porcelain") == ""

    r = hrm(repo, home, "undo")
    assert r.returncode == 0, r.stderr
    assert (repo / "app.py").read_text() == ORIGINAL

    r = hrm(repo, home, "history", "list", "--json")
    sessions = json.loads(r.stdout)
    assert sessions[0]["command"] == "edit" and sessions[0]["outcome"] == "applied"
    r = hrm(repo, home, "history", "show", str(sessions[0]["id"]), "--json")
    shown = json.loads(r.stdout)
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant"]
    assert any(e["kind"] == "edit" and e["ok"] for e in shown["events"])
    assert any(e["kind"] == "generation" and e["prompt_tokens"] == 42 for e in shown["events"])


def test_dry_run_writes_nothing(repo: Path, tmp_path: Path):
    with ScriptedServer([GOOD]) as srv:
        r = hrm(repo, tmp_path / "home", "edit", "app.py", "friendlier",
                "--model", f"openai:{srv.url}#m", "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["applied"] is False and result["well_formed"] is True and result["diff"]
    assert (repo / "app.py").read_text() == ORIGINAL
    assert git(repo, "log", "--oneline").count("\n") == 1


def test_malformed_reply_exits_1_and_writes_nothing(repo: Path, tmp_path: Path):
    # the first reply is malformed, and so is every repair attempt
    with ScriptedServer([MALFORMED] * 4) as srv:
        r = hrm(repo, tmp_path / "home", "edit", "app.py", "friendlier",
                "--model", f"openai:{srv.url}#m", "--yes", "--json")
    assert r.returncode == 1
    assert "nothing was written" in r.stderr and "no ======= divider" in r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["well_formed"] is False
    assert (repo / "app.py").read_text() == ORIGINAL
    assert len(srv.requests) == 4  # one try and three repairs


def test_repair_retry_feeds_back_the_failure(repo: Path, tmp_path: Path):
    with ScriptedServer([WRONG_SEARCH, GOOD]) as srv:
        r = hrm(repo, tmp_path / "home", "edit", "app.py", "friendlier",
                "--model", f"openai:{srv.url}#m", "--yes")
    assert r.returncode == 0, r.stderr
    assert "return 'hello, ' + name" in (repo / "app.py").read_text()
    retry = srv.requests[1]["body"]["messages"]
    assert retry[-2]["role"] == "assistant" and "hey" in retry[-2]["content"]
    assert "could not be applied" in retry[-1]["content"]


def test_without_a_terminal_and_without_yes_nothing_is_applied(repo: Path, tmp_path: Path):
    with ScriptedServer([GOOD]) as srv:
        r = hrm(repo, tmp_path / "home", "edit", "app.py", "friendlier",
                "--model", f"openai:{srv.url}#m")
    assert r.returncode == 1 and "--yes" in r.stderr
    assert (repo / "app.py").read_text() == ORIGINAL


def test_bad_file_and_bad_model_are_clear_errors(repo: Path, tmp_path: Path):
    r = hrm(repo, tmp_path / "home", "edit", "nope.py", "x")
    assert r.returncode == 2 and "is not a file" in r.stderr
    r = hrm(repo, tmp_path / "home", "edit", "app.py", "x", "--model", "no-such-model")
    assert r.returncode == 1 and "hrm models" in r.stderr and "Traceback" not in r.stderr
