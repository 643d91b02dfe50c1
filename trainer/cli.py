"""The training command's one definition: `python -m trainer`, `torchrun -m trainer` and
`hrm train` (which hands its arguments here) share these options.

It lives in the trainer, not in hrmcli/commands, so that the inference core never imports
training code and the trainer never imports the CLI; heavy imports (torch, the training
loop) happen inside the command so that `--help` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from rich.markup import escape

# Import names of the `train` extra in pyproject.toml: only the training loop needs them.
TRAIN_EXTRA = ("tensorboard",)
INSTALL_TRAIN = ("install it with `pip install -e '.[train]'` in the hrmcli checkout "
                 "(or `pip install 'hrmcli[train]'`)")


def missing_extras() -> list[str]:
    """The `train` extra's modules that do not import, checked before any work starts rather
    than at the first log write. Imported, not just looked up: a broken install counts as
    missing too."""
    missing = []
    for name in TRAIN_EXTRA:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def train_cmd(
    corpus: str = typer.Option("", "--corpus", help="Directory of source code to train on."),
    preset: str = typer.Option("tiny", "--preset", help="Model size: tiny, small or base."),
    steps: int = typer.Option(1000, "--steps", help="Total optimizer steps."),
    out: str = typer.Option("runs/hrm", "--out", help="Run directory (checkpoint, logs, data)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the checkpoint in --out."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary last."),
    arch: str = typer.Option("hrm", "--arch",
                             help="hrm, transformer-params or transformer-flops (baselines)."),
    qat: str = typer.Option("", "--qat", help="Quantisation-aware training: q4_0 or q8_0."),
    batch_size: int = typer.Option(0, "--batch-size", help="Global batch (0: preset default)."),
    seq_len: int = typer.Option(0, "--seq-len", help="Tokens per row (0: preset default)."),
    lr: float = typer.Option(0.0, "--lr", help="Peak learning rate (0: preset default)."),
    grad_window: str = typer.Option("auto", "--grad-window",
                                    help="auto (2 -> 5 calls), K calls, or full."),
    device: str = typer.Option("auto", "--device", help="cpu, cuda or auto."),
    seed: int = typer.Option(0, "--seed", help="Seed for init and data order."),
    data_dir: str = typer.Option("", "--data-dir", help="Prepared data (default <out>/data)."),
    save_every: int = typer.Option(200, "--save-every", help="Checkpoint every N steps."),
    fsdp: str = typer.Option("auto", "--fsdp",
                             help="FSDP2 sharding under torchrun: auto (base on GPUs), on, off."),
    stop_after: int = typer.Option(0, "--stop-after", hidden=True,
                                   help="Checkpoint and stop after N steps (tests)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    init_from: str = typer.Option("", "--init-from",
                                  help="Fine-tune: start from this checkpoint's weights."),
    mix: str = typer.Option("", "--mix", help="Fixed row mixture, e.g. edit=0.7,lm=0.2,plan=0.1 "
                            "(default: the curriculum)."),
    override: list[str] = typer.Option([], "--override",
                                       help="Model config field, e.g. d_model=128 (repeatable)."),
) -> None:
    """Train HRM-Code on the source files under --corpus and checkpoint into --out."""
    import json
    import os

    err = Console(stderr=True)
    missing = missing_extras()
    if missing:
        err.print("[red]error:[/] " + escape(f"training needs the `train` extra "
                                             f"({', '.join(missing)} missing): {INSTALL_TRAIN}"))
        raise typer.Exit(2)

    from hrmcli.runtime.model import HRMConfig

    from .checkpoint import CheckpointError, load_checkpoint
    from .train import TrainArgs, TrainError, TrainingInterrupted, prepare_data, train

    main = int(os.environ.get("RANK", "0")) == 0
    overrides: dict[str, int] = {}
    for item in override:
        key, _, value = item.partition("=")
        if not value.strip().isdigit():
            err.print(f"[red]error:[/] --override wants FIELD=INTEGER (e.g. d_model=128), "
                      f"not {item!r}")
            raise typer.Exit(2)
        overrides[key.strip()] = int(value)
    args = TrainArgs(corpus=corpus, preset=preset, out=out, steps=steps, arch=arch,
                     qat=qat or None, batch_size=batch_size, seq_len=seq_len, lr=lr,
                     grad_window=grad_window, device=device, seed=seed, resume=resume,
                     data_dir=data_dir, save_every=save_every, stop_after=stop_after, fsdp=fsdp,
                     progress=progress and sys.stderr.isatty(), model_overrides=overrides,
                     init_from=init_from, mix=mix)
    try:
        r = args.resolved()
        if resume:
            saved = load_checkpoint(r.out)["train_args"]
            r = TrainArgs(**saved)
        try:  # the tokenizer is trained to the model's vocabulary size
            vocab = HRMConfig.preset(r.preset, **r.model_overrides).vocab_size
        except TypeError as e:
            raise TrainError(f"bad --override: {e}") from None
        data = prepare_data(r.corpus, r.data_dir, vocab, r.seed,
                            say=(lambda m: err.print(f"[dim]{m}[/]")) if main else None)
        result = train(args, data)
    except (TrainError, CheckpointError, FileNotFoundError) as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    except TrainingInterrupted as e:
        err.print(f"[yellow]{e}[/]; continue with --resume")
        raise typer.Exit(130) from None
    if not main:
        return
    if as_json:
        print(json.dumps(result, sort_keys=True))
        return
    held = result.get("heldout_loss")
    err.print(f"[green]trained[/] {result['step']} steps, loss {result['initial_loss']:.3f} -> "
              f"{result['final_loss']:.3f}" + (f", held-out {held:.3f}" if held else "") +
              f", {result['tokens_per_s']:,.0f} tok/s; checkpoint {result['checkpoint']}")


def main(args: list[str] | None = None, prog_name: str = "python -m trainer") -> None:
    """Run the command on `args` (default: sys.argv) and exit with its status."""
    typer.main.get_command(_app()).main(args=args, prog_name=prog_name)


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(train_cmd)
    return app
