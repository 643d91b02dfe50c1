"""`hrm bench speed`: prefill/decode tokens per second and peak RSS of our CPU runtime, next
to llama.cpp on the same-FLOP transformer in the same run (logic in bench/speed.py)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

err = Console(stderr=True)


def speed(
    model: Path | None = typer.Option(None, "--model", help="hrm-code GGUF (default: bundled)."),
    preset: str = typer.Option("tiny", "--preset",
                               help="Random-weight preset when no model is given/bundled."),
    prompt_tokens: int = typer.Option(128, "--prompt-tokens", min=1),
    gen_tokens: int = typer.Option(64, "--gen-tokens", min=1),
    threads: int = typer.Option(2, "--threads", min=1),
    qtype: str = typer.Option("q4_0", "--type", help="Quantisation for built models."),
    n_ctx: int | None = typer.Option(None, "--ctx", help="KV-cache length (default: model's)."),
    no_llama: bool = typer.Option(False, "--no-llama", help="Skip the llama.cpp comparison."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Measure our runtime (and llama.cpp when installed) on the same machine and threads."""
    from hrmcli.bench.speed import Models, benchmark, build_models, llama_available, llama_for
    from hrmcli.config import bundled_weights_dir, paths
    from hrmcli.converters.gguf_export import QTYPES, ConvertError
    from hrmcli.runtime.gguf_load import GGUFError

    if qtype not in QTYPES:
        err.print(f"[red]unknown --type {qtype!r}[/]; choose one of {', '.join(QTYPES)}")
        raise typer.Exit(2)
    cache = paths().cache_dir
    use_llama = not no_llama and llama_available()
    try:
        with err.status("preparing models"):
            if model is None:
                bundled = sorted(bundled_weights_dir().glob("*.gguf"))
                model = bundled[0] if bundled else None
                note = "bundled model"
            else:
                note = "given model"
            if model is None:
                models = build_models(preset, qtype, cache, log=lambda m: err.print(m))
                err.print(f"no bundled model: benchmarking {models.note}")
                if not use_llama:
                    models.llama = None
            else:
                models = Models(model, llama_for(model, qtype, cache) if use_llama else None,
                                note)
        with err.status(f"benchmarking ({prompt_tokens} prompt + {gen_tokens} generated "
                        f"tokens, {threads} threads)"):
            res = benchmark(models, prompt_tokens, gen_tokens, threads, n_ctx)
    except (GGUFError, ConvertError, ValueError, RuntimeError) as e:
        err.print(f"[red]bench speed failed:[/] {e}")
        raise typer.Exit(1) from None
    if not use_llama and not no_llama:
        err.print("llama-cpp-python is not installed: no llama.cpp comparison "
                  "(pip install 'hrmcli[llama]')")
    _table(res)
    from hrmcli.agent.bench_history import record_bench_run
    record_bench_run("speed", res, model=models.hrm)
    if as_json:
        print(json.dumps(res))


def _table(res: dict) -> None:
    t = Table(title=f"{res['note']}: {res['prompt_tokens']} prompt + {res['gen_tokens']} "
                    f"generated tokens, {res['threads']} threads, ctx {res['n_ctx']}")
    for c in ("engine", "prefill tok/s", "decode tok/s", "peak RSS MB", "file MB"):
        t.add_column(c, justify="right")
    t.add_row("hrm runtime", f"{res['prefill_tps']:.1f}", f"{res['decode_tps']:.1f}",
              f"{res['peak_rss_mb']:.0f}", f"{res['file_mb']:.1f}")
    if "llama_decode_tps" in res:
        t.add_row(f"llama.cpp ({res['layer_applications']} layers)",
                  f"{res['llama_prefill_tps']:.1f}", f"{res['llama_decode_tps']:.1f}",
                  f"{res['llama_peak_rss_mb']:.0f}", f"{res['llama_file_mb']:.1f}")
        t.add_row("ratio", f"{res['prefill_ratio']:.2f}", f"{res['decode_ratio']:.2f}", "", "")
    err.print(t)


def register(app: typer.Typer) -> None:
    app.command("speed")(speed)
