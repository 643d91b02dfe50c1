"""`hrm bench speed`: prefill/decode tokens per second, time to first token and peak RSS of
our CPU runtime next to llama.cpp in the same run, on the same weights when the model is a
retrofit at its identity layout (logic and method in bench/speed.py)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

err = Console(stderr=True)


def speed(
    model: Path | None = typer.Option(None, "--model", help="hrm-code GGUF (default: bundled)."),
    llama_model: Path | None = typer.Option(
        None, "--llama-model",
        help="llama GGUF for llama.cpp (default: the same weights when --model is an identity "
             "retrofit, else a same-FLOP transformer)."),
    preset: str = typer.Option("tiny", "--preset",
                               help="Random-weight preset when no model is given/bundled."),
    prompt_tokens: int = typer.Option(2048, "--prompt-tokens", min=1),
    gen_tokens: int = typer.Option(128, "--gen-tokens", min=1),
    threads: int = typer.Option(2, "--threads", min=1),
    repeat: int = typer.Option(5, "--repeat", min=1,
                               help="Interleaved rounds; medians are reported."),
    qtype: str = typer.Option("q4_0", "--type", help="Quantisation for built models."),
    n_ctx: int | None = typer.Option(
        None, "--ctx", help="KV-cache length (default: the model's, or prompt + generated "
                            "when longer)."),
    kv: str = typer.Option("f32", "--kv", help="Our KV cache type: f32 or f16 (llama.cpp "
                                               "keeps its default, f16)."),
    no_llama: bool = typer.Option(False, "--no-llama", help="Skip the llama.cpp comparison."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
) -> None:
    """Measure our runtime (and llama.cpp when installed) on the same machine and threads."""
    from hrmcli.agent.backends import bundled_model
    from hrmcli.bench.speed import Models, benchmark, build_models, llama_available, llama_for
    from hrmcli.config import paths
    from hrmcli.converters.gguf_export import QTYPES, ConvertError
    from hrmcli.runtime.gguf_load import GGUFError

    if qtype not in QTYPES:
        err.print(f"[red]unknown --type {qtype!r}[/]; choose one of {', '.join(QTYPES)}")
        raise typer.Exit(2)
    if kv not in ("f32", "f16"):
        err.print(f"[red]unknown --kv {kv!r}[/]; choose f32 or f16")
        raise typer.Exit(2)
    if llama_model is not None and not llama_model.is_file():
        err.print(f"[red]--llama-model {llama_model} is not a file[/]")
        raise typer.Exit(2)
    cache = paths().cache_dir
    use_llama = not no_llama and llama_available()
    if llama_model is not None and not use_llama:
        err.print("[red]--llama-model needs llama-cpp-python[/] (pip install 'hrmcli[llama]')")
        raise typer.Exit(2)
    try:
        with err.status("preparing models"):
            note = "given model"
            if model is None:
                model = bundled_model()
                note = "bundled model"
            if model is None:
                models = build_models(preset, qtype, cache, log=lambda m: err.print(m))
                err.print(f"no bundled model: benchmarking {models.note}")
                if not use_llama:
                    models.llama = None
            elif not use_llama:
                models = Models(model, None, note)
            elif llama_model is not None:
                models = Models(model, llama_model, f"{note}; llama.cpp on {llama_model.name}")
            else:
                path, what = llama_for(model, qtype, cache)
                models = Models(model, path, f"{note}; {what}")
        with err.status(f"benchmarking ({prompt_tokens} prompt + {gen_tokens} generated "
                        f"tokens, {threads} threads, {repeat} rounds)"):
            res = benchmark(models, prompt_tokens, gen_tokens, threads, n_ctx, repeat, kv,
                            log=lambda m: err.print(m))
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
                    f"generated tokens, {res['threads']} threads, ctx {res['n_ctx']}, "
                    f"median of {res['repeat']} rounds, load {res['load_avg'][0]:.1f}")
    for c in ("engine", "prefill tok/s", "decode tok/s", "TTFT s", "peak RSS MB", "file MB"):
        t.add_column(c, justify="right")
    t.add_row(f"hrm runtime (KV {res['kv_cache']})", f"{res['prefill_tps']:.1f}",
              f"{res['decode_tps']:.1f}", f"{res['ttft_s']:.2f}", f"{res['peak_rss_mb']:.0f}",
              f"{res['file_mb']:.1f}")
    if "llama_decode_tps" in res:
        t.add_row(f"llama.cpp ({res['layer_applications']} layers)",
                  f"{res['llama_prefill_tps']:.1f}", f"{res['llama_decode_tps']:.1f}",
                  f"{res['llama_ttft_s']:.2f}", f"{res['llama_peak_rss_mb']:.0f}",
                  f"{res['llama_file_mb']:.1f}")
        t.add_row("ratio (median per round)", f"{res['prefill_ratio']:.2f}",
                  f"{res['decode_ratio']:.2f}", "", "", "")
    err.print(t)


def register(app: typer.Typer) -> None:
    app.command("speed")(speed)
