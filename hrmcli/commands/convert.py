"""`hrm convert CHECKPOINT OUT.gguf`: a training checkpoint -> GGUF for our runtime (hrm-code)
or, for transformer baselines, llama.cpp (llama architecture)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def convert(
    checkpoint: Path = typer.Argument(..., help="Checkpoint file or run directory."),
    out: Path = typer.Argument(..., help="GGUF file to write."),
    qtype: str = typer.Option("q4_0", "--type", help="f32 | f16 | q8_0 | q4_0 | q4_1 | q5_0"),
    verify: bool = typer.Option(False, "--verify", help="Re-read and check every tensor."),
    arch: str = typer.Option("auto", "--arch",
                             help="auto | hrm-code | llama (llama: transformer baselines and identity retrofits, for llama.cpp)"),
    raw_weights: bool = typer.Option(False, "--no-ema", help="Export raw weights, not EMA."),
    embed_type: str = typer.Option("", "--embed-type",
                                   help="Type for the token embedding and LM head (default: "
                                        "--type); q8_0 keeps small pretrained models intact"),
    cycles: int = typer.Option(0, "--cycles", min=0,
                               help="Run the recursion this many times at inference: the core "
                                    "of a core layout (l_cycles), H of a planner (h_cycles)"),
) -> None:
    """Convert a checkpoint to GGUF (hyperparameters, tokenizer, provenance included)."""
    from rich.progress import Progress

    from hrmcli.converters.gguf_export import QTYPES, ConvertError, export_hrm, load_checkpoint
    from hrmcli.converters.llama_export import export_llama

    for q in (qtype, embed_type or qtype):
        if q not in QTYPES:
            err.print(f"[red]unknown type {q!r}[/]; choose one of {', '.join(QTYPES)}")
            raise typer.Exit(2)
    try:
        ck = load_checkpoint(checkpoint, use_ema=not raw_weights)
        if cycles:
            ck.cfg = _with_cycles(ck, cycles)
        if arch == "auto":
            arch = "llama" if ck.cfg.is_transformer and not ck.cfg.retrofit else "hrm-code"
        export = {"llama": export_llama, "hrm-code": export_hrm}.get(arch)
        if export is None:
            err.print(f"[red]unknown --arch {arch!r}[/]; use auto, hrm-code or llama")
            raise typer.Exit(2)
        out.parent.mkdir(parents=True, exist_ok=True)
        with Progress(transient=True, console=err) as bar:
            task = bar.add_task(f"writing {out.name}", total=len(ck.state))
            export(ck, out, qtype, progress=lambda _n: bar.advance(task),
                   embed_qtype=embed_type or None)
    except ConvertError as e:
        err.print(f"[red]convert failed:[/] {e}")
        raise typer.Exit(1) from None
    except OSError as e:
        err.print(f"[red]cannot write {out}:[/] {e.strerror}; check the path and free space")
        raise typer.Exit(1) from None
    mb = out.stat().st_size / 2**20
    kind = qtype + (f", {embed_type} embeddings" if embed_type else "")
    console.print(f"wrote {out} ({arch}, {kind}, {mb:.1f} MB)")
    if verify:
        _verify(ck, out, qtype, arch, embed_type or None)


def _with_cycles(ck, cycles: int):
    """The checkpoint's config with its own recursion run `cycles` times (the layout says
    which: retrofits record it in their provenance)."""
    from dataclasses import replace

    from hrmcli.converters.gguf_export import ConvertError
    from hrmcli.runtime.model import recursion_field

    layout = str(ck.provenance.get("layout", ""))
    field = recursion_field(layout)
    if field is None:
        raise ConvertError(f"--cycles needs a core or planner retrofit; this checkpoint's "
                           f"layout is {layout or 'not a retrofit'}")
    return replace(ck.cfg, **{field: cycles})


def _verify(ck, out: Path, qtype: str, arch: str, embed_qtype: str | None = None) -> None:
    from hrmcli.converters.llama_export import llama_tensors
    from hrmcli.converters.verify import verify_file
    from hrmcli.runtime.gguf_load import GGUFError

    names = list(llama_tensors(ck)) if arch == "llama" else None
    try:
        checks = verify_file(out, ck.state, qtype, names, embed_qtype)
    except GGUFError as e:
        err.print(f"[red]verify failed:[/] {e}")
        raise typer.Exit(1) from None
    bad = [c for c in checks if not c.ok]
    worst = max(checks, key=lambda c: c.max_err / c.bound if c.bound else c.max_err)
    if bad:
        for c in bad[:10]:
            err.print(f"[red]{c.name}[/] ({c.type}): max error {c.max_err:.3g}, bound "
                      f"{c.bound:.3g}, matches quantiser: {c.matches_reference}")
        err.print(f"[red]verify failed[/] on {len(bad)} of {len(checks)} tensors: delete "
                  f"{out} and convert again")
        raise typer.Exit(1)
    console.print(f"verified {len(checks)} tensors (largest error {worst.max_err:.3g} in "
                  f"{worst.name}, bound {worst.bound:.3g})")


def register(app: typer.Typer) -> None:
    app.command("convert")(convert)
