"""The outer agent loop end to end on real git repos, with the model behind a real
OpenAI-compatible HTTP server on 127.0.0.1 that streams scripted replies as SSE
(tests/scripted_server.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hrmcli.agent.backends import load_backend
from hrmcli.agent.coder import MAX_REPAIRS
from hrmcli.agent.history import History
from hrmcli.agent.loop import AgentLoop, LoopUI
from hrmcli.agent.snapshot import Snapshot
from hrmcli.agent.transcript import Transcript
from hrmcli.tools.permissions import Policy
from tests.scripted_server import ScriptedServer

CALC = "def add(a, b):\n    return a - b\n"
TEST_CALC = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FIX = """calc.py
```python
<<<<<<< SEARCH
    return a - b
=======
    return a + b
>>>>>>> REPLACE
```
"""


def plan_then(plan: str, edit: str = FIX, later_plan: str = "1. done\n") -> Callable:
    """First planner call gets `plan`, later ones `later_plan`; edit calls get `edit`."""
    calls = {"plan": 0}

    def script(kind: str, msgs: list[dict]) -> str:
        if kind == "plan":
            calls["plan"] += 1
            return plan if calls["plan"] == 1 else later_plan
        return edit

    return script


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def make_repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "calc.py").write_text(CALC)
    (root / "test_calc.py").write_text(TEST_CALC)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "t@example.com")
    git(root, "add", ".")
    git(root, "commit", "-qm", "init")
    return root


def tree_state(repo: Path) -> tuple[str, str, dict[str, bytes]]:
    files = {p.relative_to(repo).as_posix(): p.read_bytes()
             for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts
             and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts}
    return git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"), files


class RecordingUI(LoopUI):
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.questions: list[tuple[str, str]] = []
        self.texts: list[str] = []
        self.plans: list[list[str]] = []

    def plan(self, plan, revised: bool) -> None:  # noqa: ANN001
        self.plans.append(plan.lines())

    def text(self, piece: str) -> None:
        self.texts.append(piece)

    def confirm(self, question: str, detail: str = "") -> bool:
        self.questions.append((question, detail))
        return self.answer


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture(autouse=True)
def hrm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HRM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_fixes_failing_test_end_to_end(repo: Path, tmp_path: Path) -> None:
    plan = "1. read calc.py\n2. edit calc.py\n3. run_tests\n4. done\n"
    with ScriptedServer(plan_then(plan)) as srv:
        backend = load_backend(srv.spec)
        ui = RecordingUI(answer=True)
        history = History(tmp_path / "h.sqlite3")
        session = history.start("run", backend.name, repo, "fix add")
        loop = AgentLoop(repo, backend, backend, Policy(), ui,
                         transcript=Transcript("fix add so the test passes", session))
        result = loop.run("fix add so the test passes")
    assert result.plan == ["1. read calc.py", "2. edit calc.py", "3. run_tests", "4. done"]
    assert [(s.tool, s.ok) for s in result.steps] == [("read", True), ("edit", True),
                                                       ("run_tests", True)]
    assert result.done and result.reason == "tests pass"
    assert result.tests is not None and result.tests.passed == 1 and result.tests.failed == 0
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    # the edit was shown as a diff and confirmed, then committed as an hrm edit
    assert len(ui.questions) == 1 and "+    return a + b" in ui.questions[0][1]
    assert "Hrm-Edit: true" in git(repo, "log", "-1", "--format=%B")
    assert "".join(ui.texts).count("SEARCH") == 1  # the edit streamed through the UI
    # the planner saw the repo map, the editor saw the file
    assert srv.kinds == ["plan", "edit"]
    assert "calc.py" in srv.messages(0)[-1]["content"]
    assert "return a - b" in srv.messages(1)[-1]["content"]
    # stored via history
    shown = history.show(session.id)
    assert shown["outcome"] == "tests pass"
    tools = [e["data"]["tool"] for e in shown["events"] if e["kind"] == "tool"]
    assert tools == ["read", "edit", "run_tests"]
    assert any(e["kind"] == "plan" for e in shown["events"])


def test_failure_is_fed_back_and_plan_revised(repo: Path) -> None:
    bad_edit = FIX.replace("return a - b", "return a * b", 1)  # SEARCH matches nothing
    # the coder repairs within a step (MAX_REPAIRS retries); only then does the step fail
    edits = iter([bad_edit] * (MAX_REPAIRS + 1) + [FIX])
    plans = iter(["1. edit calc.py\n2. run_tests\n", "1. edit calc.py\n2. run_tests\n3. done\n"])

    def script(kind: str, msgs: list[dict]) -> str:
        return next(plans) if kind == "plan" else next(edits)

    with ScriptedServer(script) as srv:
        backend = load_backend(srv.spec)
        loop = AgentLoop(repo, backend, backend, Policy(assume_yes=True), RecordingUI(True))
        result = loop.run("fix add")
        revision_prompt = srv.messages(MAX_REPAIRS + 2)[-1]["content"]
    assert [(s.tool, s.ok) for s in result.steps] == [("edit", False), ("edit", True),
                                                       ("run_tests", True)]
    assert "1. edit calc.py -> failed" in revision_prompt
    assert result.done and (repo / "calc.py").read_text().endswith("a + b\n")


def test_unparseable_plan_falls_back_and_says_so(repo: Path) -> None:
    with ScriptedServer(plan_then("I would look around first, then fix things.")) as srv:
        backend = load_backend(srv.spec)
        loop = AgentLoop(repo, backend, backend, Policy(assume_yes=True), RecordingUI(True),
                         context_files=["calc.py"])
        result = loop.run("fix add")
    assert result.plan == ["1. read calc.py", "2. edit calc.py", "3. run_tests", "4. done"]
    assert any("default plan" in ln for ln in result.transcript.lines)
    assert result.done and result.tests is not None and result.tests.failed == 0


def test_permission_ask_answered_no_skips_and_records(repo: Path) -> None:
    plan = "1. shell touch created.txt\n2. edit calc.py\n3. done\n"
    before = tree_state(repo)
    with ScriptedServer(plan_then(plan)) as srv:
        backend = load_backend(srv.spec)
        ui = RecordingUI(answer=False)
        result = AgentLoop(repo, backend, backend, Policy(), ui).run("fix add")
    assert [(s.tool, s.ok, s.skipped) for s in result.steps] == [
        ("shell", False, True), ("edit", False, True), ("done", True, False)]
    assert "the user declined" in result.steps[0].output
    assert [q for q, _ in ui.questions] == ["run `touch created.txt`",
                                            "apply this edit to calc.py"]
    assert tree_state(repo) == before
    assert result.to_json()["steps"][0] == {"tool": "shell", "arg": "touch created.txt",
                                             "ok": False, "skipped": True, "rolled_back": False}


def test_step_limit_bounds_the_loop(repo: Path) -> None:
    with ScriptedServer(plan_then("1. list\n", later_plan="1. git_status\n")) as srv:
        backend = load_backend(srv.spec)
        result = AgentLoop(repo, backend, backend, Policy(), RecordingUI(True),
                           max_steps=3).run("look around")
    assert len(result.steps) == 3 and not result.done
    assert result.reason == "step limit reached"


def test_a_step_that_keeps_failing_ends_the_run(repo: Path) -> None:
    """A planner that asks for the same failing step again (a file that is not there) is
    stopped after two failures instead of burning every step; a failing run_tests between
    two edits that changed the repo is not a repeat."""
    with ScriptedServer(plan_then("1. read Makefile\n", later_plan="1. read Makefile\n")) as srv:
        backend = load_backend(srv.spec)
        result = AgentLoop(repo, backend, backend, Policy(), RecordingUI(True),
                           max_steps=12).run("fix add")
    assert [(s.tool, s.arg, s.ok) for s in result.steps] == [("read", "Makefile", False)] * 2
    assert not result.done and result.reason == (
        "the planner asked again for `read Makefile`, which failed 2 times with nothing "
        "changed in between")
    wrong = FIX.replace("a + b", "a * b", 1)  # applies; the test still fails
    edits = iter([wrong, FIX.replace("a - b", "a * b", 1)])
    plans = iter(["1. run_tests\n", "1. edit calc.py\n2. run_tests\n",
                  "1. edit calc.py\n2. run_tests\n"])

    def script(kind: str, msgs: list[dict]) -> str:
        return next(plans, "1. done\n") if kind == "plan" else next(edits)

    with ScriptedServer(script) as srv:
        backend = load_backend(srv.spec)
        result = AgentLoop(repo, backend, backend, Policy(assume_yes=True), RecordingUI(True),
                           max_steps=12).run("fix add")
    assert [(s.tool, s.ok) for s in result.steps] == [
        ("run_tests", False), ("edit", True), ("run_tests", False), ("edit", True),
        ("run_tests", True)]
    assert result.done and (repo / "calc.py").read_text().endswith("a + b\n")


def test_failed_shell_step_is_rolled_back(repo: Path) -> None:
    plan = "1. shell echo junk >> calc.py && git commit -qam junk && exit 3\n2. done\n"
    before = tree_state(repo)
    with ScriptedServer(plan_then(plan)) as srv:
        backend = load_backend(srv.spec)
        result = AgentLoop(repo, backend, backend, Policy(assume_yes=True),
                           RecordingUI(True)).run("break it")
    assert result.steps[0].ok is False and result.steps[0].rolled_back
    assert tree_state(repo) == before


def test_snapshot_restores_refs_index_and_files(repo: Path) -> None:
    (repo / "calc.py").write_text(CALC + "# mine, uncommitted\n")
    git(repo, "add", "calc.py")
    (repo / "notes.txt").write_text("untracked and mine\n")
    before = tree_state(repo)
    index_before = git(repo, "diff", "--cached")
    snap = Snapshot.take(repo)
    git(repo, "switch", "-qc", "other")
    (repo / "calc.py").write_text("changed\n")
    (repo / "new.py").write_text("new\n")
    (repo / "notes.txt").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "step work")
    snap.restore()
    assert tree_state(repo) == before
    assert git(repo, "diff", "--cached") == index_before
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert "other" not in git(repo, "branch")


HRM = [sys.executable, "-m", "hrmcli"]


def test_ctrl_c_inside_a_step_rolls_back(repo: Path, hrm_home: Path) -> None:
    """SIGINT arrives while a shell step has already changed a file and committed."""
    # the shell tool runs its command with /bin/sh -c, whose parent is hrm itself
    step = "echo junk >> calc.py && git commit -qam junk && kill -INT $PPID && sleep 20"
    before = tree_state(repo)
    with ScriptedServer(plan_then(f"1. shell {step}\n2. done\n")) as srv:
        proc = subprocess.run([*HRM, "run", "break it", "--repo", str(repo), "--yes",
                               "--model", srv.spec], capture_output=True, text=True, timeout=60,
                              env=_env(hrm_home), preexec_fn=_default_sigint)
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert "rolled back" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert tree_state(repo) == before


def test_ctrl_c_while_the_edit_streams(repo: Path, hrm_home: Path) -> None:
    plan = "1. edit calc.py\n2. run_tests\n3. done\n"
    before = tree_state(repo)
    with ScriptedServer(plan_then(plan)) as srv:
        srv.hold = threading.Event()
        proc = subprocess.Popen([*HRM, "run", "fix add", "--repo", str(repo), "--yes",
                                 "--model", srv.spec], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_env(hrm_home),
                                preexec_fn=_default_sigint)
        # the plan stream also holds half-way: let it through, then stop inside the edit
        assert srv.holding.wait(30)
        srv.holding.clear()
        srv.hold.set()
        srv.hold = threading.Event()
        assert srv.holding.wait(30)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    assert tree_state(repo) == before


def _default_sigint() -> None:
    """CI runners may start tests with SIGINT ignored, which Python would inherit and keep."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "HRM_HOME": str(home)}
