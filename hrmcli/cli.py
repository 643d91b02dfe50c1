"""The `hrm` command line. Each command lives in hrmcli/commands/<name>.py and registers itself.

Command modules must import cheaply (no torch at import time) so that `hrm --help` is fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="hrm",
    help="hrm: a local-first coding agent driven by HRM-Code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks comparable with public leaderboards.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

# (module, which app it registers on)
_COMMANDS = [
    ("apply", "app"),
    ("undo", "app"),
    ("config", "app"),
    ("edit", "app"),
    ("doc", "app"),
    ("run", "app"),
    ("chat", "app"),
    ("history", "app"),
    ("models", "app"),
    ("train", "app"),
    ("eval", "app"),
    ("convert", "app"),
    ("permissions", "app"),
    ("lsp", "app"),
    ("bench_speed", "bench"),
    ("bench_polyglot", "bench"),
    ("bench_livecodebench", "bench"),
    ("bench_edits", "bench"),
    ("bench_report", "bench"),
]


def _register() -> None:
    for name, target in _COMMANDS:
        try:
            mod = importlib.import_module(f"hrmcli.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"hrmcli.commands.{name}":
                continue  # command not built yet
            raise
        mod.register(app if target == "app" else bench_app)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
