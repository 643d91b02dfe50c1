"""`hrm permissions check CMD`: what the permission policy decides for a command, and why.

Users write `[permissions]` rules in their config and need to see what the agent will do with
a command before it happens; scripts need a stable answer, hence --json and exit codes.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

permissions_app = typer.Typer(help="Inspect the shell-command permission policy.",
                              no_args_is_help=True)

EXIT_CODES = {"allow": 0, "ask": 1, "deny": 2}
EXIT_ERROR = 3

CHECK_HELP = """Show the decision (allow, ask or deny) and the reason for a shell command line.

The command is judged exactly as the agent judges it: parsed into every simple command it runs (pipes, lists, subshells, $(...), backticks, wrappers such as bash -c, env, nice, timeout, xargs and find -exec), with the files it writes and reads resolved against the repository (--repo). Your \\[permissions] config applies to every inner command.

Quote the command as one argument: hrm permissions check "bash -lc 'sudo ls'"

Exit status: 0 allow, 1 ask, 2 deny, 3 when the config or --repo cannot be used.
"""


def check_cmd(
    command: list[str] = typer.Argument(..., metavar="CMD",
                                        help="The shell command line (quote it as one word)."),
    yes: bool = typer.Option(False, "--yes", "-y",
                             help="Decide as under `hrm run --yes`: ask becomes allow, except "
                                  "for what cannot be judged, which is denied."),
    as_json: bool = typer.Option(False, "--json",
                                 help='Print one JSON object: {"decision", "reason", '
                                      '"command"}.'),
    repo: Path = typer.Option(Path("."), "--repo",
                              help="Repository root that writes must stay inside."),
) -> None:
    from hrmcli.tools.permissions import Policy

    text = " ".join(command)
    if not repo.is_dir():
        typer.echo(f"error: --repo {repo} is not a directory", err=True)
        raise typer.Exit(EXIT_ERROR)
    try:
        policy = Policy.from_config(assume_yes=yes, root=repo.resolve())
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(EXIT_ERROR) from e
    verdict = policy.check(text)
    if as_json:
        typer.echo(json.dumps(verdict.to_json()))
    else:
        typer.echo(f"{verdict.decision}: {verdict.reason}")
    raise typer.Exit(EXIT_CODES[verdict.decision])


def register(app: typer.Typer) -> None:
    permissions_app.command("check", help=CHECK_HELP)(check_cmd)
    app.add_typer(permissions_app, name="permissions")
