"""The record of one `hrm run`: kept for printing at the end and logged to history as it
happens, so a crash or Ctrl-C still leaves everything up to that point in SQLite."""

from __future__ import annotations

from dataclasses import dataclass, field

from hrmcli.agent.history import Session

OUTPUT_KEEP = 4000  # characters of tool output kept per step in the log


@dataclass
class StepRecord:
    index: int
    tool: str
    arg: str
    ok: bool
    output: str = ""
    seconds: float = 0.0
    skipped: bool = False  # the user said no, or the policy denied it
    rolled_back: bool = False
    diff: str = ""

    def summary(self) -> str:
        status = "skipped" if self.skipped else ("ok" if self.ok else "failed")
        if self.rolled_back:
            status += ", rolled back"
        return f"{self.index}. {self.tool} {self.arg}".rstrip() + f"  [{status}, {self.seconds:.1f}s]"


@dataclass
class Transcript:
    request: str
    session: Session | None = None
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lines.append(f"request: {self.request}")
        if self.session:
            self.session.message("user", self.request)

    def plan(self, lines: list[str], revised: bool, note: str = "") -> None:
        self.lines.append(("revised plan:" if revised else "plan:") + (f" ({note})" if note else ""))
        self.lines += [f"  {ln}" for ln in lines]
        if self.session:
            self.session.plan(lines)

    def generation(self, seconds: float, prompt_tokens: int, completion_tokens: int) -> None:
        if self.session:
            self.session.generation(seconds, prompt_tokens, completion_tokens)

    def step(self, rec: StepRecord) -> None:
        self.lines.append(rec.summary())
        if self.session is None:
            return
        if rec.tool in ("edit", "resolve_conflict") and rec.diff:
            files = [ln[6:] for ln in rec.diff.splitlines() if ln.startswith("+++ b/")]
            self.session.edit(files, rec.diff, applied=rec.ok, well_formed=True, seconds=rec.seconds)
        self.session.tool(rec.tool, rec.arg, rec.ok, rec.output[-OUTPUT_KEEP:], rec.seconds)

    def note(self, text: str) -> None:
        self.lines.append(f"note: {text}")

    def finish(self, outcome: str) -> None:
        self.lines.append(f"outcome: {outcome}")
        if self.session:
            self.session.event("outcome", {"outcome": outcome})
            self.session.finish(outcome)

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"
