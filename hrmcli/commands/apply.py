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

    from hrmcli.agent.apply import apply_edits, apply_whole_files
    from hrmcli.agent.editblocks import BlockFailure, parse_edits
    from hrmcli.agent.wholefile import MalformedWholeFile, parse_whole_files
    from hrmcli.tools.git import GitError, GitRepo

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

    repo = None if (no_commit or dry_run) else GitRepo.find(root)
    pending: list[str | None] = []

    def save_pending(paths: list[str]) -> None:
        if repo:
            pending.append(repo.save_pending_changes(paths, base=root))

    run = apply_whole_files if fmt == "whole" else apply_edits
    try:
        result = run(
            items, root, dry_run=dry_run or bool(failed), max_file_bytes=max_file_bytes,
            before_write=save_pending,
        )
    except GitError as e:
        err.print(f"[red]error:[/] {e}; nothing was written")
        raise typer.Exit(1) from None
    failed = sorted(failed + result.failed, key=lambda f: f.block)

    commit_sha = None
    if not failed and repo and result.applied:
        summary = message or "edit " + ", ".join(result.applied[:3]) + (
            f" and {len(result.applied) - 3} more" if len(result.applied) > 3 else "")
        try:
            commit_sha = repo.commit_hrm_edit(result.applied, summary, base=root)
        except GitError as e:
            err.print(f"[yellow]warning:[/] the edit was written but not committed: {e}")

    if failed:
        err.print(f"[red]{len(failed)} of {max(count, 1)} edit block(s) failed; nothing was written.[/]")
        for f in failed:
            err.print(f"[red]-[/] {escape(str(f))}", soft_wrap=True)
    else:
        if result.diff:
            out.print(Syntax(result.diff, "diff", theme="ansi_dark", background_color="default"))
        verb = "would change" if dry_run else "changed"
        out.print(f"[green]{count} block(s) applied;[/] {verb} {len(result.applied)} file(s).")
        if pending and pending[0]:
            out.print(f"Saved your pending changes first in commit {pending[0][:10]}.")
        if commit_sha:
            out.print(f"Committed {commit_sha[:10]} (hrm undo to drop it).")
    if as_json:
        print(json.dumps({
            "applied": result.applied if not failed else [],
            "failed": [{"block": f.block, "path": f.path, "reason": f.reason} for f in failed],
            "diff": result.diff if not failed else "",
            "dry_run": dry_run,
            "commit": commit_sha,
            "pending_commit": pending[0] if pending else None,
        }))
    raise typer.Exit(1 if failed else 0)


def register(app: typer.Typer) -> None:
    app.command("apply", help=APPLY_HELP)(apply_cmd)
