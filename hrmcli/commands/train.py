"""`hrm train`: train HRM-Code (or a transformer baseline) on a directory of source code.

The same command runs under torchrun (`torchrun --nproc_per_node=N -m trainer ...`).
Heavy imports (torch, the trainer) happen inside the command so `hrm --help` stays fast.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console


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

    from hrmcli.runtime.model import HRMConfig
    from trainer.checkpoint import CheckpointError, load_checkpoint
    from trainer.train import (
        TrainArgs,
        TrainError,
        TrainingInterrupted,
        prepare_data,
        train,
    )

    err = Console(stderr=True)
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


def register(app: typer.Typer) -> None:
    app.command("train")(train_cmd)
