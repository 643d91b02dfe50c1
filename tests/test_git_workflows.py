"""Git workflows through `hrm run` end to end (issue 13): a real `hrm` subprocess on real git
repositories with pytest as the project's test runner, and the model behind the scripted
OpenAI-compatible server on 127.0.0.1 (tests/scripted_server.py), scripted with the plans
and edits a capable model would give.

1. resolve a merge conflict: hunks shown, SEARCH/REPLACE over the conflict regions, tests
   run, a merge commit with two parents only when they pass;
2. fix on a new branch: edit, test, commit on that branch only when the tests pass, main
   untouched;
3. summarise a branch: a PR description drafted from `git diff main...HEAD` and the log
   into .hrm/pr-description.md, the code and history untouched.
Nothing is ever pushed: each run also tries, and a bare remote shows nothing arrived.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.scripted_server import ScriptedServer

BASE = "def total(items):\n    return sum(items)\n"
TEST_BASE = "from calc import total\n\n\ndef test_total():\n    assert total([1, 2, 3]) == 6\n"
OURS = "def total(items):\n    return sum(x for x in items if x is not None)\n"
TEST_OURS = "from calc import total\n\n\ndef test_skips_none():\n    assert total([1, None]) == 1\n"
THEIRS = "def total(items, start=0):\n    return sum(items, start)\n"
TEST_THEIRS = "from calc import total\n\n\ndef test_start():\n    assert total([1], start=10) == 11\n"
BOTH = "def total(items, start=0):\n    return sum((x for x in items if x is not None), start)\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def hrm_run(repo: Path, home: Path, srv: ScriptedServer, request: str,
            *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    """`hrm run REQUEST --yes --json` as a user runs it; (process, the JSON result)."""
    p = subprocess.run(
        [sys.executable, "-m", "hrmcli", "run", request, "--repo", str(repo), "--yes",
         "--json", "--model", srv.spec, *extra],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "HRM_HOME": str(home)})
    assert "Traceback" not in p.stderr, p.stderr
    return p, json.loads(p.stdout.strip().splitlines()[-1])


def scripted(plans: list[str], edits: list[str] | Callable[[list[dict]], str]) -> Callable:
    """Planner calls get `plans` in order (the last repeats); edit calls get `edits` in
    order, or edits(messages)."""
    calls = {"plan": 0, "edit": 0}

    def script(kind: str, msgs: list[dict]) -> str:
        calls[kind] += 1
        if kind == "plan":
            return plans[min(calls["plan"], len(plans)) - 1]
        if callable(edits):
            return edits(msgs)
        return edits[min(calls["edit"], len(edits)) - 1]

    return script


def tool_outputs(home: Path) -> dict[str, list[str]]:
    """What each tool step printed, as `hrm run` logged it in the history database."""
    import sqlite3

    out: dict[str, list[str]] = {}
    with sqlite3.connect(home / "data" / "history.sqlite3") as conn:
        for (data,) in conn.execute("SELECT data FROM events WHERE kind = 'tool' ORDER BY id"):
            d = json.loads(data)
            out.setdefault(d["tool"], []).append(d["output"])
    return out


def steps(result: dict) -> list[tuple[str, bool, bool]]:
    return [(s["tool"], s["ok"], s["skipped"]) for s in result["steps"]]


def with_remote(repo: Path) -> Path:
    """A bare remote the repository's main was pushed to by the test (not by hrm)."""
    remote = repo.parent / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    return remote


def remote_refs(remote: Path) -> str:
    return git(remote, "for-each-ref", "--format=%(refname) %(objectname)")


PUSH_ATTEMPTS = ("shell git push origin HEAD\n"
                 "shell git -c alias.p=push p origin HEAD\n"
                 "shell git-push origin HEAD\n")


def new_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "t@example.com")
    commit_files(root, files, "init")
    return root


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", *files)
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


# ---------------------------------------------------------------- 1. merge conflicts


@pytest.fixture
def conflicted(tmp_path: Path) -> tuple[Path, str, str]:
    """main and feature both rewrote total(); `git merge feature` stopped on calc.py.
    Returns (repo, main's sha, feature's sha)."""
    repo = new_repo(tmp_path / "repo", {"calc.py": BASE, "test_calc.py": TEST_BASE})
    git(repo, "switch", "-qc", "feature")
    theirs = commit_files(repo, {"calc.py": THEIRS, "test_start.py": TEST_THEIRS}, "start")
    git(repo, "switch", "-q", "main")
    ours = commit_files(repo, {"calc.py": OURS, "test_none.py": TEST_OURS}, "skip None")
    merge = subprocess.run(["git", "merge", "feature"], cwd=repo, capture_output=True)
    assert merge.returncode != 0 and "<<<<<<< HEAD" in (repo / "calc.py").read_text()
    return repo, ours, theirs


def resolution(body: str) -> str:
    """The SEARCH/REPLACE block a capable model writes: SEARCH quotes the whole conflict
    region as the file holds it, markers included."""
    return ("calc.py\n```python\n<<<<<<< SEARCH\n<<<<<<< HEAD\n" + OURS + "=======\n" + THEIRS
            + ">>>>>>> feature\n=======\n" + body + ">>>>>>> REPLACE\n```\n")


MERGE_PLAN = ("1. git_status\n2. resolve_conflict calc.py\n3. run_tests\n"
              "4. git_commit Merge feature: total() takes start and skips None\n")


def test_merge_conflict_resolved_tested_and_committed_with_two_parents(
        conflicted: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, ours, theirs = conflicted
    remote = with_remote(repo)
    before = remote_refs(remote)
    plan = MERGE_PLAN + "".join(f"{5 + k}. {a}\n" for k, a in
                                enumerate(PUSH_ATTEMPTS.splitlines())) + "8. done\n"
    with ScriptedServer(scripted([plan], [resolution(BOTH)])) as srv:
        p, result = hrm_run(repo, tmp_path / "home", srv, "resolve the merge conflict in calc.py")
        edit_prompt = json.dumps(srv.messages(srv.kinds.index("edit")))
    assert p.returncode == 0, p.stderr
    assert steps(result) == [("git_status", True, False), ("resolve_conflict", True, False),
                             ("run_tests", True, False), ("git_commit", True, False),
                             ("shell", False, True), ("shell", False, True),
                             ("shell", False, True), ("done", True, False)]
    assert result["tests"] == {"passed": 3, "failed": 0}
    # git_status listed the conflicted file and its hunk, ours and theirs
    (status,) = tool_outputs(tmp_path / "home")["git_status"]
    assert "conflicted ['calc.py']" in status and "a merge is in progress" in status
    assert f"conflict in calc.py: 1 hunk(s)\nhunk 1 ours (HEAD):\n{OURS.rstrip()}\n" \
        f"hunk 1 theirs:\n{THEIRS.rstrip()}" in status
    # the editor was shown the markers and asked to resolve them
    assert "<<<<<<< HEAD" in edit_prompt and "Resolve the merge conflicts in calc.py" in edit_prompt
    # a merge commit: two parents, main's and feature's, holding the resolution
    assert git(repo, "rev-parse", "HEAD^1", "HEAD^2").split() == [ours, theirs]
    assert git(repo, "show", "HEAD:calc.py") + "\n" == BOTH
    assert git(repo, "log", "-1", "--format=%s") == \
        "hrm: Merge feature: total() takes start and skips None"
    assert git(repo, "branch", "--show-current") == "main"
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert not (repo / ".git" / "MERGE_HEAD").exists()
    # nothing was pushed, in any spelling
    assert p.stderr.count("hrm never pushes") >= 3
    assert remote_refs(remote) == before


def test_merge_not_committed_when_the_tests_fail(conflicted: tuple[Path, str, str],
                                                 tmp_path: Path) -> None:
    repo, ours, _ = conflicted
    # "theirs" alone drops main's None handling: test_none fails. The planner then tries
    # to commit anyway, and is refused.
    plans = [MERGE_PLAN + "5. done\n", "1. git_commit Merge feature anyway\n", "1. done\n"]
    with ScriptedServer(scripted(plans, [resolution(THEIRS)])) as srv:
        p, result = hrm_run(repo, tmp_path / "home", srv, "resolve the merge conflict in calc.py")
        replan = json.dumps(srv.messages(srv.kinds.index("plan", 1)))
    # the revision saw the hunks (git_status) and the failing test
    assert "hunk 1 ours (HEAD):" in replan and "test_skips_none" in replan
    assert steps(result)[:4] == [("git_status", True, False), ("resolve_conflict", True, False),
                                 ("run_tests", False, False), ("git_commit", False, False)]
    assert result["tests"] == {"passed": 2, "failed": 1}
    assert "not committing the merge: the tests failed after the last edit" in p.stderr
    assert "not committed (the tests did not pass): calc.py" in p.stderr
    # no commit: HEAD is still main's, the merge still in progress with the resolution staged
    assert git(repo, "rev-parse", "HEAD") == ours
    assert (repo / ".git" / "MERGE_HEAD").exists()
    assert git(repo, "diff", "--cached", "--name-only") == "calc.py\ntest_start.py"
    assert "<<<<<<<" not in (repo / "calc.py").read_text()
    assert git(repo, "ls-files", "-u") == ""  # resolved (staged), just not committed


# ---------------------------------------------------------------- 2. a fix on a branch

BUGGY = "def add(a, b):\n    return a - b\n"
TEST_ADD = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FIX = ("calc.py\n```python\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n"
       ">>>>>>> REPLACE\n```\n")
WRONG_FIX = FIX.replace("a + b", "a * b")
BRANCH_PLAN = ("1. git_branch fix-add\n2. read calc.py\n3. edit calc.py\n4. run_tests\n"
               "5. git_commit Fix add: return the sum\n")


@pytest.fixture
def buggy(tmp_path: Path) -> Path:
    return new_repo(tmp_path / "repo", {"calc.py": BUGGY, "test_calc.py": TEST_ADD})


def test_fix_on_a_new_branch_is_committed_there_and_main_is_untouched(buggy: Path,
                                                                     tmp_path: Path) -> None:
    main = git(buggy, "rev-parse", "main")
    remote = with_remote(buggy)
    before = remote_refs(remote)
    plan = BRANCH_PLAN + "".join(f"{6 + k}. {a}\n" for k, a in
                                 enumerate(PUSH_ATTEMPTS.splitlines())) + "9. done\n"
    with ScriptedServer(scripted([plan], [FIX])) as srv:
        p, result = hrm_run(buggy, tmp_path / "home", srv,
                            "create a branch for this fix, make the failing test pass, and commit")
    assert p.returncode == 0, p.stderr
    assert steps(result)[:5] == [("git_branch", True, False), ("read", True, False),
                                 ("edit", True, False), ("run_tests", True, False),
                                 ("git_commit", True, False)]
    assert [s[1:] for s in steps(result)[5:8]] == [(False, True)] * 3  # the pushes: denied
    assert result["tests"] == {"passed": 1, "failed": 0}
    # on the new branch: one commit, on top of main, holding the fix and nothing else
    assert git(buggy, "branch", "--show-current") == "fix-add"
    assert git(buggy, "rev-parse", "main") == main
    assert git(buggy, "rev-parse", "fix-add^") == main
    assert git(buggy, "log", "--format=%s", "main..fix-add") == "hrm: Fix add: return the sum"
    assert "Hrm-Edit: true" in git(buggy, "log", "-1", "--format=%b")
    assert git(buggy, "diff", "--name-only", "main", "fix-add") == "calc.py"
    assert git(buggy, "show", "fix-add:calc.py") == "def add(a, b):\n    return a + b"
    assert git(buggy, "show", "main:calc.py") == BUGGY.rstrip()
    assert git(buggy, "status", "--porcelain", "--untracked-files=no") == ""
    # nothing pushed: the remote has main only, as the test pushed it
    assert remote_refs(remote) == before
    shells = tool_outputs(tmp_path / "home")["shell"]
    assert len(shells) == 3 and all("hrm never pushes" in o for o in shells)


def test_fix_not_committed_when_the_tests_fail(buggy: Path, tmp_path: Path) -> None:
    main = git(buggy, "rev-parse", "main")
    # the edit is wrong; after the failing tests the planner tries to commit anyway
    plans = [BRANCH_PLAN + "6. done\n", "1. git_commit Fix add anyway\n", "1. done\n"]
    with ScriptedServer(scripted(plans, [WRONG_FIX])) as srv:
        p, result = hrm_run(buggy, tmp_path / "home", srv,
                            "create a branch for this fix, make the failing test pass, and commit")
    assert steps(result)[:5] == [("git_branch", True, False), ("read", True, False),
                                 ("edit", True, False), ("run_tests", False, False),
                                 ("git_commit", False, False)]
    assert result["tests"] == {"passed": 0, "failed": 1}
    assert "not committing calc.py: the tests failed after the last edit" in p.stderr
    assert "not committed (the tests did not pass): calc.py" in p.stderr
    # the branch exists but holds no commit; main untouched; the edit is left staged
    assert git(buggy, "branch", "--show-current") == "fix-add"
    assert git(buggy, "rev-parse", "fix-add") == git(buggy, "rev-parse", "main") == main
    assert git(buggy, "diff", "--cached", "--name-only") == "calc.py"
    assert "a * b" in (buggy / "calc.py").read_text()


# ---------------------------------------------------------------- 3. summarise a branch

SUMMARY_PLAN = ("1. git_log main..HEAD\n2. git_diff main...HEAD\n"
                "3. edit .hrm/pr-description.md\n4. done\n")


def describe(msgs: list[dict]) -> str:
    """A capable model's PR description: it names what the diff it was shown changed."""
    prompt = msgs[-1]["content"]
    added = re.findall(r"^\+def (\w+)", prompt, re.MULTILINE)
    files = re.findall(r"^\+\+\+ b/(\S+)", prompt, re.MULTILINE)
    return ("```markdown\n# Add " + " and ".join(added) + "\n\n"
            + "".join(f"- `{f}`: adds `{name}()`\n" for f in files for name in added
                      if f == "calc.py") + "```\n")


def test_summary_of_a_branch_is_drafted_without_touching_the_repo(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo", {"calc.py": BUGGY.replace("-", "+"),
                                        "test_calc.py": TEST_ADD})
    git(repo, "switch", "-qc", "feature")
    commit_files(repo, {"calc.py": BUGGY.replace("-", "+")
                        + "\n\ndef multiply(a, b):\n    return a * b\n"}, "multiply")
    commit_files(repo, {"calc.py": (repo / "calc.py").read_text()
                        + "\n\ndef power(a, b):\n    return a ** b\n"}, "power")
    git(repo, "switch", "-q", "main")  # main moves on after the fork: not part of the branch
    commit_files(repo, {"notes.py": "def subtract(a, b):\n    return a - b\n"}, "subtract")
    git(repo, "switch", "-q", "feature")
    refs = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    with ScriptedServer(scripted([SUMMARY_PLAN], describe)) as srv:
        p, result = hrm_run(repo, tmp_path / "home", srv, "summarise what changed since main")
        prompt = srv.messages(srv.kinds.index("edit"))[-1]["content"]
    assert p.returncode == 0, p.stderr
    assert steps(result) == [("git_log", True, False), ("git_diff", True, False),
                             ("edit", True, False), ("done", True, False)]
    # the model was given the branch's commits and its diff since the fork, not main's
    assert "multiply" in prompt and "power" in prompt and "+def power(a, b):" in prompt
    assert "subtract" not in prompt
    draft = (repo / ".hrm" / "pr-description.md").read_text()
    assert draft == "# Add multiply and power\n\n- `calc.py`: adds `multiply()`\n" \
                    "- `calc.py`: adds `power()`\n"
    assert "# Add multiply and power" in p.stderr  # and shown to the user
    # the repository is as it was: refs, index and tracked files; the draft is untracked
    assert git(repo, "for-each-ref", "--format=%(refname) %(objectname)") == refs
    assert git(repo, "status", "--porcelain") == "?? .hrm/"
    assert git(repo, "branch", "--show-current") == "feature"


def test_draft_without_git_output_is_refused(buggy: Path, tmp_path: Path) -> None:
    with ScriptedServer(scripted(["1. edit .hrm/pr-description.md\n", "1. done\n"],
                                 ["# made up\n"])) as srv:
        p, result = hrm_run(buggy, tmp_path / "home", srv, "write a PR description")
        assert "edit" not in srv.kinds  # the model was never asked to invent one
    assert steps(result)[0] == ("edit", False, False)
    assert "run git_diff (and git_log) first" in p.stderr
    assert not (buggy / ".hrm").exists()
