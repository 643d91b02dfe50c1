"""`hrm edit FILE... "TASK"` across several files, end to end: a real git repo, the real CLI
in a subprocess, the model served by the scripted OpenAI-compatible server on 127.0.0.1.

The canonical task is a rename of a function defined in one file and called from two
others, in Python and in JavaScript: the edit must land in all three files as one commit
(dropped whole by `hrm undo`), a failing block anywhere must leave every file untouched,
and --auto-context must find the two callers from the definition file alone.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli_helpers import git, hrm, init_repo
from tests.scripted_server import ScriptedServer


@dataclass(frozen=True)
class Project:
    """A small repo where `old` is defined in edited[0] and called from edited[1:]."""

    lang: str  # the code fence's language
    files: dict[str, str]
    old: str
    new: str
    edited: tuple[str, str, str]
    helper: str  # used by the second caller only: related, but less than the callers
    unrelated: str  # shares no name with the rest
    run: list[str]  # a command that uses every edited file
    expect: str  # its output, before and after the rename

    @property
    def task(self) -> str:
        return f"rename {self.old} to {self.new}"


PYTHON = Project(
    lang="python",
    files={
        "util.py": "def compute_total(items):\n    return sum(i['price'] for i in items)\n\n\n"
                   "def tax(amount):\n    return amount * 0.2\n",
        "orders.py": "from util import compute_total\n\n\n"
                     "def order_total(order):\n    return compute_total(order['items'])\n",
        "report.py": "from fmt import money\nfrom util import compute_total\n\n\n"
                     "def summary(orders):\n"
                     "    return money(sum(compute_total(o['items']) for o in orders))\n",
        "fmt.py": "def money(x):\n    return f'${x:.2f}'\n",
        "unrelated.py": "def shout(s):\n    return s.upper()\n",
    },
    old="compute_total", new="calculate_total",
    edited=("util.py", "orders.py", "report.py"), helper="fmt.py", unrelated="unrelated.py",
    run=[sys.executable, "-c",
         "import orders, report; o = {'items': [{'price': 2}, {'price': 3}]}; "
         "print(orders.order_total(o), report.summary([o, o]))"],
    expect="5 $10.00",
)

JAVASCRIPT = Project(
    lang="javascript",
    files={
        "total.js": "function computeTotal(items) {\n"
                    "  return items.reduce((sum, item) => sum + item.price, 0);\n}\n\n"
                    "function round2(x) {\n  return Math.round(x * 100) / 100;\n}\n\n"
                    "module.exports = { computeTotal, round2 };\n",
        "cart.js": "const { computeTotal } = require('./total');\n\n"
                   "function cartTotal(cart) {\n  return computeTotal(cart.items);\n}\n\n"
                   "module.exports = { cartTotal };\n",
        "invoice.js": "const { money } = require('./fmt');\n"
                      "const { computeTotal } = require('./total');\n\n"
                      "function invoiceTotal(invoice) {\n"
                      "  return money(computeTotal(invoice.lines));\n}\n\n"
                      "module.exports = { invoiceTotal };\n",
        "fmt.js": "function money(x) {\n  return '$' + x.toFixed(2);\n}\n\n"
                  "module.exports = { money };\n",
        "unrelated.js": "function shout(s) {\n  return s.toUpperCase();\n}\n\n"
                        "module.exports = { shout };\n",
    },
    old="computeTotal", new="calculateTotal",
    edited=("total.js", "cart.js", "invoice.js"), helper="fmt.js", unrelated="unrelated.js",
    run=["node", "-e",
         "const items = [{price: 2}, {price: 3}];"
         "console.log(require('./cart').cartTotal({items}),"
         " require('./invoice').invoiceTotal({lines: items}))"],
    expect="5 $5.00",
)

PROJECTS = [pytest.param(PYTHON, id="python"), pytest.param(JAVASCRIPT, id="javascript")]


def rename_reply(p: Project, files: tuple[str, ...] | None = None, broken: str = "") -> str:
    """The model's answer: one SEARCH/REPLACE block per line that names p.old, in each of
    `files` (default: the three edited ones). In the file `broken`, the last block's SEARCH
    is miscopied, so that block cannot apply."""
    out = [f"I'll rename {p.old} to {p.new} where it is defined and where it is called.\n"]
    for name in files or p.edited:
        lines = [ln for ln in p.files[name].splitlines() if p.old in ln]
        for i, line in enumerate(lines):
            search = line
            if name == broken and i == len(lines) - 1:
                search = line.replace(p.old, p.old + "s")
            out.append(f"{name}\n```{p.lang}\n<<<<<<< SEARCH\n{search}\n=======\n"
                       f"{line.replace(p.old, p.new)}\n>>>>>>> REPLACE\n```\n")
    return "\n".join(out)


def make_repo(tmp_path: Path, p: Project) -> Path:
    return init_repo(tmp_path / "repo", p.files)


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def commits(repo: Path) -> list[str]:
    return git(repo, "rev-list", "HEAD").split()


def run_project(repo: Path, p: Project) -> str:
    if shutil.which(p.run[0]) is None:
        pytest.skip(f"{p.run[0]} is not installed")
    return subprocess.run(p.run, cwd=repo, check=True, capture_output=True, text=True,
                          timeout=60).stdout.strip()


def assert_untouched(repo: Path, p: Project, before: list[str]) -> None:
    for name, text in p.files.items():
        assert (repo / name).read_text() == text, name
    assert commits(repo) == before
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("p", PROJECTS)
def test_rename_across_three_files_is_one_commit_and_undo_restores(p: Project, tmp_path: Path):
    repo, home = make_repo(tmp_path, p), tmp_path / "home"
    assert run_project(repo, p) == p.expect
    before = commits(repo)
    with ScriptedServer([rename_reply(p)]) as srv:
        r = hrm(repo, home, "edit", *p.edited, p.task, "--model", srv.spec, "--yes", "--json")
    assert r.returncode == 0, r.stderr
    # The model saw all three files in one request.
    assert len(srv.requests) == 1
    prompt = "\n".join(str(m["content"]) for m in srv.messages(0))
    assert all(p.files[name] in prompt for name in p.edited)

    result = last_json(r.stdout)
    assert result["applied"] is True and sorted(result["files"]) == sorted(p.edited)
    assert "context" not in result  # no --auto-context, no context report
    for name, text in p.files.items():
        want = text.replace(p.old, p.new) if name in p.edited else text
        assert (repo / name).read_text() == want, name
    assert run_project(repo, p) == p.expect  # the renamed code still runs

    after = commits(repo)
    assert after[1:] == before  # exactly one new commit ...
    touched = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(touched) == sorted(p.edited)  # ... touching all three files
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith(f"hrm: edit {', '.join(result['files'])}: {p.task}")
    assert "Hrm-Edit: true" in message
    assert git(repo, "status", "--porcelain") == ""

    r = hrm(repo, home, "undo")
    assert r.returncode == 0, r.stderr
    assert_untouched(repo, p, before)
    assert run_project(repo, p) == p.expect


@pytest.mark.parametrize("p", PROJECTS)
def test_a_failing_block_in_the_third_file_writes_nothing_anywhere(p: Project, tmp_path: Path):
    repo, home = make_repo(tmp_path, p), tmp_path / "home"
    before = commits(repo)
    bad = rename_reply(p, broken=p.edited[2])
    # The same miscopied SEARCH on the first try and on every repair.
    with ScriptedServer([bad] * 4) as srv:
        r = hrm(repo, home, "edit", *p.edited, p.task, "--model", srv.spec, "--yes", "--json")
    assert r.returncode == 1
    assert len(srv.requests) == 4  # one try and three repairs, all refused
    assert "nothing was written" in r.stderr and p.edited[2] in r.stderr
    assert last_json(r.stdout)["applied"] is False
    assert_untouched(repo, p, before)

    # The same edits through the transaction's own entry point, without the coder's dry
    # run in front: the blocks for the first two files match, and still nothing is written.
    edits = tmp_path / "edits.txt"
    edits.write_text(bad)
    r = hrm(repo, home, "apply", str(edits), "--json")
    assert r.returncode == 1 and "nothing was written" in r.stderr
    assert_untouched(repo, p, before)


def test_a_path_outside_the_repository_is_refused_before_the_model_runs(tmp_path: Path):
    p = PYTHON
    repo, home = make_repo(tmp_path, p), tmp_path / "home"
    before = commits(repo)
    outside = tmp_path / "elsewhere.py"
    outside.write_text("def compute_total(x):\n    return x\n")
    (repo / "link.py").symlink_to(outside)
    with ScriptedServer([rename_reply(p)]) as srv:
        for given in ("../elsewhere.py", str(outside), "link.py"):
            r = hrm(repo, home, "edit", "util.py", given, p.task, "--model", srv.spec, "--yes")
            assert r.returncode == 2, (given, r.stderr)
            assert f"{given} is outside the repository {repo.resolve()}" in r.stderr
            assert "once per repository" in r.stderr and "Traceback" not in r.stderr
    assert srv.requests == []  # refused before any model call
    assert outside.read_text() == "def compute_total(x):\n    return x\n"
    (repo / "link.py").unlink()
    assert_untouched(repo, p, before)


def estimated_tokens(text: str) -> int:
    return math.ceil(len(text) / 3.0)  # the coder's rate (hrmcli.agent.window)


@pytest.mark.parametrize("p", PROJECTS)
def test_auto_context_finds_the_callers_from_the_definition_file_alone(p: Project,
                                                                      tmp_path: Path):
    repo, home = make_repo(tmp_path, p), tmp_path / "home"
    before = commits(repo)
    definition, callers = p.edited[0], set(p.edited[1:])
    with ScriptedServer([rename_reply(p)]) as srv:
        r = hrm(repo, home, "edit", definition, p.task, "--auto-context",
                "--model", srv.spec, "--yes", "--json")
    assert r.returncode == 0, r.stderr

    # The ranked list: the two callers first, then the helper one caller uses; the file
    # sharing no name with the rest is not ranked at all.
    context = last_json(r.stdout)["context"]
    added = [f["path"] for f in context["added"]]
    assert set(added[:2]) == callers and added[2:] == [p.helper], added
    assert context["skipped"] == [] and context["budget"] == 2048
    scores = [f["score"] for f in context["added"]]
    assert scores[1] > scores[2] > 0
    for f in context["added"]:
        assert f["tokens"] == estimated_tokens(p.files[f["path"]])
    assert context["tokens"] == sum(f["tokens"] for f in context["added"])

    # Shown, with token counts, before the model ran (and so before its diff).
    shown = r.stderr
    diff_start = shown.index(last_json(r.stdout)["diff"].splitlines()[0])
    assert f"auto-context: added 3 file(s), {context['tokens']} of 2048 tokens" in shown
    for f in context["added"]:
        line = f"+ {f['path']}  {f['tokens']} tokens"
        assert line in shown and shown.index(line) < diff_start
    assert p.unrelated not in shown

    # The model saw the added files, and its edits to them landed as one commit.
    prompt = "\n".join(str(m["content"]) for m in srv.messages(0))
    assert all(p.files[name] in prompt for name in (*p.edited, p.helper))
    assert p.files[p.unrelated] not in prompt
    for name in p.edited:
        assert (repo / name).read_text() == p.files[name].replace(p.old, p.new)
    assert commits(repo)[1:] == before
    touched = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(touched) == sorted(p.edited)
    assert run_project(repo, p) == p.expect


def test_auto_context_reports_files_over_the_budget_and_leaves_them_out(tmp_path: Path):
    p = PYTHON
    repo, home = make_repo(tmp_path, p), tmp_path / "home"
    definition = p.edited[0]
    budget = estimated_tokens(p.files[p.helper])  # room for the small helper only
    assert all(estimated_tokens(p.files[c]) > budget for c in p.edited[1:])
    with ScriptedServer([rename_reply(p, files=(definition,))]) as srv:
        r = hrm(repo, home, "edit", definition, p.task, "--auto-context",
                "--context-tokens", str(budget), "--model", srv.spec, "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    context = last_json(r.stdout)["context"]
    assert [f["path"] for f in context["added"]] == [p.helper]
    assert {f["path"] for f in context["skipped"]} == set(p.edited[1:])
    for f in context["skipped"]:
        assert f"- {f['path']}  {f['tokens']} tokens" in r.stderr
    assert "over the budget, not added" in r.stderr
    prompt = "\n".join(str(m["content"]) for m in srv.messages(0))
    assert not any(p.files[c] in prompt for c in p.edited[1:])
    assert (repo / definition).read_text() == p.files[definition]  # --dry-run
