"""`hrm run "WORKFLOW"`: plan a tool sequence, run it under the permission policy, revise
until done, tests pass or the step limit; print and store the transcript."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

RUN_HELP = """Carry out a multi-step workflow in a repository.

The plan (a numbered tool sequence) is shown first. Reads are free; edits are shown as
diffs and need confirmation; shell, package-manager and git-write commands ask unless
allow-listed in the config or --yes is given. Each step fully applies or is rolled back
(also on Ctrl-C). Stops when the planner says done, when tests pass after an edit, or at
--max-steps. --planner/--editor split planning and editing across two models.
"""


def run_cmd(
    workflow: str = typer.Argument(..., help="What to do, in plain words."),
    repo: Path = typer.Option(Path("."), "--repo", help="Repository to work in."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Apply edits and run asking commands without asking."),
    max_steps: int = typer.Option(12, "--max-steps", min=1, help="Most tool steps to run."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON result last (human output goes to stderr)."),
    model: str = typer.Option("", "--model", "-m", help="Model for both roles: path, name from `hrm models`, or openai:URL#model."),
    planner: str = typer.Option("", "--planner", help="Model that plans (default: --model)."),
    editor: str = typer.Option("", "--editor", help="Model that writes edits (default: --model)."),
) -> None:
    from rich.markup import escape

    from hrmcli.agent.backends import BackendError, load_backend
    from hrmcli.agent.history import History, HistoryError
    from hrmcli.agent.loop import AgentLoop
    from hrmcli.agent.transcript import Transcript
    from hrmcli.commands._common import fail, require_repo_dir
    from hrmcli.commands._run_ui import ConsoleUI
    from hrmcli.tools.errors import ToolError
    from hrmcli.tools.permissions import Policy

    out = Console(stderr=as_json, highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)

    require_repo_dir(err, repo)
    try:
        policy = Policy.from_config(assume_yes=yes)
    except ValueError as e:
        fail(err, str(e))
    try:
        plan_spec, edit_spec = planner or model, editor or model
        plan_backend = load_backend(plan_spec)
        edit_backend = plan_backend if edit_spec == plan_spec else load_backend(edit_spec)
    except BackendError as e:
        fail(err, str(e))
    try:
        history = History()
    except HistoryError as e:
        fail(err, str(e))
    names = plan_backend.name if plan_backend is edit_backend else f"{plan_backend.name} + {edit_backend.name}"
    session = history.start("run", names, repo.resolve(), workflow)
    transcript = Transcript(workflow, session)
    loop = AgentLoop(repo, plan_backend, edit_backend, policy, ConsoleUI(out), max_steps=max_steps,
                     transcript=transcript)
    try:
        result = loop.run(workflow)
    except KeyboardInterrupt:
        transcript.finish("interrupted")
        err.print("[yellow]interrupted:[/] the step in progress was rolled back; "
                  "the repository is as it was before it")
        raise typer.Exit(130) from None
    except (BackendError, ToolError) as e:
        transcript.finish(f"error: {e}")
        fail(err, str(e))
    finally:
        history.close()
    out.rule("transcript")
    out.print(escape(transcript.render()), end="")
    out.print(f"[dim]session {session.id} stored; `hrm history show {session.id}`[/]")
    if as_json:
        print(json.dumps(result.to_json()))
    raise typer.Exit(0 if result.done else 1)


def register(app: typer.Typer) -> None:
    app.command("run", help=RUN_HELP)(run_cmd)
