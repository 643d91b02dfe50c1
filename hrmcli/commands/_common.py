"""What several commands do the same way when the user's input is unusable."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape


def fail(err: Console, msg: str, code: int = 1) -> NoReturn:
    """One red line instead of a traceback; `msg` is shown literally (escaped), so paths and
    exception texts with brackets survive."""
    err.print(f"[red]error:[/] {escape(msg)}")
    raise typer.Exit(code)


def load_backend_or_fail(err: Console, spec: str, code: int = 2):
    """The model named by --model, or one red line saying what to do (never a traceback)."""
    from hrmcli.agent.backends import BackendError, load_backend

    try:
        return load_backend(spec)
    except (BackendError, ValueError, OSError) as e:
        fail(err, f"cannot load model {spec!r}: {e}", code)


def require_repo_dir(err: Console, repo: Path) -> None:
    if not repo.is_dir():
        fail(err, f"--repo {repo} is not a directory; pass the repository to work in", 2)


def ask_to_apply(yes: bool, question: str, out: Console, err: Console) -> tuple[int, str] | None:
    """None when the edits may be written (--yes, or the user agreed); else the exit code
    and status to finish with (no terminal to ask on: 1; the user said no: 0)."""
    import sys

    if yes:
        return None
    if not sys.stdin.isatty():
        err.print("[yellow]not applied:[/] pass --yes to apply without a terminal to ask on")
        return 1, "declined"
    if not typer.confirm(question, default=True, err=True):
        out.print("Not applied.")
        return 0, "declined"
    return None


def report_written(done, out: Console, err: Console, verb: str, what: str) -> None:
    """What an EditTransaction result means for the user: the commit, or why there is none.
    `verb` is the success word (Applied, Documented); `what` names the change in warnings."""
    if done.pending_commit:
        out.print(f"Saved your pending changes first in commit {done.pending_commit[:10]}.")
    if done.commit:
        out.print(f"[green]{verb}[/] and committed {done.commit[:10]} (hrm undo to drop it).")
    elif done.commit_error:
        err.print(f"[yellow]warning:[/] {what} was written but not committed: "
                  f"{escape(done.commit_error)}")
    elif not done.in_repo:
        out.print(f"[green]{verb}[/] {escape(', '.join(done.files))} (not a git repository: no commit).")
