"""The `hrm chat` app: talk to the model about the files in context, review its edits as
diffs, and drive the agent loop, all from the keyboard.

Model calls and tools run in thread workers so the screen keeps repainting while text
streams in; a worker that needs an answer (apply this diff?) pushes a modal screen and
waits for it. The SQLite history connection belongs to the UI thread, so workers log
through `call_from_thread`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from hrmcli.agent.backends.base import Backend
from hrmcli.agent.history import History, Session
from hrmcli.agent.loop import LoopUI
from hrmcli.agent.planner import Plan, format_steps
from hrmcli.agent.transcript import StepRecord
from hrmcli.tui.screens import Confirm, DiffReview
from hrmcli.tui.widgets import Conversation, FilesPanel, Message, PlanPanel

SLASH_COMMANDS: dict[str, str] = {
    "/add": "/add FILE...      add files to the context",
    "/drop": "/drop [FILE...]   drop files from the context (all when none are named)",
    "/diff": "/diff             show the last edit's diff, or your uncommitted changes",
    "/undo": "/undo             undo hrm's last edit commit",
    "/run": "/run WORKFLOW     plan and run tools until done (the agent loop)",
    "/test": "/test             run the project's tests",
    "/model": "/model [SPEC]     show the model, or switch to another",
    "/help": "/help             list these commands",
}
CHAT_REPAIRS = 1  # a chat turn may be a plain answer: do not insist on edits


class _WorkerUI(LoopUI):
    """Forwards the agent loop's events from its worker thread to the screen."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app
        self.stream: Message | None = None
        self.lines: list[str] = []

    def plan(self, plan: Plan, revised: bool) -> None:
        done = len(self.lines) if revised else 0
        self.lines = self.lines[:done] + format_steps(plan.steps, done + 1)
        self.app.call_from_thread(self.app.plan_panel.show, list(self.lines))
        self.stream = None

    def step_started(self, index: int, tool: str, arg: str) -> None:
        self.stream = None
        self.app.call_from_thread(self.app.plan_panel.show, list(self.lines), index)
        self.app.call_from_thread(self.app.say, "system", f"step {index}: {tool} {arg}".rstrip())

    def text(self, piece: str) -> None:
        if self.stream is None:
            self.stream = self.app.call_from_thread(self.app.conversation.stream)
        self.app.call_from_thread(self.stream.append, piece)

    def step_finished(self, rec: StepRecord) -> None:
        self.stream = None
        self.app.call_from_thread(self.app.say, "system", rec.summary())

    def note(self, text: str) -> None:
        self.app.call_from_thread(self.app.say, "system", text)

    def confirm(self, question: str, detail: str = "") -> bool:
        if detail.startswith(("--- ", "diff ")):
            return self.app.ask(DiffReview(question, detail))
        return self.app.ask(Confirm(question, detail))


class ChatApp(App):
    CSS_PATH = "chat.tcss"
    TITLE = "hrm chat"
    BINDINGS = [("ctrl+q", "quit", "Quit"), ("ctrl+l", "focus_prompt", "Prompt")]

    def __init__(self, root: Path, backend: Backend, *, history: History | None = None,
                 resume: int | None = None,
                 load_model: Callable[[str], Backend] | None = None) -> None:
        super().__init__()
        self.root = Path(root).resolve()
        self.backend = backend
        self.history = history
        self.resume_id = resume
        self.session: Session | None = None
        self.files: list[str] = []
        self.last_diff = ""
        self._load_model = load_model

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        with Vertical(id="main"):
            yield Conversation(id="conversation")
            yield Input(placeholder="Ask for a change, or /help", id="prompt")
        with Vertical(id="sidebar"):
            yield Static("Files in context", classes="panel-title")
            yield FilesPanel(id="files")
            yield Static("Plan", classes="panel-title")
            yield PlanPanel(id="plan")
        yield Footer()

    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def plan_panel(self) -> PlanPanel:
        return self.query_one(PlanPanel)

    def on_mount(self) -> None:
        self.sub_title = f"{self.backend.name} · {self.root}"
        if self.history is not None:
            if self.resume_id is not None:
                self._resume(self.resume_id)
            else:
                self.session = self.history.start("chat", self.backend.name, self.root)
        self.query_one(FilesPanel).show(self.files)
        self.plan_panel.show([])
        self.query_one(Input).focus()

    def _resume(self, session_id: int) -> None:
        assert self.history is not None
        self.session = self.history.resume(session_id)
        for m in self.history.messages(session_id):
            role = m["role"] if m["role"] in ("user", "assistant") else "system"
            self.say(role, m["content"])
        for e in self.history.events(session_id):
            if e["kind"] == "tool" and e["data"].get("tool") == "context":
                self.files = [f for f in e["data"]["args"] if (self.root / f).is_file()]
        self.say("system", f"resumed session {session_id}")

    def action_focus_prompt(self) -> None:
        self.query_one(Input).focus()

    # ---------------------------------------------------------------- helpers

    def say(self, role: str, text: str) -> Message:
        return self.conversation.say(role, text)

    def log_message(self, role: str, text: str, tokens: int | None = None) -> None:
        if self.session is not None:
            self.session.message(role, text, tokens)

    def ask(self, screen: ModalScreen[bool]) -> bool:
        """From a worker thread: show a modal screen and wait for its answer."""
        answered = threading.Event()
        result: list[bool] = []

        def done(value: bool | None) -> None:
            result.append(bool(value))
            answered.set()

        self.call_from_thread(self.push_screen, screen, done)
        answered.wait()
        return result[0]

    def _set_files(self, files: list[str]) -> None:
        self.files = files
        self.query_one(FilesPanel).show(files)
        if self.session is not None:
            self.session.tool("context", files, ok=True)

    # ---------------------------------------------------------------- input

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.value = ""
        if not text:
            return
        if text.startswith("/"):
            self.run_command(text)
            return
        self.say("user", text)
        self.log_message("user", text)
        self.edit_worker(text)

    def run_command(self, line: str) -> None:
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        handlers: dict[str, Callable[[str], None]] = {
            "/add": self.cmd_add, "/drop": self.cmd_drop, "/diff": self.cmd_diff,
            "/undo": self.cmd_undo, "/run": self.cmd_run, "/test": self.cmd_test,
            "/model": self.cmd_model, "/help": self.cmd_help,
        }
        handler = handlers.get(name)
        if handler is None:
            self.say("error", f"unknown command {name}; /help lists the commands")
            return
        handler(rest)

    def cmd_help(self, _: str) -> None:
        self.say("system", "commands:\n" + "\n".join(SLASH_COMMANDS.values())
                 + "\nkeys: Enter sends, ctrl+l focuses the prompt, ctrl+q quits")

    def cmd_add(self, arg: str) -> None:
        from hrmcli.tools.errors import ToolError
        from hrmcli.tools.paths import resolve_in_root

        if not arg:
            self.say("error", "usage: /add FILE...")
            return
        files = list(self.files)
        for name in arg.split():
            try:
                rel, real = resolve_in_root(self.root, name)
            except ToolError as e:
                self.say("error", str(e))
                continue
            if not real.is_file():
                self.say("error", f"{name} is not a file in {self.root}")
                continue
            if rel not in files:
                files.append(rel)
        self._set_files(files)

    def cmd_drop(self, arg: str) -> None:
        names = set(arg.split())
        self._set_files([f for f in self.files if names and f not in names])

    def cmd_diff(self, _: str) -> None:
        from hrmcli.tools.git import GitRepo

        if self.last_diff:
            self.say("system", self.last_diff)
            return
        repo = GitRepo.find(self.root)
        diff = repo.diff() if repo else ""
        self.say("system", diff or "no changes")

    def cmd_undo(self, _: str) -> None:
        from hrmcli.tools.git import GitRepo

        repo = GitRepo.find(self.root)
        if repo is None:
            self.say("error", f"{self.root} is not a git repository; nothing to undo")
            return
        result = repo.undo()
        self.say("system" if result.ok else "error", result.message)
        if result.ok:
            self.last_diff = ""

    def cmd_test(self, _: str) -> None:
        self.test_worker()

    def cmd_model(self, arg: str) -> None:
        if not arg:
            self.say("system", f"model: {self.backend.name}")
            return
        self.model_worker(arg)

    def cmd_run(self, arg: str) -> None:
        if not arg:
            self.say("error", "usage: /run WORKFLOW")
            return
        self.say("user", f"/run {arg}")
        self.log_message("user", f"/run {arg}")
        self.loop_worker(arg)

    # ---------------------------------------------------------------- workers

    @work(thread=True, exclusive=True, group="model")
    def edit_worker(self, task: str) -> None:
        from hrmcli.agent.coder import CoderError, EditCoder
        from hrmcli.agent.transaction import EditTransaction
        from hrmcli.tools.git import GitError

        stream = self.call_from_thread(self.conversation.stream)
        coder = EditCoder(self.backend, self.root, max_repairs=CHAT_REPAIRS,
                          on_text=lambda piece: self.call_from_thread(stream.append, piece))
        try:
            proposal = coder.propose(list(self.files), task)
        except CoderError as e:
            self.call_from_thread(self.say, "error", str(e))
            return
        except Exception as e:  # a backend failing mid-stream must not kill the app
            self.call_from_thread(self.say, "error", f"{type(e).__name__}: {e}")
            return
        self.call_from_thread(self.log_message, "assistant", proposal.reply, proposal.tokens)
        if not proposal.well_formed:
            if proposal.edits or not all("has no" in e for e in proposal.errors):
                self.call_from_thread(self.say, "error", "edits could not be applied: "
                                      + "; ".join(proposal.errors))
            return
        if not self.ask(DiffReview(f"apply this edit to {', '.join(proposal.files)}",
                                   proposal.diff)):
            self.call_from_thread(self.say, "system", "edit rejected; nothing changed")
            return
        try:
            done = EditTransaction(self.root, task.splitlines()[0][:60]).apply(
                proposal.edits, coder.edit_format)
        except GitError as e:
            self.call_from_thread(self.say, "error", f"{e}; nothing was written")
            return
        if not done.ok:
            self.call_from_thread(self.say, "error", "; ".join(done.errors))
            return
        self.last_diff = done.diff
        if done.commit_error:
            self.call_from_thread(self.say, "error",
                                  f"the edit was written but not committed: {done.commit_error}")
        self.call_from_thread(self.say, "system",
                              f"applied to {', '.join(done.files)}; /undo reverts it")

    @work(thread=True, exclusive=True, group="model")
    def loop_worker(self, workflow: str) -> None:
        from hrmcli.agent.loop import AgentLoop
        from hrmcli.tools.permissions import Policy

        try:
            policy = Policy.from_config()
            loop = AgentLoop(self.root, self.backend, self.backend, policy, _WorkerUI(self),
                             context_files=list(self.files))
            result = loop.run(workflow)
        except KeyboardInterrupt:
            raise
        except Exception as e:
            self.call_from_thread(self.say, "error", f"{type(e).__name__}: {e}")
            return
        summary = f"run finished: {result.reason}" + (" (done)" if result.done else "")
        self.call_from_thread(self.say, "system", summary)
        self.call_from_thread(self.log_message, "assistant", result.transcript.render())

    @work(thread=True, exclusive=True, group="tools")
    def test_worker(self) -> None:
        from hrmcli.tools.testrun import run_tests

        self.call_from_thread(self.say, "system", "running tests...")
        res = run_tests(self.root)
        if res.reason:
            self.call_from_thread(self.say, "error", f"tests did not run: {res.reason}")
            return
        verdict = "passed" if res.passed else "FAILED"
        self.call_from_thread(self.say, "system" if res.passed else "error",
                              f"tests {verdict}: {res.n_passed} passed, {res.n_failed} failed, "
                              f"{res.n_errors} errors\n{res.output[-1500:]}")

    @work(thread=True, exclusive=True, group="model")
    def model_worker(self, spec: str) -> None:
        from hrmcli.agent.backends import BackendError, load_backend

        loader = self._load_model or load_backend
        try:
            backend = loader(spec)
        except BackendError as e:
            self.call_from_thread(self.say, "error", str(e))
            return
        self.backend = backend
        self.call_from_thread(self.say, "system", f"model: {backend.name}")
