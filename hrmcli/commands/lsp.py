"""`hrm lsp`: a Language Server on stdin/stdout for editors (hrmcli/lsp/). Its code
actions propose edits with `hrm edit`'s path and hand them to the editor to apply."""

from __future__ import annotations

import typer

LSP_HELP = (
    "Serve the Language Server Protocol on stdin/stdout for an editor. Code actions: "
    "'hrm: edit selection…', 'hrm: document this function' and 'hrm: fix this diagnostic'. "
    "Edits come back as workspace/applyEdit (the editor applies and undoes them); nothing is "
    "written or committed by hrm. The README shows the Neovim and VS Code setup.\n\n"
    "--model takes a .gguf path, a name from `hrm models`, or openai:URL#model; the default "
    "is the bundled HRM-Code. It is loaded on the first action."
)


def lsp_cmd(
    model: str = typer.Option("", "--model", "-m", help="Model: .gguf path, name, or openai:URL#model."),
    edit_format: str = typer.Option("diff", "--edit-format", help="diff (SEARCH/REPLACE) or whole (whole files)."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Most tokens per model reply."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature (0 = greedy)."),
) -> None:
    import logging
    import sys

    from rich.console import Console

    from hrmcli.commands._common import fail

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if edit_format not in ("diff", "whole"):
        fail(err, f"--edit-format must be diff or whole, not {edit_format!r}", 2)
    try:
        from hrmcli.agent.backends.base import GenerationOptions
        from hrmcli.lsp.server import build_server
    except ModuleNotFoundError as e:
        fail(err, f"hrm lsp needs {e.name}; install it with `pip install pygls`", 2)

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="hrm lsp: %(levelname)s %(name)s: %(message)s")
    server = build_server(model, edit_format,
                          GenerationOptions(max_tokens=max_tokens, temperature=temperature))
    # stdout carries the protocol; anything else printed there would corrupt it.
    out = sys.stdout.buffer
    sys.stdout = sys.stderr
    server.start_io(sys.stdin.buffer, out)


def register(app: typer.Typer) -> None:
    app.command("lsp", help=LSP_HELP)(lsp_cmd)
