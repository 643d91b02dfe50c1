"""`hrm doc` end to end: a real temp git repo, the real CLI in a subprocess, and a real
OpenAI-compatible HTTP server on 127.0.0.1 as the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import git, hrm, init_repo
from tests.scripted_server import ScriptedServer

PY = (
    "def add(a, b):\n    return a + b\n\n\n"
    "def mul(a, b):\n    return a * b\n\n\n"
    'def neg(a):\n    """Return -a."""\n    return -a\n'
)
PY_DOCS = (
    "Adding Google-style docstrings.\n\n"
    "calc.py\n```python\n<<<<<<< SEARCH\ndef add(a, b):\n=======\ndef add(a, b):\n"
    '    """Add two numbers.\n\n    Args:\n        a: The first number.\n'
    '        b: The second number.\n\n    Returns:\n        The sum a + b.\n    """\n'
    ">>>>>>> REPLACE\n```\n\n"
    "calc.py\n```python\n<<<<<<< SEARCH\ndef mul(a, b):\n=======\ndef mul(a, b):\n"
    '    """Multiply two numbers.\n\n    Args:\n        a: The first factor.\n'
    '        b: The second factor.\n\n    Returns:\n        The product a * b.\n    """\n'
    ">>>>>>> REPLACE\n```\n"
)
# A docstring for add, and its body "fixed" on the way: not a docs-only edit.
SNEAKY = (
    "calc.py\n```python\n<<<<<<< SEARCH\ndef add(a, b):\n    return a + b\n=======\n"
    'def add(a, b):\n    """Add two numbers."""\n    return a + b + 0\n>>>>>>> REPLACE\n```\n'
)
MUL_ONLY = (
    "calc.py\n```python\n<<<<<<< SEARCH\ndef mul(a, b):\n=======\ndef mul(a, b):\n"
    '    """Multiply two numbers.\n\n    Args:\n        a: The first factor.\n'
    '        b: The second factor.\n\n    Returns:\n        The product.\n    """\n'
    ">>>>>>> REPLACE\n```\n"
)
JS = "export function clamp(x, lo, hi) {\n  return Math.min(Math.max(x, lo), hi);\n}\n"
JS_DOCS = (
    "util.js\n```javascript\n<<<<<<< SEARCH\nexport function clamp(x, lo, hi) {\n=======\n"
    "/**\n * Clamp x into [lo, hi].\n * @param {number} x The value.\n"
    " * @param {number} lo The lower bound.\n * @param {number} hi The upper bound.\n"
    " * @returns {number} x limited to the range.\n */\n"
    "export function clamp(x, lo, hi) {\n>>>>>>> REPLACE\n```\n"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", {"calc.py": PY, "util.js": JS})


def _result(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _commits(repo: Path) -> int:
    return len(git(repo, "log", "--oneline").splitlines())


def test_python_gets_google_docstrings_in_one_commit_and_undo_drops_it(repo: Path,
                                                                      tmp_path: Path):
    home = tmp_path / "home"
    with ScriptedServer([PY_DOCS]) as srv:
        r = hrm(repo, home, "doc", "calc.py", "--model", srv.spec, "--yes", "--json")
    assert r.returncode == 0, r.stderr
    result = _result(r.stdout)
    assert result["applied"] is True and result["style"] == "google"
    assert result["targets"] == ["add", "mul"]  # neg already has a docstring
    text = (repo / "calc.py").read_text()
    assert '    """Add two numbers.\n\n    Args:\n        a: The first number.' in text
    assert '    """Multiply two numbers.' in text and text.count('"""') == 6
    # one request, asking for Google style for exactly the undocumented functions
    assert len(srv.requests) == 1
    asked = srv.messages(0)[-1]["content"]
    assert "Google style" in asked and "- add (line 1)" in asked and "- mul (line 5)" in asked
    assert "- neg" not in asked and "Args:" in asked
    assert _commits(repo) == 2
    log = git(repo, "log", "-1", "--format=%s%n%b")
    assert log.startswith("hrm: doc calc.py: google docs for add, mul") and "Hrm-Edit: true" in log
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "show", "--stat", "--format=", "HEAD").count("|") == 1  # only calc.py

    r = hrm(repo, home, "undo")
    assert r.returncode == 0, r.stderr
    assert (repo / "calc.py").read_text() == PY


def test_a_reply_that_sneaks_in_a_code_change_is_refused(repo: Path, tmp_path: Path):
    with ScriptedServer([SNEAKY]) as srv:
        r = hrm(repo, tmp_path / "home", "doc", "calc.py", "add", "--model", srv.spec,
                "--yes", "--json")
    assert r.returncode == 1
    said = " ".join(r.stderr.split())
    assert "refused: calc.py line 3: the edit changes code" in said, said
    assert "Nothing was written" in said
    result = _result(r.stdout)
    assert result["applied"] is False and "calc.py line 3" in result["refused"]
    assert "+    return a + b + 0" in result["proposed_diff"]
    assert (repo / "calc.py").read_text() == PY
    assert _commits(repo) == 1 and git(repo, "status", "--porcelain") == ""


def test_javascript_gets_jsdoc(repo: Path, tmp_path: Path):
    with ScriptedServer([JS_DOCS]) as srv:
        r = hrm(repo, tmp_path / "home", "doc", "util.js", "--model", srv.spec, "--yes",
                "--json")
    assert r.returncode == 0, r.stderr
    assert _result(r.stdout)["style"] == "jsdoc"
    assert "JSDoc style" in srv.messages(0)[-1]["content"]
    text = (repo / "util.js").read_text()
    assert text.startswith("/**\n * Clamp x into [lo, hi].\n * @param {number} x The value.")
    assert text.endswith(JS)
    assert _commits(repo) == 2 and "hrm: doc util.js: jsdoc docs for clamp" in git(
        repo, "log", "-1", "--format=%s")


def test_symbol_documents_only_that_function(repo: Path, tmp_path: Path):
    with ScriptedServer([MUL_ONLY]) as srv:
        r = hrm(repo, tmp_path / "home", "doc", "calc.py", "mul", "--model", srv.spec,
                "--yes", "--json")
    assert r.returncode == 0, r.stderr
    assert _result(r.stdout)["targets"] == ["mul"]
    asked = srv.messages(0)[-1]["content"]
    assert "the function mul" in asked and "- mul (line 5)" in asked and "- add" not in asked
    text = (repo / "calc.py").read_text()
    assert text.startswith("def add(a, b):\n    return a + b\n")  # add left alone
    assert '    """Multiply two numbers.' in text


def test_symbol_must_name_a_function(repo: Path, tmp_path: Path):
    with ScriptedServer([MUL_ONLY]) as srv:
        r = hrm(repo, tmp_path / "home", "doc", "calc.py", "div", "--model", srv.spec, "--yes")
    assert r.returncode == 2
    assert "no function named div" in r.stderr and "add, mul, neg" in r.stderr
    assert srv.requests == []


def test_dry_run_writes_nothing(repo: Path, tmp_path: Path):
    with ScriptedServer([PY_DOCS]) as srv:
        r = hrm(repo, tmp_path / "home", "doc", "calc.py", "--model", srv.spec, "--dry-run",
                "--json")
    assert r.returncode == 0, r.stderr
    result = _result(r.stdout)
    assert result["applied"] is False and '+    """Add two numbers.' in result["diff"]
    assert "--dry-run: nothing was written" in r.stderr
    assert (repo / "calc.py").read_text() == PY
    assert _commits(repo) == 1 and git(repo, "status", "--porcelain") == ""


def test_nothing_to_document_asks_no_model(repo: Path, tmp_path: Path):
    (repo / "done.py").write_text('def f():\n    """Do nothing."""\n')
    with ScriptedServer([PY_DOCS]) as srv:
        r = hrm(repo, tmp_path / "home", "doc", "done.py", "--model", srv.spec, "--json")
    assert r.returncode == 0, r.stderr
    assert _result(r.stdout)["targets"] == [] and "nothing to do" in r.stderr
    assert srv.requests == []


def test_a_style_that_does_not_fit_the_language_is_refused(repo: Path, tmp_path: Path):
    r = hrm(repo, tmp_path / "home", "doc", "calc.py", "--style", "jsdoc")
    assert r.returncode == 2 and "jsdoc style does not fit python" in r.stderr
    assert "google, numpy" in r.stderr
    r = hrm(repo, tmp_path / "home", "doc", "util.js", "--style", "sphinx")
    assert r.returncode == 2 and "--style must be one of" in r.stderr
