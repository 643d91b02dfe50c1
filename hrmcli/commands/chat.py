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

    from hrmcli.agent.backends import BackendError, load_backend
    from hrmcli.agent.history import History, HistoryError
    from hrmcli.commands._common import fail, require_repo_dir

    err = Console(stderr=True, highlight=False)

    require_repo_dir(err, repo)
    try:
        history = History()
        if resume is not None:
            history.resume(resume)
    except HistoryError as e:
        fail(err, str(e))
    try:
        backend = load_backend(model)
    except BackendError as e:
        fail(err, str(e))
    from hrmcli.tui.app import ChatApp

    try:
        ChatApp(repo, backend, history=history, resume=resume).run()
    finally:
        history.close()


def register(app: typer.Typer) -> None:
    app.command("chat", help=CHAT_HELP)(chat_cmd)
