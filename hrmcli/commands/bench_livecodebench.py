"""`hrm bench livecodebench`: pass@k on LiveCodeBench code-generation problems."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from hrmcli.commands._common import fail, load_backend_or_fail

err = Console(stderr=True)


def _fail(msg: str) -> NoReturn:
    fail(err, msg, 2)


def _date(value: str | None, flag: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        _fail(f"{flag} {value!r} is not a date; use YYYY-MM-DD")
    return None


def livecodebench(
    problems: Path = typer.Option(..., "--problems", help="LCB code-generation test*.jsonl file."),
    start_date: str = typer.Option(None, "--start-date", help="Keep contest_date >= D."),
    end_date: str = typer.Option(None, "--end-date", help="Keep contest_date <= D (midnight)."),
    n: int = typer.Option(10, "--n", help="Samples per problem when generating."),
    k: str = typer.Option("1,5", "--k", help="Comma-separated k for pass@k."),
    samples: Path = typer.Option(None, "--samples", help="Graded instead of generating: "
                                 '{"question_id", "code_list"} per line.'),
    model: str = typer.Option(None, "--model", help="Model spec for load_backend."),
    temperature: float = typer.Option(0.2, "--temperature"),
    workers: int = typer.Option(2, "--workers", help="Samples graded at once."),
    out: Path = typer.Option(None, "--out", help="Per-problem results JSONL "
                             "(default: lcb_results.jsonl next to --samples or in cwd)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object last."),
    no_sandbox: bool = typer.Option(False, "--no-sandbox", help="Grade unisolated: samples run "
                                    "as you, with your environment, network and files."),
) -> None:
    """Grade samples with LiveCodeBench's semantics, each in its own sandboxed process.

    Refuses to grade when this machine cannot isolate samples, unless --no-sandbox."""
    from rich.progress import Progress
    from rich.table import Table

    from hrmcli.bench.livecodebench.grader import limits_for
    from hrmcli.bench.livecodebench.records import RecordError, filter_by_date, load_problems
    from hrmcli.bench.livecodebench.runner import (
        evaluate,
        generate_samples,
        load_samples,
        summarize,
    )
    from hrmcli.bench.sandbox import SandboxError, SandboxUnavailable, open_sandbox

    try:
        ks = sorted({int(x) for x in k.split(",") if x.strip()})
    except ValueError:
        _fail(f"--k {k!r} must be comma-separated integers, e.g. 1,5")
    if not ks or min(ks) < 1:
        _fail("--k values must be >= 1")
    if (samples is None) == (model is None):
        _fail("give exactly one of --samples FILE or --model SPEC")
    if not problems.is_file():
        _fail(f"--problems {problems} does not exist")
    try:
        probs = load_problems(problems)
    except RecordError as e:
        _fail(str(e))
    probs = filter_by_date(probs, _date(start_date, "--start-date"), _date(end_date, "--end-date"))
    if not probs:
        _fail("no problems left after the date filter; widen --start-date/--end-date")

    console = Console(stderr=True)
    try:  # before sampling, which can take hours
        sandbox = open_sandbox(limits_for(), no_sandbox)
    except SandboxUnavailable as e:
        _fail(str(e))
    console.print(f"sandbox: {sandbox.describe()}", markup=False, highlight=False)
    if samples is not None:
        try:
            codes = load_samples(samples)
        except RecordError as e:
            _fail(str(e))
        missing = [p.question_id for p in probs if p.question_id not in codes]
        if missing:
            console.print(f"[yellow]{len(missing)} problems have no samples "
                          f"(e.g. {missing[0]}); they count as 0 samples, so no pass@k is "
                          "reportable unless every problem has samples.[/yellow]")
    else:
        backend = load_backend_or_fail(err, model)
        with Progress(console=console) as bar:
            task = bar.add_task("sampling", total=len(probs) * n)
            codes = generate_samples(probs, backend, n, temperature,
                                     on_sample=lambda: bar.advance(task))

    total = sum(len(codes.get(p.question_id, [])) for p in probs)
    with Progress(console=console) as bar:
        task = bar.add_task("grading", total=total)
        try:
            results = evaluate(probs, codes, workers=workers, sandbox=sandbox,
                               on_graded=lambda: bar.advance(task))
        except SandboxError as e:
            _fail(f"the sandbox failed, so verdicts would mean nothing: {e}")
    summary = summarize(results, ks)
    summary["model"] = model or str(samples)

    out = out or (samples.parent / "lcb_results.jsonl" if samples else Path("lcb_results.jsonl"))
    with out.open("w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r.to_json(ks)) + "\n")
    summary["results_file"] = str(out)

    table = Table(title=f"LiveCodeBench ({summary['problems']} problems)")
    table.add_column("difficulty")
    table.add_column("problems", justify="right")
    shown = [x for x in ks if f"pass@{x}" in summary]
    for x in shown:
        table.add_column(f"pass@{x}", justify="right")
    for diff, row in summary["per_difficulty"].items():
        table.add_row(diff, str(row["problems"]), *[f"{row[f'pass@{x}']:.1f}" for x in shown])
    table.add_row("all", str(summary["problems"]), *[f"{summary[f'pass@{x}']:.1f}" for x in shown])
    console.print(table)
    if summary["skipped_k"]:
        console.print(f"[yellow]not reported: pass@{summary['skipped_k']} (some problem has "
                      "fewer samples than k)[/yellow]")
    from hrmcli.agent.bench_history import record_bench_run
    record_bench_run("livecodebench", summary)
    if as_json:
        print(json.dumps(summary))


def register(app: typer.Typer) -> None:
    app.command("livecodebench")(livecodebench)
