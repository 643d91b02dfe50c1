"""`hrm train`: train HRM-Code (or a transformer baseline) on a directory of source code.

The command is defined once, in the trainer (hrmcli.trainer.cli, `trainer/` in a checkout),
and `hrm train` hands it every argument (`--help` included): the inference core imports
training code only here, when the command runs, and the trainer never imports the CLI. The
same command runs under torchrun (`torchrun --nproc_per_node=N -m trainer ...`).
"""

from __future__ import annotations

import typer


def train(ctx: typer.Context) -> None:
    """Train HRM-Code on the source files under --corpus and checkpoint into --out (needs the
    `train` extra; `hrm train --help` lists the options)."""
    from hrmcli.trainer.cli import main

    main(list(ctx.args), prog_name="hrm train")


def register(app: typer.Typer) -> None:
    app.command("train", add_help_option=False,
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(train)
