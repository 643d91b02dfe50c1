"""`hrm chat`: the Textual TUI over a repository."""

from __future__ import annotations

from pathlib import Path

import typer

CHAT_HELP = """Chat with the model about files in context; review its edits as diffs.

Type a request and press Enter; edits are shown as a diff to apply (a) or reject (r).
Slash commands: /add /drop /diff /undo /run /test /model /help. Sessions are stored in the
history; `--resume ID` (see `hrm history list`) continues one.
"""


def chat_cmd(
    repo: Path = typer.Option(Path("."), "--repo", help="Repository to work in."),
    model: str = typer.Option("", "--model", "-m", help="Model: path, name from `hrm models`, or openai:URL#model."),
    resume: int = typer.Option(None, "--resume", help="Continue the chat session with this id."),
) -> None:
    from rich.console import Console
    from rich.markup import escape

    from hrmcli.agent.backends import BackendError, load_backend
    from hrmcli.agent.history import History, HistoryError

    err = Console(stderr=True, highlight=False)

    def fail(msg: str, code: int = 1) -> None:
        err.print(f"[red]error:[/] {escape(msg)}")
        raise typer.Exit(code)

    if not repo.is_dir():
        fail(f"--repo {repo} is not a directory; pass the repository to work in", 2)
    try:
        history = History()
        if resume is not None:
            history.resume(resume)
    except HistoryError as e:
        fail(str(e))
    try:
        backend = load_backend(model)
    except BackendError as e:
        fail(str(e))
    from hrmcli.tui.app import ChatApp

    try:
        ChatApp(repo, backend, history=history, resume=resume).run()
    finally:
        history.close()


def register(app: typer.Typer) -> None:
    app.command("chat", help=CHAT_HELP)(chat_cmd)
