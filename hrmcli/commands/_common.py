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
