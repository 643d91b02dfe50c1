"""The terminal face of the agent loop for `hrm run`: plan, streamed model text, diffs and
yes/no questions on a rich Console."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

from hrmcli.agent.loop import LoopUI
from hrmcli.agent.planner import Plan, format_steps
from hrmcli.agent.transcript import StepRecord


class ConsoleUI(LoopUI):
    def __init__(self, console: Console) -> None:
        self.console = console
        self._streaming = False
        self._next_index = 1

    def _end_stream(self) -> None:
        if self._streaming:
            self.console.print()
            self._streaming = False

    def plan(self, plan: Plan, revised: bool) -> None:
        self._end_stream()
        title = "revised plan (remaining steps)" if revised else "plan"
        self.console.print(f"[bold]{title}:[/]")
        start = self._next_index if revised else 1
        for line in format_steps(plan.steps, start):
            self.console.print(f"  {escape(line)}")
        if plan.head_tools:  # a retrofit HRM-Code chose these tools with its plan head
            chosen = ", ".join(f"{t} {p:.2f}" for t, p in plan.head_tools)
            self.console.print(f"  [dim]plan head: {escape(chosen)}[/]")

    def step_started(self, index: int, tool: str, arg: str) -> None:
        self._end_stream()
        self.console.print(f"[cyan]> step {index}: {escape(tool)} {escape(arg)}[/]")

    def text(self, piece: str) -> None:
        self._streaming = True
        self.console.print(escape(piece), end="", style="dim")

    def step_finished(self, rec: StepRecord) -> None:
        self._end_stream()
        self._next_index = rec.index + 1
        colour = "yellow" if rec.skipped else "green" if rec.ok else "red"
        self.console.print(f"[{colour}]  {escape(rec.summary())}[/]")
        if rec.tool == "run_tests" and rec.ok and rec.output:  # the counts, e.g. "2 passed, ..."
            self.console.print(f"  {escape(rec.output.splitlines()[0])}")
        if not rec.ok and rec.output:
            self.console.print(escape(rec.output[-800:]), style="dim")

    def note(self, text: str) -> None:
        self._end_stream()
        self.console.print(f"[yellow]note:[/] {escape(text)}")

    def confirm(self, question: str, detail: str = "") -> bool:
        self._end_stream()
        if detail.startswith(("--- ", "diff ")):
            self.console.print(Syntax(detail, "diff", theme="ansi_dark", word_wrap=True))
        self.console.print(f"[bold]{escape(question)}?[/] [y/N] ", end="")
        try:
            answer = sys.stdin.readline()
        except (OSError, ValueError):
            answer = ""
        if not answer:
            self.console.print("(no answer: stdin is closed; pass --yes to allow)")
        return answer.strip().lower() in ("y", "yes")
