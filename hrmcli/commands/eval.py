"""`hrm eval CHECKPOINT`: held-out metrics of a trained HRM-Code checkpoint."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table


def eval_cmd(
    checkpoint: str = typer.Argument(..., help="checkpoint.pt or the run directory."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    data: str = typer.Option("", "--data", help="Prepared data dir (default: the run's)."),
    max_tasks: int = typer.Option(50, "--max-tasks", help="Held-out tasks per kind to decode."),
    max_docs: int = typer.Option(200, "--max-docs",
                                 help="Held-out documents scored for bits/byte (shared by languages)."),
    max_new: int = typer.Option(256, "--max-new", help="Tokens to generate per task."),
    raw: bool = typer.Option(False, "--raw", help="Use the live weights instead of the EMA."),
) -> None:
    """Held-out loss and bits/byte per language, edit apply and exact-match rates (each
    task edited by hrm edit's own coder: its prompts, constrained decoding and repairs),
    tool-plan exact match and halt-head accuracy."""
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from hrmcli.trainer.batching import SpecialIds
    from hrmcli.trainer.checkpoint import CheckpointError, load_model
    from hrmcli.trainer.evaluate import (
        bits_per_byte,
        edit_metrics,
        halt_metrics,
        heldout_lm_loss,
        plan_metrics,
    )
    from hrmcli.trainer.train import TrainError, load_prepared

    err = Console(stderr=True)
    try:
        model, ck = load_model(checkpoint, use_ema=not raw)
        data_dir = data or ck["train_args"]["data_dir"]
        td = load_prepared(data_dir)
    except (CheckpointError, TrainError, ValueError) as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None
    if td.tokenizer.vocab_size != model.cfg.vocab_size:
        err.print(f"[red]error:[/] the tokenizer in {data_dir} has {td.tokenizer.vocab_size} "
                  f"tokens but the model {model.cfg.vocab_size}; pass the run's --data")
        raise typer.Exit(2)
    sp = SpecialIds.from_tokenizer(td.tokenizer)
    seq_len = int(ck["train_args"]["seq_len"])
    held = td.heldout_examples
    edits = [e for e in held if e["kind"] == "edit"][:max_tasks]
    plans = [e for e in held if e["kind"] == "plan"][:max_tasks]
    result: dict = {"checkpoint": str(checkpoint), "step": ck["step"],
                    "weights": "live" if raw else "ema", "provenance": ck["provenance"]}
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True) as p:
        if td.lm_heldout is not None:
            p.add_task("held-out code", total=None)
            result["heldout_loss"] = heldout_lm_loss(model, td.lm_heldout, seq_len, 8, 8)
            result["languages"] = bits_per_byte(model, td.tokenizer, td.lm_heldout, seq_len,
                                                max_docs=max_docs)
        t = p.add_task("edit tasks", total=len(edits))
        result["edit"] = edit_metrics(model, td.tokenizer, edits, sp, max_new,
                                      tick=lambda: p.advance(t))
        t = p.add_task("plan tasks", total=len(plans))
        result["plan"] = plan_metrics(model, td.tokenizer, plans, sp, max_new,
                                      tick=lambda: p.advance(t))
        result["halt"] = halt_metrics(model, td.tokenizer, held, sp)
    if as_json:
        print(json.dumps(result, sort_keys=True))
        return
    _show(Console(), result)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _show(con: Console, r: dict) -> None:
    con.print(f"[bold]{r['checkpoint']}[/] step {r['step']} ({r['weights']} weights)")
    if "heldout_loss" in r:
        con.print(f"held-out loss {_fmt(r['heldout_loss'])}")
        t = Table("language", "loss", "bits/byte", "tokens")
        for lang, m in r["languages"].items():
            t.add_row(lang, _fmt(m["loss"]), _fmt(m["bits_per_byte"]), str(m["tokens"]))
        con.print(t)
    e, pl, h = r["edit"], r["plan"], r["halt"]
    con.print(f"edits: {e['tasks']} decoded ({e['skipped']} too long), apply rate "
              f"{_fmt(e['apply_rate'])}, exact match {_fmt(e['exact_match'])}")
    con.print(f"plans: {pl['tasks']} decoded, exact match {_fmt(pl['exact_match'])}")
    con.print(f"halt: {h['labels']} labels, accuracy {_fmt(h['accuracy'])}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
