"""`hrm bench edits`: the bundled edit-task suite, each task edited the way `hrm edit` edits
and then checked by running code (logic in bench/edits/)."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from hrmcli.commands._common import fail, load_backend_or_fail

err = Console(stderr=True, highlight=False, soft_wrap=True)

HELP = (
    "Run the built-in edit tasks (small real projects in Python, JavaScript, Go, Rust, Java "
    "and C++, each with a request as a user writes it) through the same path as `hrm edit`, "
    "in temporary git repos, and check each by running its tests. Results are stored in the "
    "history; `hrm bench report` shows them over time.\n\n"
    "--reference applies the reference solutions instead of a model: every task whose "
    "toolchain is installed must be solved. Tasks whose toolchain is missing are skipped "
    "with the install command."
)


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def edits(
    model: str = typer.Option("", "--model", "-m",
                              help="Model: .gguf path, name, or openai:URL#model (default: bundled)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object last."),
    lang: str = typer.Option(None, "--lang", help="Only these languages (comma-separated)."),
    kind: str = typer.Option(None, "--kind", help="Only these kinds (comma-separated)."),
    task_ids: str = typer.Option(None, "--task", help="Only these task ids (comma-separated)."),
    limit: int = typer.Option(None, "--limit", min=1, help="Only the first N tasks."),
    reference: bool = typer.Option(False, "--reference",
                                   help="Apply the reference solutions (no model)."),
    threads: int = typer.Option(2, "--threads", min=1, help="Checks run at once."),
    edit_format: str = typer.Option("diff", "--edit-format", help="diff or whole, as hrm edit."),
    no_constrain: bool = typer.Option(False, "--no-constrain", help="As hrm edit --no-constrain."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Most tokens per model reply."),
    no_record: bool = typer.Option(False, "--no-record", help="Do not store the run in the history."),
    list_tasks: bool = typer.Option(False, "--list", help="List the selected tasks and exit."),
    repeat: int = typer.Option(1, "--repeat", min=1, help="Edit each task N times; s/task "
                               "uses each task's median edit time (the JSON says `repeat`)."),
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hrmcli.bench.edits.runner import EditSettings, TaskResult, run_suite, variant_name
    from hrmcli.bench.edits.suite import EditTask, SuiteError, load_tasks

    if edit_format not in ("diff", "whole"):
        fail(err, f"--edit-format must be diff or whole, not {edit_format!r}", 2)
    try:
        tasks = load_tasks(langs=_csv(lang), kinds=_csv(kind), ids=_csv(task_ids), limit=limit)
    except SuiteError as e:
        fail(err, str(e), 2)
    if not tasks:
        fail(err, "no task matches the selection", 2)
    if list_tasks:
        _print_list(tasks)
        return
    backend = None
    if not reference:
        with err.status("loading the model..."):
            backend = load_backend_or_fail(err, model)
    settings = EditSettings(edit_format=edit_format, constrain=not no_constrain,
                            max_tokens=max_tokens)
    name = "reference" if reference else (getattr(backend, "name", "") or model or "default")

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=False) as bar:
        job = bar.add_task(f"edits: {name}", total=len(tasks))

        def started(task: EditTask) -> None:
            bar.update(job, description=f"editing {task.id}")

        def done(res: TaskResult) -> None:
            mark = "skipped" if res.skipped else ("solved" if res.solved else "failed")
            bar.update(job, advance=1, description=f"{res.id}: {mark}")

        try:
            summary = run_suite(model, tasks, reference=reference, threads=threads,
                                settings=settings, backend=backend, record=not no_record,
                                variant=variant_name(reference, _csv(lang), _csv(kind), limit,
                                                     _csv(task_ids), settings),
                                repeat=repeat, on_start=started, on_result=done)
        except KeyboardInterrupt:
            err.print("[yellow]interrupted;[/] nothing was recorded")
            raise typer.Exit(130) from None
    _print_summary(summary)
    if as_json:
        print(json.dumps(summary))
    if reference and summary["solved"] < summary["total"]:
        raise typer.Exit(1)


def _print_list(tasks: list) -> None:
    from rich.table import Table

    t = Table(title=f"{len(tasks)} edit tasks")
    for col in ("id", "lang", "kind", "request"):
        t.add_column(col)
    for task in tasks:
        t.add_row(task.id, task.lang, task.kind, task.request)
    err.print(t)


def _print_summary(s: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=f"edits: {escape(s['model'])}" + (f" ({s['model_sha']})" if s["model_sha"] else ""))
    for col in ("", "tasks", "applied", "solved", "skipped", "s/task"):
        t.add_column(col, justify="right" if col else "left")

    def row(label: str, c: dict) -> None:
        t.add_row(label, str(c["total"]), str(c["applied"]),
                  f"{c['solved']} ({100 * c['solved_rate']:.0f}%)", str(c["skipped"]),
                  f"{c['seconds_per_task']:.1f}")

    for lang, c in s["per_language"].items():
        row(lang, c)
    t.add_section()
    for kind, c in s["per_kind"].items():
        row(kind, c)
    t.add_section()
    row("all", s)
    err.print(t)
    for task in s["tasks"]:
        if not task["solved"] and not task["skipped"]:
            err.print(f"[red]failed[/] {task['id']}: {escape(str(task['error']))[:300]}")
    for lang, why in s["skipped_languages"].items():
        err.print(f"[yellow]skipped[/] {lang}: {escape(str(why))}")


def register(app: typer.Typer) -> None:
    app.command("edits", help=HELP)(edits)
