"""`hrm edit FILE "TASK"`: the model proposes SEARCH/REPLACE edits to FILE, you see the
diff, and on yes they are written through the one edit transaction
(hrmcli.agent.transaction: pending changes saved, all or nothing, committed as an hrm
edit that `hrm undo` drops)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

EDIT_HELP = (
    "Ask the model to edit FILE for TASK. The reply streams while it is written; the diff "
    "is shown and applied on confirmation (or --yes), all or nothing, then committed in git "
    "as an hrm edit (hrm undo drops it). Malformed model output writes nothing and exits 1.\n\n"
    "--model takes a .gguf path, a name from `hrm models`, or openai:URL#model for an "
    "OpenAI-compatible server on this machine; the default is the bundled HRM-Code."
)


def edit_cmd(
    file: Path = typer.Argument(..., help="The file to edit."),
    task: str = typer.Argument(..., help="What to change, in plain words."),
    model: str = typer.Option("", "--model", "-m", help="Model: .gguf path, name, or openai:URL#model."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the diff; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last (human output goes to stderr)."),
    edit_format: str = typer.Option("diff", "--edit-format", help="diff (SEARCH/REPLACE) or whole (whole files)."),
    no_constrain: bool = typer.Option(False, "--no-constrain", help="Do not constrain SEARCH text to spans of the file."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Most tokens per model reply."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature (0 = greedy)."),
) -> None:
    from rich.markup import escape

    out = Console(stderr=as_json, highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)

    def fail(msg: str, code: int = 1) -> None:
        err.print(f"[red]error:[/] {msg}")
        raise typer.Exit(code)

    if edit_format not in ("diff", "whole"):
        fail(f"--edit-format must be diff or whole, not {edit_format!r}", 2)
    if not file.is_file():
        fail(f"{escape(str(file))} is not a file; give the path of the file to edit", 2)
    try:
        _edit(file, task, model, yes, dry_run, as_json, edit_format, not no_constrain,
              max_tokens, temperature, out, err)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted;[/] nothing was written")
        raise typer.Exit(130) from None


def _edit(file: Path, task: str, model: str, yes: bool, dry_run: bool, as_json: bool,
          edit_format: str, constrain: bool, max_tokens: int, temperature: float,
          out: Console, err: Console) -> None:
    from rich.live import Live
    from rich.markup import escape
    from rich.syntax import Syntax
    from rich.text import Text

    from hrmcli.agent.backends import BackendError, load_backend
    from hrmcli.agent.backends.base import GenerationOptions
    from hrmcli.agent.coder import CoderError, EditCoder
    from hrmcli.agent.history import History, HistoryError
    from hrmcli.agent.transaction import EditTransaction
    from hrmcli.tools.git import GitError, GitRepo

    def fail(msg: str, code: int = 1) -> None:
        err.print(f"[red]error:[/] {msg}")
        raise typer.Exit(code)

    repo = GitRepo.find(file.resolve().parent)
    root = repo.root if repo else file.resolve().parent
    rel = file.resolve().relative_to(root.resolve()).as_posix()

    with err.status("loading the model..."):
        try:
            backend = load_backend(model)
        except BackendError as e:
            fail(escape(str(e)))
    try:
        history: History | None = History()
    except HistoryError as e:
        err.print(f"[yellow]warning:[/] {escape(str(e))}; this session is not logged")
        history = None
    session = history.start("edit", backend.name, root, title=task) if history else None

    shown = Text(style="dim")
    live = Live(shown, console=err, refresh_per_second=8, transient=True)

    def on_text(piece: str) -> None:
        shown.append(piece)
        if shown.plain.count("\n") > 30:
            tail = shown.plain.split("\n")[-30:]
            shown.truncate(0)
            shown.append("\n".join(tail))

    def on_attempt(attempt: int, report: str) -> None:
        err.print(f"[yellow]the edits did not apply; asking again (try {attempt}):[/]\n{escape(report)}")
        shown.truncate(0)

    coder = EditCoder(
        backend, root, edit_format=edit_format, constrain=constrain, session=session,
        options=GenerationOptions(max_tokens=max_tokens, temperature=temperature),
        on_text=on_text, on_attempt=on_attempt,
    )
    try:
        with live:
            outcome = coder.propose([rel], task)
    except (CoderError, BackendError) as e:
        if session:
            session.finish("error")
        fail(escape(str(e)))

    def finish(code: int, status: str) -> None:
        if session:
            session.finish(status)
        if as_json:
            print(json.dumps(outcome.to_json()))
        raise typer.Exit(code)

    if not outcome.well_formed:
        err.print("[red]the model's reply did not give edits that apply; nothing was written.[/]")
        for e in outcome.errors:
            err.print(f"[red]-[/] {escape(e)}")
        finish(1, "malformed")
    if not outcome.diff:
        out.print("The model's edits change nothing.")
        finish(0, "no-change")
    out.print(Syntax(outcome.diff, "diff", theme="ansi_dark", background_color="default"))
    out.print(f"[dim]{outcome.tokens} tokens in {outcome.seconds:.1f} s[/]")
    if dry_run:
        out.print("--dry-run: nothing was written.")
        finish(0, "dry-run")
    if not yes:
        if not sys.stdin.isatty():
            err.print("[yellow]not applied:[/] pass --yes to apply without a terminal to ask on")
            finish(1, "declined")
        if not typer.confirm("Apply these edits?", default=True, err=True):
            out.print("Not applied.")
            finish(0, "declined")

    tx = EditTransaction(root, f"edit {rel}: {task[:60]}", session=session)
    try:
        done = tx.apply(outcome.edits, edit_format)
    except GitError as e:
        err.print(f"[red]error:[/] {escape(str(e))}; nothing was written")
        finish(1, "error")
    if not done.ok:
        outcome.errors = done.errors
        err.print("[red]the edits no longer apply (the file changed?); nothing was written.[/]")
        for e in outcome.errors:
            err.print(f"[red]-[/] {escape(e)}")
        finish(1, "failed")
    outcome.applied, outcome.files, outcome.diff = True, done.files, done.diff
    if done.pending_commit:
        out.print(f"Saved your pending changes first in commit {done.pending_commit[:10]}.")
    if done.commit:
        out.print(f"[green]Applied[/] and committed {done.commit[:10]} (hrm undo to drop it).")
    elif done.commit_error:
        err.print("[yellow]warning:[/] the edit was written but not committed: "
                  f"{escape(done.commit_error)}")
    elif not done.in_repo:
        out.print(f"[green]Applied[/] to {', '.join(done.files)} (not a git repository: no commit).")
    finish(0, "applied")


def register(app: typer.Typer) -> None:
    app.command("edit", help=EDIT_HELP)(edit_cmd)
