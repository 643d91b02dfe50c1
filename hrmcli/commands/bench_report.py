"""`hrm bench report`: benchmark runs stored in the history, over time, with regressions
flagged; optionally a self-contained HTML page with an inline SVG plot (no scripts, no
network), so it can be attached to a pull request or opened offline."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

import typer
from rich.console import Console

from hrmcli.commands._common import fail

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

HELP = (
    "Show stored benchmark runs (hrm bench edits, speed, polyglot, livecodebench) over time. "
    "A run is flagged as a regression when its solved rate is lower than the previous run "
    "of the same model, suite and task selection by more than one task, or its speed is "
    "more than 10% worse. --html writes a page with a plot."
)
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
          "#bcbd22", "#7f7f7f")


def report(
    suite: str = typer.Option(None, "--suite", help="edits, speed, polyglot or livecodebench."),
    model: str = typer.Option(None, "--model", help="Only runs of this model name."),
    html_file: Path = typer.Option(None, "--html", help="Also write a self-contained HTML page."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object last."),
    last: int = typer.Option(None, "--last", min=1, help="Only the last N runs in the table."),
    db: Path = typer.Option(None, "--db", help="History database (default: hrm's own)."),
    fail_on_regression: bool = typer.Option(False, "--fail-on-regression",
                                            help="Exit 1 when the newest run of any series regressed."),
) -> None:
    from hrmcli.agent.bench_history import SUITES, BenchHistory, BenchHistoryError, regressions

    if suite and suite not in SUITES:
        fail(err, f"--suite must be one of {', '.join(SUITES)}, not {suite!r}", 2)
    if db is not None and not db.is_file():
        fail(err, f"--db {db} does not exist", 2)
    try:
        with BenchHistory(db) as h:
            runs = h.runs(suite, model)
            where = h.path
    except BenchHistoryError as e:
        fail(err, str(e), 1)
    flagged = regressions(runs)
    if not flagged:
        err.print(f"no benchmark runs stored in {where}"
                  + (f" for suite {suite}" if suite else "")
                  + "; run `hrm bench edits` (or speed, polyglot, livecodebench) first")
    else:
        _table(flagged[-last:] if last else flagged)
    if html_file is not None:
        try:
            html_file.write_text(render_html(flagged, where), encoding="utf-8")
        except OSError as e:
            fail(err, f"cannot write {html_file}: {e}", 1)
        err.print(f"wrote {html_file}")
    newest = {(f.run.suite, f.run.model, f.run.variant): f for f in flagged}
    regressed = [f for f in newest.values() if f.reasons]
    if as_json:
        print(json.dumps({
            "db": str(where),
            "runs": [_run_json(f) for f in flagged],
            "regressions": [_run_json(f) for f in flagged if f.reasons],
        }))
    if fail_on_regression and regressed:
        raise typer.Exit(1)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _score(run) -> str:
    if run.total is not None and run.solved is not None:
        return f"{run.solved}/{run.total} ({100 * (run.rate or 0):.0f}%)"
    if run.rate is not None:
        return f"{100 * run.rate:.1f}%"
    return ""


def _speed(run) -> str:
    return f"{run.speed:.1f} {run.speed_unit}" if run.speed else ""


def _run_json(f) -> dict:
    r = f.run
    return {"id": r.id, "suite": r.suite, "model": r.model, "model_sha": r.model_sha,
            "hrm_version": r.hrm_version, "variant": r.variant, "created_at": r.created_at,
            "total": r.total, "solved": r.solved, "applied": r.applied, "rate": r.rate,
            "speed": r.speed, "speed_unit": r.speed_unit, "regression": list(f.reasons)}


def _table(flagged: list) -> None:
    from rich.markup import escape
    from rich.table import Table

    t = Table(title="benchmark history (oldest first)")
    for col in ("#", "when", "suite", "model", "hrm", "variant", "solved", "applied", "speed",
                "regression"):
        t.add_column(col, justify="right" if col in ("#", "solved", "applied", "speed") else "left")
    for f in flagged:
        r = f.run
        model = r.model + (f" @{r.model_sha[:8]}" if r.model_sha else "")
        flag = "[red]REGRESSION: " + escape("; ".join(f.reasons)) + "[/]" if f.reasons else ""
        t.add_row(str(r.id), _when(r.created_at), r.suite, escape(model), escape(r.hrm_version),
                  escape(r.variant), _score(r), "" if r.applied is None else str(r.applied),
                  _speed(r), flag)
    out.print(t)
    n = sum(1 for f in flagged if f.reasons)
    if n:
        out.print(f"[red]{n} regression{'s' if n > 1 else ''}[/] against the previous run of "
                  "the same model, suite and variant")


# ------------------------------------------------------------------ HTML


def _series(flagged: list, suite: str) -> dict[str, list]:
    by: dict[str, list] = {}
    for f in flagged:
        if f.run.suite == suite:
            by.setdefault(f"{f.run.model} [{f.run.variant}]", []).append(f)
    return by


def _value(suite: str, run) -> float | None:
    """What the plot shows: the solved rate in percent, or tokens/s for the speed suite."""
    if suite == "speed":
        return run.speed
    return None if run.rate is None else 100 * run.rate


def svg_plot(flagged: list, suite: str, width: int = 760, height: int = 280) -> str:
    """A line per model and variant, runs evenly spaced in time order (a week's gap and a
    minute's look alike, so every run stays readable); regressions are red dots, and every
    dot has a tooltip with its figures."""
    runs = [f for f in flagged if f.run.suite == suite]
    order = {id(f): i for i, f in enumerate(runs)}
    series = _series(flagged, suite)
    values = [v for f in runs if (v := _value(suite, f.run)) is not None]
    label = "decode tokens/s" if suite == "speed" else "solved %"
    left, right, top, bottom = 56, 16, 16, 30
    pw, ph = width - left - right, height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{suite}: {label} by run">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>']
    if not values:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text></svg>')
        return "".join(parts)
    y0, y1 = 0.0, (max(values) * 1.1 or 1.0) if suite == "speed" else 100.0
    n = max(1, len(runs) - 1)

    def sx(i: int) -> float:
        return left + 10 + (pw - 20) * (i / n if len(runs) > 1 else 0.5)

    def sy(y: float) -> float:
        return top + ph - (y - y0) / (y1 - y0) * ph

    for i in range(5):
        y = y0 + (y1 - y0) * i / 4
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
                     f'stroke="#e5e5e5"/><text x="{left - 6}" y="{sy(y) + 4:.1f}" '
                     f'text-anchor="end" font-size="11">{y:.0f}</text>')
    parts.append(f'<text x="{left}" y="{height - 10}" font-size="11">'
                 f'{html.escape(_when(runs[0].run.created_at))}</text>'
                 f'<text x="{left + pw}" y="{height - 10}" font-size="11" text-anchor="end">'
                 f'{html.escape(_when(runs[-1].run.created_at))}</text>'
                 f'<text x="12" y="{top + ph / 2}" font-size="11" transform="rotate(-90 12 '
                 f'{top + ph / 2})" text-anchor="middle">{label}</text>')
    for k, (name, members) in enumerate(sorted(series.items())):
        color = COLORS[k % len(COLORS)]
        pts = [(sx(order[id(f)]), sy(v), f) for f in members
               if (v := _value(suite, f.run)) is not None]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y, f in pts:
            tip = f"#{f.run.id} {name}: {_score(f.run) or _speed(f.run)} on {_when(f.run.created_at)}"
            if f.reasons:
                tip += " - REGRESSION: " + "; ".join(f.reasons)
            fill = "#d62728" if f.reasons else color
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{5 if f.reasons else 3.5}" '
                         f'fill="{fill}" class="{"regression" if f.reasons else "run"}">'
                         f'<title>{html.escape(tip)}</title></circle>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><span style="color:{COLORS[k % len(COLORS)]}">&#9632;</span> {html.escape(name)}</li>'
        for k, name in enumerate(sorted(series)))
    return "".join(parts) + f'<ul class="legend">{legend}</ul>'


def render_html(flagged: list, db: Path) -> str:
    """The whole page: per suite a plot and a table of its runs, newest last."""
    from hrmcli.agent.bench_history import SUITES

    body = [f"<h1>hrm benchmark history</h1><p>From {html.escape(str(db))}, "
            f"{len(flagged)} runs; written {html.escape(_when(time.time()))}.</p>"]
    n_reg = sum(1 for f in flagged if f.reasons)
    if n_reg:
        body.append(f'<p class="bad">{n_reg} regression(s): a solved rate more than one task '
                    "below the previous run of the same model, suite and variant, or a speed "
                    "more than 10% worse.</p>")
    for suite in SUITES:
        runs = [f for f in flagged if f.run.suite == suite]
        if not runs:
            continue
        body.append(f"<h2>{suite}</h2>{svg_plot(flagged, suite)}")
        rows = []
        for f in runs:
            r = f.run
            cells = [str(r.id), _when(r.created_at), r.model + (f" @{r.model_sha[:8]}" if r.model_sha else ""),
                     r.hrm_version, r.variant, _score(r), "" if r.applied is None else str(r.applied),
                     _speed(r), "; ".join(f.reasons)]
            cls = ' class="bad"' if f.reasons else ""
            rows.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        head = "".join(f"<th>{h}</th>" for h in ("#", "when", "model", "hrm", "variant", "solved",
                                                   "applied", "speed", "regression"))
        body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    if not flagged:
        body.append("<p>No benchmark runs are stored yet.</p>")
    style = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
             "margin:1em 0}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px}"
             "tr.bad td{background:#fde8e8}.bad{color:#b00}ul.legend{list-style:none;padding:0;"
             "font-size:13px;margin:.3em 0 1em}ul.legend li{display:inline-block;margin-right:1.5em}")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>hrm benchmark history</title><style>{style}</style></head><body>"
            + "".join(body) + "</body></html>\n")


def register(app: typer.Typer) -> None:
    app.command("report", help=HELP)(report)
