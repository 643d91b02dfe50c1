"""`hrm bench polyglot`: Aider's polyglot benchmark procedure on a local checkout."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from hrmcli.commands._common import fail, load_backend_or_fail

err = Console(stderr=True)


def _fail(msg: str) -> NoReturn:
    fail(err, msg, 2)


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def polyglot(
    dir: Path = typer.Option(None, "--dir", help="polyglot-benchmark checkout (<lang>/exercises/practice/<slug>)."),
    languages: str = typer.Option(None, "--languages", help="Comma-separated, e.g. python,rust."),
    keywords: str = typer.Option(None, "--keywords", help="Only slugs containing one of these."),
    num_tests: int = typer.Option(None, "--num-tests", help="Only the first N exercises."),
    tries: int = typer.Option(2, "--tries"),
    threads: int = typer.Option(1, "--threads", help="Exercises run at once."),
    model: str = typer.Option(None, "--model", help="Model spec for load_backend."),
    edit_format: str = typer.Option("diff", "--edit-format", help="diff or whole."),
    out: Path = typer.Option(None, "--out", help="Run directory for results."),
    resume: Path = typer.Option(None, "--resume", help="Continue a run directory."),
    reference: bool = typer.Option(False, "--reference", help="Test the reference solutions (no model)."),
    prepare: bool = typer.Option(False, "--prepare", help="Set up toolchains, then report."),
    no_sandbox: bool = typer.Option(False, "--no-sandbox", help="Run tests unisolated: as you, "
                                    "with your environment, network and files."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object last."),
    no_constrain: bool = typer.Option(False, "--no-constrain", help="As hrm edit --no-constrain."),
    max_tokens: int = typer.Option(4096, "--max-tokens", help="Most tokens per model reply."),
    repeat: int = typer.Option(1, "--repeat", min=1, help="Run each exercise N times; "
                               "seconds_per_case uses each one's median model time."),
) -> None:
    """Run the polyglot benchmark (or validate toolchains with --reference). Each edit is
    made by hrm edit's own coder (its prompts, constrained decoding, repairs and context
    handling); tests run in the benchmark sandbox. Exercises whose toolchain is incomplete
    are reported per language with the package to install, not counted as failures."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hrmcli.bench.polyglot import toolchains
    from hrmcli.bench.polyglot.exercises import LANGUAGES, ExerciseError, discover
    from hrmcli.bench.polyglot.runner import RunConfig, run_all
    from hrmcli.bench.polyglot.summary import summarize
    from hrmcli.bench.polyglot.testrun import LIMITS
    from hrmcli.bench.sandbox import SandboxError, SandboxUnavailable, open_sandbox

    if prepare:
        status = toolchains.prepare(lambda m: err.print(m))
        _print_status(status)
        if dir is None:
            return
    if dir is None:
        _fail("--dir PATH is required (a checkout of the polyglot benchmark)")
    if edit_format not in ("diff", "whole"):
        _fail("--edit-format must be diff or whole")
    langs = _csv(languages)
    unknown = [x for x in langs or [] if x not in LANGUAGES]
    if unknown:
        _fail(f"unknown language(s) {', '.join(unknown)}; choose from {', '.join(LANGUAGES)}")
    if not reference and not model:
        _fail("give --model SPEC, or --reference to test the reference solutions")
    try:
        exercises = discover(dir, langs, _csv(keywords), num_tests)
    except ExerciseError as e:
        _fail(str(e))
    status = {lang: toolchains.detect(lang) for lang in sorted({e.lang for e in exercises})}
    skipped = {lang: st for lang, st in status.items() if not st.ok}
    for lang, st in skipped.items():
        err.print(f"[yellow]skipping {lang}: {st.reason}[/yellow] (fix: {st.fix})")
    # Exercises that need more than their language's tools (a newer Go, a Boost library, a
    # Maven artifact, a crate) are not run: a missing library is the toolchain's failure,
    # never counted against the model or the reference solutions.
    blocked = {e.name: gaps for e in exercises if e.lang not in skipped
               and (gaps := toolchains.missing_for(e.lang, e.path))}
    for name, gaps in blocked.items():
        for g in gaps:
            err.print(f"[yellow]toolchain missing for {name}: {g.reason}[/yellow] (fix: {g.fix})",
                      highlight=False)
    runnable = [e for e in exercises if e.lang not in skipped and e.name not in blocked]

    try:
        sandbox = open_sandbox(LIMITS, no_sandbox)
    except SandboxUnavailable as e:
        _fail(str(e))
    err.print(f"sandbox: {sandbox.describe()}", markup=False, highlight=False)
    backend = None
    if not reference:
        backend = load_backend_or_fail(err, model)
    name = "reference" if reference else model
    run_dir = resume or out or Path("polyglot-runs") / time.strftime(f"%Y-%m-%d-%H-%M-%S--{_slug(name)}")
    if resume and not resume.is_dir():
        _fail(f"--resume {resume} is not a run directory")
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg = RunConfig(model=name, edit_format=edit_format, tries=1 if reference else tries,
                    reference=reference, backend=backend, sandbox=sandbox,
                    max_tokens=max_tokens, constrain=not no_constrain, repeat=repeat)

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err) as bar:
        task = bar.add_task("polyglot", total=len(runnable))

        def done(ex, res) -> None:
            mark = "pass" if any(res["tests_outcomes"]) else "fail"
            bar.update(task, advance=1, description=f"{ex.name}: {mark}")

        try:
            results = run_all(runnable, cfg, run_dir, threads, on_done=done)
        except SandboxError as e:
            _fail(f"the sandbox failed, so results would mean nothing: {e}")

    totals: dict[str, int] = {}
    for e in exercises:
        totals[e.lang] = totals.get(e.lang, 0) + 1
    summary = summarize(results, len(exercises), cfg.tries, name,
                        "reference" if reference else edit_format, totals)
    summary["run_dir"] = str(run_dir)
    summary["repeat"] = 1 if reference else repeat
    summary["skipped_languages"] = {lang: st.reason for lang, st in skipped.items()}
    summary["toolchain_missing"] = {name: [f"{g.reason} (fix: {g.fix})" for g in gaps]
                                    for name, gaps in blocked.items()}
    summary["failures"] = {f"{r['language']}/{r['testcase']}": r["test_output_tail"][-300:]
                           for r in results if not any(r["tests_outcomes"])}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    _print_table(summary, cfg.tries)
    from hrmcli.agent.bench_history import record_bench_run
    record_bench_run("polyglot", summary)
    if as_json:
        print(json.dumps(summary))


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in text)[-60:]


def _print_status(status) -> None:
    from rich.table import Table

    t = Table(title="polyglot toolchains")
    for col in ("language", "ready", "what is missing", "fix"):
        t.add_column(col)
    for lang, st in status.items():
        t.add_row(lang, "yes" if st.ok else "no", st.reason, st.fix)
    err.print(t)


def _print_table(s: dict, tries: int) -> None:
    from rich.table import Table

    t = Table(title=f"polyglot: {s['model']} ({s['edit_format']})")
    t.add_column("language")
    t.add_column("completed/total", justify="right")
    for k in range(1, tries + 1):
        t.add_column(f"pass_rate_{k}", justify="right")
    for lang, row in s["per_language"].items():
        t.add_row(lang, f"{row['completed']}/{row['total']}",
                  *[f"{row[f'pass_rate_{k}']:.1f}" for k in range(1, tries + 1)])
    t.add_row("all", f"{s['completed']}/{s['total']}",
              *[f"{s[f'pass_rate_{k}']:.1f}" for k in range(1, tries + 1)])
    err.print(t)
    err.print(f"well-formed: {s['percent_cases_well_formed']:.1f}%  "
              f"seconds/case: {s['seconds_per_case']:.1f}  test timeouts: {s['test_timeouts']}")
    for name, tail in s["failures"].items():
        err.print(f"[red]failed[/red] {name}: {tail.strip().splitlines()[-1] if tail.strip() else ''}")
    for lang, reason in s["skipped_languages"].items():
        err.print(f"[yellow]skipped[/yellow] {lang}: {reason}")
    for name, gaps in s["toolchain_missing"].items():
        err.print(f"[yellow]not run (toolchain)[/yellow] {name}: {'; '.join(gaps)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("polyglot")(polyglot)
