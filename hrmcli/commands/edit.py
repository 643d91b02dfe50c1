"""`hrm edit FILE... "TASK"`: the model proposes SEARCH/REPLACE edits to the files, you see
the diff, and on yes they are written through the one edit transaction
(hrmcli.agent.transaction: pending changes saved, all or nothing across every file,
committed as one hrm edit that `hrm undo` drops). `--auto-context` adds the files the repo
map ranks highest (hrmcli.agent.autocontext) and shows them before the model runs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from hrmcli.agent.autocontext import DEFAULT_CONTEXT_TOKENS, AutoContext
from hrmcli.commands._common import ask_to_apply, fail, report_written

EDIT_HELP = (
    "Ask the model to edit FILE... for TASK (the last argument is the task, every one "
    "before it a file of the same repository). The reply streams while it is written; the "
    "diff is shown and applied on confirmation (or --yes), all or nothing across the files, "
    "then committed in git as one hrm edit (hrm undo drops it). Malformed model output "
    "writes nothing and exits 1.\n\n"
    "--auto-context adds the files the repo map ranks highest for the files and the task "
    "(their callers, what they use) within --context-tokens, and lists them first.\n\n"
    "--model takes a .gguf path, a name from `hrm models`, or openai:URL#model for an "
    "OpenAI-compatible server on this machine; the default is the bundled HRM-Code."
)


def edit_cmd(
    files: list[Path] = typer.Argument(..., metavar="FILE", show_default=False,
                                       help="The files to edit, all in one repository."),
    task: str = typer.Argument(..., metavar="TASK", help="What to change, in plain words."),
    model: str = typer.Option("", "--model", "-m", help="Model: .gguf path, name, or openai:URL#model."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the diff; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last (human output goes to stderr)."),
    auto_context: bool = typer.Option(False, "--auto-context",
                                      help="Add the files the repo map ranks highest for the task."),
    context_tokens: int = typer.Option(DEFAULT_CONTEXT_TOKENS, "--context-tokens",
                                       help="Token budget for the files --auto-context adds."),
    edit_format: str = typer.Option("diff", "--edit-format", help="diff (SEARCH/REPLACE) or whole (whole files)."),
    no_constrain: bool = typer.Option(False, "--no-constrain", help="Do not constrain SEARCH text to spans of the file."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Most tokens per model reply."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature (0 = greedy)."),
) -> None:
    out = Console(stderr=as_json, highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)

    if edit_format not in ("diff", "whole"):
        fail(err, f"--edit-format must be diff or whole, not {edit_format!r}", 2)
    if context_tokens < 1:
        fail(err, f"--context-tokens must be at least 1, not {context_tokens}", 2)
    root, rels = _files_in_one_root(files, err)
    try:
        _edit(root, rels, task, model, yes, dry_run, as_json,
              context_tokens if auto_context else 0, edit_format, not no_constrain,
              max_tokens, temperature, out, err)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted;[/] nothing was written")
        raise typer.Exit(130) from None


def _files_in_one_root(files: list[Path], err: Console) -> tuple[Path, list[str]]:
    """The root every file must lie in (the git repository of the first file, else its
    folder) and the files relative to it, in the order given, each once. Anything else
    exits 2 with the reason: one transaction and one commit cover one repository."""
    from hrmcli.tools.git import GitRepo
    from hrmcli.tools.paths import Refused, resolve_in_root

    for f in files:
        if not f.is_file():
            fail(err, f"{f} is not a file; give the path of each file to edit", 2)
    first = files[0].resolve()
    repo = GitRepo.find(first.parent)
    root = (repo.root if repo else first.parent).resolve()
    where = f"the repository {root}" if repo else f"{root} (the folder of {files[0]})"
    rels: list[str] = []
    for f in files:
        real = f.resolve()
        if not real.is_relative_to(root):
            fail(err, f"{f} is outside {where}; hrm edit changes the files of one "
                      "repository at a time: run it once per repository, or copy the file in",
                 2)
        try:
            rel = resolve_in_root(root, real)[0]
        except Refused as e:
            fail(err, f"{f}: {e}", 2)
        if rel not in rels:
            rels.append(rel)
    return root, rels


def _show_context(ctx: AutoContext, given: list[str], out: Console) -> None:
    """What --auto-context added, before the model runs, so the user knows what it sees."""
    from rich.markup import escape

    if not ctx.added and not ctx.skipped:
        names = escape(", ".join(given))
        out.print(f"auto-context: the repo map found no files related to {names}")
        return
    out.print(f"auto-context: added {len(ctx.added)} file(s), {ctx.tokens} of "
              f"{ctx.budget} tokens (--context-tokens):")
    for f in ctx.added:
        out.print(f"  + {escape(f.path)}  {f.tokens} tokens  [dim](rank {f.score:.3f})[/]")
    for f in ctx.skipped:
        out.print(f"  [dim]- {escape(f.path)}  {f.tokens} tokens  (rank {f.score:.3f}): "
                  "over the budget, not added[/]")


def _edit(root: Path, rels: list[str], task: str, model: str, yes: bool, dry_run: bool,
          as_json: bool, context_tokens: int, edit_format: str, constrain: bool,
          max_tokens: int, temperature: float, out: Console, err: Console) -> None:
    """The edit itself; context_tokens > 0 means --auto-context with that budget."""
    from rich.live import Live
    from rich.markup import escape
    from rich.syntax import Syntax
    from rich.text import Text

    from hrmcli.agent.backends import BackendError, load_backend
    from hrmcli.agent.backends.base import GenerationOptions
    from hrmcli.agent.coder import CoderError, EditCoder
    from hrmcli.agent.history import History, HistoryError
    from hrmcli.agent.transaction import EditTransaction, default_message
    from hrmcli.tools.git import GitError

    given = list(rels)
    ctx: AutoContext | None = None
    if context_tokens:
        from hrmcli.agent.autocontext import pick_context

        with err.status("ranking the repository's files..."):
            ctx = pick_context(root, given, task, context_tokens)
        _show_context(ctx, given, out)
        rels = given + [f.path for f in ctx.added]

    with err.status("loading the model..."):
        try:
            backend = load_backend(model)
        except BackendError as e:
            fail(err, str(e))
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
            outcome = coder.propose(rels, task)
    except (CoderError, BackendError) as e:
        if session:
            session.finish("error")
        fail(err, str(e))

    def finish(code: int, status: str) -> None:
        if session:
            session.finish(status)
        if as_json:
            result = outcome.to_json()
            if ctx is not None:
                result["context"] = ctx.to_json()
            print(json.dumps(result))
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
    for note in outcome.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    out.print(f"[dim]{outcome.tokens} tokens in {outcome.seconds:.1f} s[/]")
    if dry_run:
        out.print("--dry-run: nothing was written.")
        finish(0, "dry-run")
    declined = ask_to_apply(yes, "Apply these edits?", out, err)
    if declined:
        finish(*declined)

    tx = EditTransaction(root, f"{default_message(outcome.files)}: {task[:60]}", session=session)
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
    report_written(done, out, err, "Applied", "the edit")
    finish(0, "applied")


def register(app: typer.Typer) -> None:
    app.command("edit", help=EDIT_HELP)(edit_cmd)
