"""`hrm apply`: apply SEARCH/REPLACE (or whole-file) edits from a file or stdin."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

APPLY_HELP = (
    "Apply edits a model wrote (SEARCH/REPLACE blocks, or whole files with --format whole).\n\n"
    "All or nothing: if any block fails to match or names a refused file, nothing is written "
    "and each failure is listed with the reason. Exit codes: 0 all applied, 1 a block failed "
    "(nothing written), 2 usage error.\n\n"
    "In a git repository the edit is committed as 'hrm: ...' with an 'Hrm-Edit: true' trailer "
    "(hrm undo drops it again). Touched files that hold uncommitted changes of yours are "
    "first committed on their own ('hrm: save your pending changes to ... before edit'), so "
    "your work is never mixed into or lost with hrm's edit. --no-commit skips both commits."
)
# The steps themselves (save pending, apply all or nothing, commit) are the one edit
# transaction that hrm edit, hrm run and hrm chat also use: hrmcli.agent.transaction.


def _read_edits(source: str) -> str:
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        p = Path(source)
        if not p.is_file():
            raise _Usage(f"edits file {source} not found; pass a file path or - for stdin")
        data = p.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Usage(f"edits in {source} are not UTF-8 text") from None


class _Usage(Exception):
    pass


def apply_cmd(
    edits: str = typer.Argument(..., help="File with the edits, or - to read stdin."),
    root: Path = typer.Option(Path("."), "--root", help="Project root the paths are relative to."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the diff; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON result on stdout (human output goes to stderr)."),
    no_commit: bool = typer.Option(False, "--no-commit", help="Do not make git commits."),
    fmt: str = typer.Option("diff", "--format", help="diff (SEARCH/REPLACE blocks) or whole (whole files)."),
    message: str = typer.Option("", "--message", "-m", help="Commit message for the edit commit."),
    max_file_bytes: int = typer.Option(1_000_000, "--max-file-bytes", help="Refuse to edit files larger than this."),
) -> None:
    from rich.markup import escape
    from rich.syntax import Syntax

    from hrmcli.agent.editblocks import BlockFailure, parse_edits
    from hrmcli.agent.transaction import EditTransaction
    from hrmcli.agent.wholefile import MalformedWholeFile, parse_whole_files
    from hrmcli.tools.git import GitError

    out = Console(stderr=as_json, highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)

    def usage(msg: str) -> None:
        err.print(f"[red]error:[/] {msg}")
        raise typer.Exit(2)

    if fmt not in ("diff", "whole"):
        usage(f"--format must be diff or whole, not {fmt!r}")
    if not root.is_dir():
        usage(f"--root {root} is not a directory")
    try:
        text = _read_edits(edits)
    except _Usage as e:
        usage(str(e))

    failed: list[BlockFailure] = []
    if fmt == "whole":
        try:
            items = parse_whole_files(text)
        except MalformedWholeFile as e:
            items, failed = [], [BlockFailure(0, "", str(e))]
        count = len(items)
    else:
        parsed = parse_edits(text)
        items, failed = parsed.blocks, list(parsed.errors)
        count = len(items) + len(failed)
    if not count and not failed:
        failed = [BlockFailure(0, "", "no edit blocks found in the input")]

    # Parse failures still dry-run the parsed blocks, so every failure is listed at once.
    tx = EditTransaction(root, message, commit=not no_commit, dry_run=dry_run or bool(failed),
                         max_file_bytes=max_file_bytes)
    try:
        result = tx.apply(items, fmt)
    except GitError as e:
        err.print(f"[red]error:[/] {e}; nothing was written")
        raise typer.Exit(1) from None
    failed = sorted(failed + result.failed, key=lambda f: f.block)
    if result.commit_error:
        err.print(f"[yellow]warning:[/] the edit was written but not committed: {result.commit_error}")

    if failed:
        err.print(f"[red]{len(failed)} of {max(count, 1)} edit block(s) failed; nothing was written.[/]")
        for f in failed:
            err.print(f"[red]-[/] {escape(str(f))}", soft_wrap=True)
    else:
        if result.diff:
            out.print(Syntax(result.diff, "diff", theme="ansi_dark", background_color="default"))
        verb = "would change" if dry_run else "changed"
        out.print(f"[green]{count} block(s) applied;[/] {verb} {len(result.files)} file(s).")
        if result.pending_commit:
            out.print(f"Saved your pending changes first in commit {result.pending_commit[:10]}.")
        if result.commit:
            out.print(f"Committed {result.commit[:10]} (hrm undo to drop it).")
    if as_json:
        print(json.dumps({
            "applied": result.files if not failed else [],
            "failed": [{"block": f.block, "path": f.path, "reason": f.reason} for f in failed],
            "diff": result.diff if not failed else "",
            "dry_run": dry_run,
            "commit": result.commit,
            "pending_commit": result.pending_commit,
        }))
    raise typer.Exit(1 if failed else 0)


def register(app: typer.Typer) -> None:
    app.command("apply", help=APPLY_HELP)(apply_cmd)
