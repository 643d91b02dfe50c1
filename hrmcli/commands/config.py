"""`hrm config path`: where hrm keeps things."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from hrmcli.config import bundled_weights_dir, paths

config_app = typer.Typer(help="Show hrm's configuration.", no_args_is_help=True)


@config_app.command("path")
def path_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show where config (TOML), models, cache and data live."""
    p = paths()
    rows = {
        "config": str(p.config_file),
        "models": str(p.models_dir),
        "cache": str(p.cache_dir),
        "data": str(p.data_dir),
        "history": str(p.history_db),
        "bundled_weights": str(bundled_weights_dir()),
    }
    if as_json:
        print(json.dumps(rows))
        return
    t = Table(show_header=False, box=None)
    for k, v in rows.items():
        t.add_row(k, v)
    Console().print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
