"""`hrm models`: the models hrm can use: the bundled HRM-Code and the GGUF files in the
models directory, with size, architecture and quantisation read from their headers."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table


def models_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List usable models; the default (used when --model is not given) is marked."""
    from rich.markup import escape

    from hrmcli.agent.backends import (
        BackendError,
        bundled_model,
        installed_models,
        read_gguf_info,
        resolve_model_path,
    )
    from hrmcli.config import paths

    err = Console(stderr=True, highlight=False)
    try:
        default = resolve_model_path("").resolve()
    except BackendError:
        default = None
    bundled = bundled_model()
    rows = []
    for path in ([bundled] if bundled else []) + installed_models():
        try:
            info = read_gguf_info(path)
        except BackendError as e:
            err.print(f"[yellow]skipped:[/] {escape(str(e))}", soft_wrap=True)  # paths stay whole
            continue
        rows.append({
            "name": path.stem, "path": str(path), "size": info.size, "arch": info.arch,
            "quant": info.quant, "context": info.context,
            "bundled": path == bundled, "default": path.resolve() == default,
        })
    if as_json:
        print(json.dumps(rows))
        return
    if not rows:
        err.print(
            f"No models yet. Put .gguf files in {escape(str(paths().models_dir))}, or use "
            "--model openai:http://127.0.0.1:8080/v1#MODEL for a local server."
        )
        return
    t = Table("", "name", "size", "arch", "quant", "context", "where")
    for r in rows:
        t.add_row("*" if r["default"] else "", escape(r["name"]), _size(r["size"]), r["arch"],
                  r["quant"], str(r["context"] or "?"), "bundled" if r["bundled"] else escape(r["path"]))
    Console(highlight=False).print(t)
    Console(highlight=False).print("[dim]* the default model[/]")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def register(app: typer.Typer) -> None:
    app.command("models")(models_cmd)
