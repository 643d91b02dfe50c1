"""`hrm undo`: drop hrm's last edit commit, only when that cannot lose anything of yours."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

UNDO_HELP = (
    "Undo hrm's last edit by resetting to the commit before it.\n\n"
    "Only when HEAD is an hrm edit commit (trailer 'Hrm-Edit: true') and no tracked file has "
    "uncommitted changes; otherwise it explains why and changes nothing. A 'save your pending "
    "changes' commit made before the edit is kept, so your own work stays."
)


def undo_cmd(
    root: Path = typer.Option(Path("."), "--root", help="Directory inside the git repository."),
) -> None:
    from rich.markup import escape

    from hrmcli.tools.git import GitRepo

    console = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if not root.is_dir():
        err.print(f"[red]error:[/] --root {root} is not a directory")
        raise typer.Exit(2)
    repo = GitRepo.find(root)
    if repo is None:
        err.print(
            f"[red]cannot undo:[/] {escape(str(root))} is not in a git repository; "
            "hrm undo needs the commit hrm apply makes"
        )
        raise typer.Exit(1)
    result = repo.undo()
    if not result.ok:
        err.print(f"[red]cannot undo:[/] {escape(result.message)}")
        raise typer.Exit(1)
    console.print(f"[green]{escape(result.message)}[/]")


def register(app: typer.Typer) -> None:
    app.command("undo", help=UNDO_HELP)(undo_cmd)
