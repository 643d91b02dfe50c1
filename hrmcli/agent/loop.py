"""The outer agent loop of `hrm run`: plan -> act -> observe -> revise.

The planner backend (H role) writes a numbered tool plan; each step runs under the
permission policy; results go back to the planner whenever a step fails or the plan runs
out. The loop stops on the done signal (a `done` step, or the backend's halt head when it
has one and the plan has run out), on passing tests after an edit, or at the step limit.

Every step that can change anything runs inside a Snapshot: a step that fails, or is
interrupted with Ctrl-C, is rolled back, so the repository is always either before or
after a whole step.

Git workflows: when a plan holds a `git_commit` step, or a merge is in progress, edits are
written and staged but not committed one by one; the `git_commit` step commits them (a
merge commit, with two parents, while MERGE_HEAD exists) and refuses unless the tests
passed after the last edit. `edit .hrm/NAME` writes a draft (a PR description, a commit
message) from the `git_diff`/`git_log` output seen so far, never committed.
"""

from __future__ import annotations

import re
import shlex
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hrmcli.agent.backends.base import Backend, Message
from hrmcli.agent.planner import Plan, format_steps, make_plan
from hrmcli.agent.prompts import render
from hrmcli.agent.repomap import RepoMap, identifiers_in
from hrmcli.agent.snapshot import Snapshot
from hrmcli.agent.transcript import StepRecord, Transcript
from hrmcli.tools.errors import ToolError
from hrmcli.tools.permissions import Policy

if TYPE_CHECKING:
    from hrmcli.tools.git import GitRepo
    from hrmcli.tools.testrun import TestResult

PLAN_PATHS = 2000  # the most files a plan's read/edit arguments are held to
REPEATS = 2  # the same step failing this often, nothing changed between, ends the run
OBS_CHARS = 2000  # tool output fed back to the planner per step
DRAFT_DIR = ".hrm/"  # where `edit` writes drafts (not code): never committed
DRAFT_CONTEXT_CHARS = 24000  # git_diff/git_log output a draft is written from
READ_ONLY = frozenset({"read", "search", "list", "git_status", "git_diff", "git_log", "done"})
PACKAGE_TOOLS: dict[str, str] = {
    "pip": "pip", "npm": "npm", "cargo": "cargo", "go": "go", "maven": "mvn",
    "gradle": "gradle", "make": "make", "cmake": "cmake",
}
HALT_THRESHOLD = 0.5


class LoopUI:
    """What the loop tells its user and asks of them; the CLI and the TUI subclass it."""

    def plan(self, plan: Plan, revised: bool) -> None:
        """A plan (or a revision of what remains) is ready."""

    def step_started(self, index: int, tool: str, arg: str) -> None:
        """A step begins."""

    def text(self, piece: str) -> None:
        """Model output as it streams."""

    def step_finished(self, rec: StepRecord) -> None:
        """A step ended (ran, failed, skipped or rolled back)."""

    def note(self, text: str) -> None:
        """Something the user should know that is not a step."""

    def confirm(self, question: str, detail: str = "") -> bool:
        """Ask a yes/no question (detail: a diff or a command). No UI means no."""
        return False


@dataclass
class TestSummary:
    passed: int
    failed: int

    def to_json(self) -> dict:
        return {"passed": self.passed, "failed": self.failed}


@dataclass
class RunResult:
    plan: list[str]
    steps: list[StepRecord]
    done: bool
    tests: TestSummary | None
    reason: str
    transcript: Transcript

    def to_json(self) -> dict:
        return {
            "plan": self.plan,
            "steps": [{"tool": s.tool, "arg": s.arg, "ok": s.ok, "skipped": s.skipped,
                       "rolled_back": s.rolled_back} for s in self.steps],
            "done": self.done,
            "tests": self.tests.to_json() if self.tests else None,
            "reason": self.reason,
        }


@dataclass
class _Outcome:
    ok: bool
    output: str = ""
    skipped: bool = False
    diff: str = ""


@dataclass
class AgentLoop:
    root: Path
    planner: Backend
    editor: Backend
    policy: Policy
    ui: LoopUI = field(default_factory=LoopUI)
    max_steps: int = 20
    map_tokens: int = 1024
    test_timeout: float = 300.0
    transcript: Transcript | None = None
    context_files: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        if self.policy.root is None:  # commands are judged against the repository they run in
            self.policy = self.policy.with_root(self.root)
        self.observations: list[str] = []
        self.done_lines: list[str] = []
        self.tests: TestSummary | None = None
        self.edits_applied = 0
        self.request = ""
        self.commit_later = False  # a plan holds git_commit: edits are staged, not committed
        self.staged: list[str] = []  # files edited and staged for the run's git_commit
        self.tests_since_edit: bool | None = None  # the last test result after the last edit
        self.git_context: list[str] = []  # git_diff/git_log outputs, for drafts

    # ------------------------------------------------------------------ the loop

    def run(self, request: str) -> RunResult:
        self.request = request
        if self.transcript is None:
            self.transcript = Transcript(request)
        plan = self._plan(first=True)
        first_lines = plan.lines()
        queue = list(plan.steps)
        steps: list[StepRecord] = []
        done, reason = False, "step limit reached"
        executed = 0
        failed: Counter[tuple[str, str]] = Counter()  # since the repo last changed
        while executed < self.max_steps:
            if not queue:
                revised = self._plan(first=False)
                if not revised.steps:
                    reason = "the planner gave no further steps"
                    break
                queue = list(revised.steps)
            tool, arg = queue.pop(0)
            if failed[(tool, arg)] >= REPEATS:
                reason = (f"the planner asked again for `{tool} {arg}`, which failed "
                          f"{REPEATS} times with nothing changed in between")
                break
            index = len(steps) + 1
            if tool == "done":
                rec = StepRecord(index, "done", arg, ok=True)
                self._record(steps, rec)
                done, reason = True, "the planner signalled done"
                break
            rec = self._step(index, tool, arg)
            self._record(steps, rec)
            executed += 1
            if not rec.ok and not rec.skipped:
                failed[(tool, arg)] += 1
            elif rec.ok and tool not in READ_ONLY:
                failed.clear()  # the repo may have changed: a step that failed may work now
            if tool == "run_tests" and rec.ok and self.edits_applied and _only_wrapup(queue):
                done, reason = True, "tests pass"
                break
            # The halt head decides at the end of the plan (before its `done`, or instead of
            # asking for more steps), after a step that worked; it never cuts planned work
            # short, so an untrained head cannot end a run early.
            if rec.ok and all(t == "done" for t, _ in queue) and self._halted():
                done, reason = True, "the halt head signalled done"
                break
            if not rec.ok and not rec.skipped:
                revised = self._plan(first=False)
                if revised.steps:
                    queue = list(revised.steps)
        if self.staged:
            why = "the tests did not pass" if self.tests_since_edit is False else "no commit"
            left = f"not committed ({why}): {', '.join(self.staged)} edited and staged"
            self.ui.note(left)
            self.transcript.note(left)
        self.transcript.finish(reason)
        return RunResult(first_lines, steps, done, self.tests, reason, self.transcript)

    def _record(self, steps: list[StepRecord], rec: StepRecord) -> None:
        steps.append(rec)
        status = "ok" if rec.ok else "skipped" if rec.skipped else "failed"
        self.done_lines.append(done_line(rec.index, rec.tool, rec.arg, status))
        if rec.tool != "done":
            self.observations.append(observation(rec.index, rec.tool, rec.arg, status, rec.output))
        self.transcript.step(rec)
        self.ui.step_finished(rec)

    def _plan(self, first: bool) -> Plan:
        context = self._repo_map()
        plan = make_plan(
            self.planner, self.request, context=context,
            observations=[] if first else self.observations[-6:],
            done_so_far=[] if first else self.done_lines,
            context_files=self.context_files, on_text=self.ui.text, allow_fallback=first,
            paths=self._files(),
        )
        if plan.generation is not None:
            g = plan.generation
            self.transcript.generation(g.seconds, g.prompt_tokens, g.completion_tokens)
        if any(tool == "git_commit" for tool, _ in plan.steps):
            self.commit_later = True
        if plan.note:
            self.ui.note(plan.note)
            self.transcript.note(plan.note)
        if plan.steps:
            start = len(self.done_lines) + 1
            lines = format_steps(plan.steps, start)
            self.transcript.plan(lines, revised=not first, note="default" if plan.fallback else "")
            self.ui.plan(plan, revised=not first)
        return plan

    def _files(self) -> dict[str, list[str]]:
        """The files a plan's `read` and `edit` steps may name: the repo's files (none in a
        huge tree). Tests are not edited to make them pass: `edit` may name a test file
        only when the request names it, or when the repo has nothing else."""
        from hrmcli.tools.files import list_files

        try:
            files = list_files(self.root)
        except (ToolError, OSError):
            return {}
        if len(files) > PLAN_PATHS:
            return {}
        code = [f for f in files if not is_test_file(f) or f in self.request]
        return {"read": files, "edit": code or files}

    def _repo_map(self) -> str:
        try:
            return request_map(self.root, self.request, self.context_files, self.map_tokens)
        except (ToolError, OSError) as e:
            self.ui.note(f"no repo map: {e}")
            return ""

    def _halted(self) -> bool:
        """HRM-Code's done head, when the planner backend has one."""
        halt = getattr(self.planner, "halt_prob", None)
        if not callable(halt):
            return False
        import inspect

        if not inspect.signature(halt).parameters:  # the head's reading after the last reply
            return float(halt()) >= HALT_THRESHOLD
        msgs = [Message("tool", "\n\n".join(self.observations[-6:])), Message("user", self.request)]
        return float(halt(msgs)) >= HALT_THRESHOLD

    # ------------------------------------------------------------------ one step

    def _step(self, index: int, tool: str, arg: str) -> StepRecord:
        self.ui.step_started(index, tool, arg)
        t0 = time.perf_counter()
        snap = None
        if tool not in READ_ONLY:
            named = _paths_in(arg) if tool in ("edit", "resolve_conflict") else []
            snap = Snapshot.take(self.root, named)
        try:
            out = self._dispatch(tool, arg)
        except KeyboardInterrupt:
            if snap is not None:
                snap.restore()
                self.ui.note(f"interrupted: step {index} ({tool}) was rolled back")
            raise
        except ToolError as e:
            out = _Outcome(False, str(e))
        rec = StepRecord(index, tool, arg, out.ok, out.output, time.perf_counter() - t0,
                         out.skipped, diff=out.diff)
        if snap is not None and not out.ok and not out.skipped and tool != "run_tests":
            rec.rolled_back = bool(snap.restore())
        return rec

    def _dispatch(self, tool: str, arg: str) -> _Outcome:
        from hrmcli.tools.git import GitError

        handlers: dict[str, Callable[[str], _Outcome]] = {
            "read": self._read, "search": self._search, "list": self._list,
            "edit": self._edit, "resolve_conflict": self._resolve_conflict,
            "run_tests": self._run_tests, "shell": self._shell,
        }
        try:
            if tool in handlers:
                return handlers[tool](arg)
            if tool in PACKAGE_TOOLS:
                return self._command([PACKAGE_TOOLS[tool], *shlex.split(arg)])
            if tool.startswith("git_"):
                return self._git(tool[4:], arg)
        except GitError as e:
            return _Outcome(False, str(e))
        except ValueError as e:  # shlex on unbalanced quotes
            return _Outcome(False, f"cannot parse the arguments {arg!r}: {e}")
        return _Outcome(False, f"unknown tool {tool!r}")

    # ------------------------------------------------------------------ tools

    def _read(self, arg: str) -> _Outcome:
        from hrmcli.tools.files import read_file

        paths = shlex.split(arg) or list(self.context_files)
        if not paths:
            return _Outcome(False, "read needs a path")
        parts = []
        for p in paths:
            parts.append(f"{p}:\n{read_file(self.root, p)}")
            if p not in self.context_files:
                self.context_files.append(p)
        return _Outcome(True, "\n".join(parts))

    def _search(self, arg: str) -> _Outcome:
        from hrmcli.tools.files import grep

        if not arg.strip():
            return _Outcome(False, "search needs a pattern")
        hits = grep(self.root, arg.strip(), max_results=100)
        text = "\n".join(f"{m.path}:{m.line_no}: {m.line}" for m in hits)
        return _Outcome(True, text or "no matches")

    def _list(self, arg: str) -> _Outcome:
        import fnmatch

        from hrmcli.tools.files import list_files

        files = list_files(self.root)
        if arg.strip():
            files = [f for f in files if fnmatch.fnmatch(f, arg.strip())]
        return _Outcome(True, "\n".join(files[:500]))

    def _allowed(self, what: str, decision: str, detail: str) -> _Outcome | None:
        """None when the action may go ahead; otherwise the skipped outcome."""
        if decision == "deny":
            return _Outcome(False, f"{what}: denied by the permission policy", skipped=True)
        if decision == "ask" and not self.ui.confirm(what, detail):
            return _Outcome(False, f"{what}: the user declined", skipped=True)
        return None

    def _edit(self, arg: str, task: str | None = None) -> _Outcome:
        from hrmcli.agent.coder import CoderError, EditCoder
        from hrmcli.agent.transaction import EditTransaction
        from hrmcli.tools.git import GitRepo

        named = shlex.split(arg) or list(self.context_files)
        drafts = [f for f in named if f.startswith(DRAFT_DIR)]
        if drafts:
            return self._draft(drafts[0])
        files = [f for f in named if (self.root / f).is_file()]
        repo = GitRepo.find(self.root)
        stage = self.commit_later or (repo is not None and repo.merging())
        tx = EditTransaction(self.root, _summary(self.request), stage_only=stage)
        coder = EditCoder(self.editor, self.root, on_text=self.ui.text,
                          conflicted=frozenset(tx.conflicted()))
        try:
            proposal = coder.propose(files, task or self._edit_task())
        except CoderError as e:
            return _Outcome(False, str(e))
        if self.transcript:
            self.transcript.generation(proposal.seconds, proposal.prompt_tokens, proposal.tokens)
        if not proposal.well_formed:
            return _Outcome(False, "the edit could not be applied: " + "; ".join(proposal.errors))
        if not proposal.files:
            return _Outcome(False, "the edit changes nothing")
        refused = self._allowed(f"apply this edit to {', '.join(proposal.files)}",
                                self.policy.decide_category("edit"), proposal.diff)
        if refused:
            return _Outcome(False, refused.output, skipped=True, diff=proposal.diff)
        done = tx.apply(proposal.edits, coder.edit_format)
        if not done.ok:
            return _Outcome(False, "; ".join(done.errors), diff=proposal.diff)
        for f in done.files:
            if f not in self.context_files:
                self.context_files.append(f)
        self.edits_applied += 1
        self.tests_since_edit = None
        if stage and not done.commit_error:
            self.staged += [f for f in done.files if f not in self.staged]
            note = " (staged; git_commit commits it once the tests pass)"
        else:
            note = f" (not committed: {done.commit_error})" if done.commit_error else ""
        added = "".join(f"\nnote: {n}" for n in proposal.notes)
        return _Outcome(True, f"applied to {', '.join(done.files)}{note}{added}", diff=done.diff)

    def _draft(self, rel: str) -> _Outcome:
        """Write a draft (a PR description, a commit message) under .hrm/ from the git
        output this run has seen; drafts are not code, so they are never committed."""
        from hrmcli.agent.backends.base import GenerationOptions, complete
        from hrmcli.agent.thinking import strip_thinking
        from hrmcli.agent.transaction import EditTransaction
        from hrmcli.agent.wholefile import WholeFile

        if not self.git_context:
            return _Outcome(False, f"nothing to write {rel} from: run git_diff (and git_log) "
                                   "first; the draft is written from what they show")
        context = "\n\n".join(self.git_context)[-DRAFT_CONTEXT_CHARS:]
        task = render("write_draft.md", request=self.request, path=rel, context=context)
        reply = complete(self.editor, [Message("user", task)],
                         GenerationOptions(max_tokens=1024, temperature=0.0), self.ui.text)
        if self.transcript:
            self.transcript.generation(reply.seconds, reply.prompt_tokens, reply.completion_tokens)
        text = _unfenced(strip_thinking(reply.text)).strip()
        if not text:
            return _Outcome(False, f"the model wrote nothing for {rel}")
        refused = self._allowed(f"write the draft {rel}", self.policy.decide_category("edit"),
                                text)
        if refused:
            return refused
        done = EditTransaction(self.root, commit=False).apply([WholeFile(rel, text + "\n")],
                                                              "whole")
        if not done.ok:
            return _Outcome(False, "; ".join(done.errors))
        return _Outcome(True, f"wrote {rel} (a draft, not committed):\n{text}", diff=done.diff)

    def _edit_task(self) -> str:
        """The request plus the latest failure, so the editor fixes what was observed."""
        failures = [o for o in self.observations if "-> failed" in o.split("\n", 1)[0]]
        if failures:
            return render("edit_retry.md", request=self.request, result=failures[-1])
        return self.request

    def _resolve_conflict(self, arg: str) -> _Outcome:
        from hrmcli.tools.git import GitRepo

        repo = GitRepo.find(self.root)
        files = shlex.split(arg) or (repo.status().conflicted if repo else [])
        if not files:
            return _Outcome(False, "no conflicted files")
        task = render("resolve_conflicts.md", request=self.request, files=", ".join(files))
        return self._edit(" ".join(shlex.quote(f) for f in files), task)

    def _run_tests(self, arg: str) -> _Outcome:
        from hrmcli.tools.testrun import detect, run_tests

        found = detect(self.root)
        if found and found[0].argv:
            refused = self._allowed(f"run the tests: {shlex.join(found[0].argv)}",
                                    self.policy.decide(found[0].argv), shlex.join(found[0].argv))
            if refused:
                return refused
        res = run_tests(self.root, timeout=self.test_timeout)
        self.tests_since_edit = res.available and not res.reason and res.passed
        if not res.available or res.reason:
            return _Outcome(False, f"tests did not run: {res.reason}\n{res.output[-OBS_CHARS:]}")
        self.tests = TestSummary(res.n_passed, res.n_failed + res.n_errors)
        return _Outcome(res.passed, tests_output(res))

    def _shell(self, arg: str) -> _Outcome:
        if not arg.strip():
            return _Outcome(False, "shell needs a command")
        return self._command(arg)

    def _command(self, command: list[str] | str) -> _Outcome:
        from hrmcli.tools.shell import run

        shown = command if isinstance(command, str) else shlex.join(command)
        verdict = self.policy.check(command)
        refused = self._allowed(f"run `{shown}`", verdict.decision, shown)
        if refused:
            if verdict.decision == "deny" and verdict.reason:
                refused.output += f" ({verdict.reason})"
            return refused
        res = run(command, self.root, self.root, timeout=self.test_timeout)
        tail = "" if res.ok else f"\n[exit status {res.returncode}]"
        return _Outcome(res.ok, res.output + tail)

    def _git(self, sub: str, arg: str) -> _Outcome:
        from hrmcli.tools.git import GitRepo, format_conflicts

        repo = GitRepo.find(self.root)
        if repo is None:
            return _Outcome(False, f"{self.root} is not a git repository")
        args = shlex.split(arg)
        if sub == "status":
            st = repo.status()
            text = (f"branch {st.branch}; staged {st.staged}; modified {st.unstaged}; "
                    f"untracked {st.untracked}; conflicted {st.conflicted}")
            if repo.merging():
                text += "\na merge is in progress (git_commit makes the merge commit)"
            if st.conflicted:
                text += "\n" + format_conflicts(repo.conflicts())
            return _Outcome(True, text)
        rev = args[0] if args and sub in ("diff", "log") and repo.is_revision(args[0]) else None
        paths = [a for a in (args[1:] if rev else args) if a != "--"]
        if sub == "diff":
            text = repo.diff(paths=paths, rev=rev) or "no changes"
            self.git_context.append(f"git diff {arg}".rstrip() + f":\n{text}")
            return _Outcome(True, text)
        if sub == "log":
            text = "\n".join(f"{c.sha[:10]} {c.summary}" for c in repo.log(30, rev or "HEAD"))
            self.git_context.append(f"git log {arg}".rstrip() + f":\n{text or 'no commits'}")
            return _Outcome(True, text or "no commits")
        if sub == "commit":
            unready = self._commit_refused(repo)
            if unready:
                return _Outcome(False, unready)
        argv = {"add": ["git", "add", *args], "commit": ["git", "commit", "-m", arg],
                "branch": ["git", "switch", "-c", *args], "switch": ["git", "switch", *args],
                "merge": ["git", "merge", *args], "stash": ["git", "stash", *args]}.get(sub)
        if argv is None:
            return _Outcome(False, f"unknown git tool git_{sub}")
        if sub in ("branch", "switch", "merge") and not args:
            return _Outcome(False, f"git_{sub} needs a name")
        refused = self._allowed(f"run `{shlex.join(argv)}`", self.policy.decide(argv),
                                shlex.join(argv))
        if refused:
            return refused
        if sub == "add":
            repo.add(args)
            return _Outcome(True, f"staged {' '.join(args)}")
        if sub == "commit":
            return self._commit(repo, arg)
        if sub == "branch":
            repo.branch_create(args[0])
            repo.branch_switch(args[0])
            return _Outcome(True, f"on new branch {args[0]}")
        if sub == "switch":
            repo.branch_switch(args[0])
            return _Outcome(True, f"on branch {args[0]}")
        if sub == "merge":
            m = repo.merge(args[0])
            return _Outcome(m.ok, m.message + "".join(f"\nconflict: {c.path}" for c in m.conflicts))
        stashed = repo.stash()
        return _Outcome(True, "stashed" if stashed else "nothing to stash")

    def _commit_refused(self, repo: GitRepo) -> str:
        """Why git_commit may not commit now ("" when it may): hrm's staged edits and a
        merge are committed only once the tests passed after the last edit (a project
        without a test runner has nothing to wait for)."""
        from hrmcli.tools.testrun import detect

        merging = repo.merging()
        if not (merging or self.staged):
            return ""
        left = repo.status().conflicted if merging else []
        if left:
            return (f"not committing the merge: {', '.join(left)} still conflicted; "
                    "resolve_conflict first")
        if self.tests_since_edit or not detect(self.root):
            return ""
        what = "the merge" if merging else ", ".join(self.staged)
        if self.tests_since_edit is False:
            return f"not committing {what}: the tests failed after the last edit"
        return f"not committing {what}: run_tests has not passed since the last edit"

    def _commit(self, repo: GitRepo, message: str) -> _Outcome:
        """The run's commit: the merge in progress (two parents), or the edits this run
        staged (only them), as hrm commits that `hrm undo` can drop; otherwise what is
        staged, as asked."""
        from hrmcli.tools.git import hrm_message

        if repo.merging():
            sha = repo.commit(hrm_message(message or "merge"))
            self.staged = []
            parents = ", ".join(p.hexsha[:10] for p in repo.repo.head.commit.parents)
            return _Outcome(True, f"committed the merge {sha[:10]} (parents {parents})")
        if self.staged:
            top = repo.root.resolve()
            paths = [(self.root / f).resolve().relative_to(top).as_posix() for f in self.staged]
            sha = repo.commit(hrm_message(message or _summary(self.request)), paths)
            files, self.staged = self.staged, []
            return _Outcome(True, f"committed {sha[:10]}: {', '.join(files)}")
        sha = repo.commit(message or "hrm: commit")
        return _Outcome(True, f"committed {sha[:10]}")


def request_map(root: Path, request: str, files: Sequence[str] = (), tokens: int = 1024,
                cache_dir: Path | None = None) -> str:
    """The repo map the planner sees first: ranked for the files in the chat and the words
    of the request (the plan data renders its sandboxes with this too)."""
    return RepoMap(root, cache_dir).render(files, identifiers_in(request), tokens)


def tests_output(res: TestResult) -> str:
    """What a run_tests step shows the planner and the editor: the counts, then the tail."""
    head = f"{res.n_passed} passed, {res.n_failed} failed, {res.n_errors} errors"
    return f"{head}\n{res.output[-(OBS_CHARS - len(head) - 1):]}"  # observation keeps both


_TEST_NAME = re.compile(r"(^test_.*\.py$|_test\.(py|go)$|\.(test|spec)\.[jt]sx?$|Tests?\.java$)")


def is_test_file(rel: str) -> bool:
    """A test file by its name or folder (test_x.py, x_test.go, x.test.js, XTest.java,
    anything under tests/ or test/)."""
    parts = rel.split("/")
    return bool(_TEST_NAME.search(parts[-1])) or any(p in ("test", "tests", "__tests__")
                                                      for p in parts[:-1])


def done_line(index: int, tool: str, arg: str, status: str) -> str:
    """A step as the revising planner lists it: `N. tool arg`, marked when it did not work."""
    line = f"{index}. {tool} {arg}".rstrip()
    return line if status == "ok" else f"{line} ({status})"


def observation(index: int, tool: str, arg: str, status: str, output: str) -> str:
    """One step's result as the planner (and an edit after a failure) reads it."""
    line = f"{index}. {tool} {arg}".rstrip()
    return f"{line} -> {status}" + (f"\n{output[-OBS_CHARS:]}" if output else "")


def _only_wrapup(queue: list[tuple[str, str]]) -> bool:
    """Passing tests end the run unless the plan still holds real work (commit, merge...)."""
    return all(t in ("done", "run_tests") for t, _ in queue)


def _paths_in(arg: str) -> list[str]:
    """The files an edit step names, when they are inside the repo (outside git these are
    all a snapshot can save)."""
    try:
        return shlex.split(arg)
    except ValueError:
        return []


def _unfenced(text: str) -> str:
    """A reply wrapped whole in one code fence, without the fence."""
    lines = text.strip().splitlines()
    if len(lines) >= 2 and lines[0].startswith("```") and lines[-1].strip() == "```":
        return "\n".join(lines[1:-1])
    return text


def _summary(request: str) -> str:
    line = request.strip().splitlines()[0] if request.strip() else "edit"
    return line[:60]
