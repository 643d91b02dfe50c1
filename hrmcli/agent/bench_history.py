"""Benchmark results over time, in the same SQLite file as the session history.

Every `hrm bench edits|speed|polyglot|livecodebench` run stores one row: the suite, the
model (its name and a sha256 prefix of the file, so a retrained model under the same name
is told apart), the hrm version, the headline figures and the whole summary as JSON.
`hrm bench report` reads them back and flags regressions against the previous run of the
same model, suite and variant (the same task selection).

The table lives next to History's tables rather than in its schema: opening the database
here creates or migrates only `bench_runs`, so databases written before this table
existed keep working, and a `bench_runs` from an older hrm gains the columns it lacks.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hrmcli.config import paths

SUITES = ("edits", "speed", "polyglot", "livecodebench")
# Columns with their SQL types, oldest first; a migration adds those a table lacks.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "INTEGER PRIMARY KEY"),
    ("suite", "TEXT NOT NULL"),
    ("model", "TEXT NOT NULL DEFAULT ''"),
    ("model_sha", "TEXT NOT NULL DEFAULT ''"),
    ("hrm_version", "TEXT NOT NULL DEFAULT ''"),
    ("variant", "TEXT NOT NULL DEFAULT ''"),
    ("created_at", "REAL NOT NULL DEFAULT 0"),
    ("total", "INTEGER"),
    ("solved", "INTEGER"),
    ("applied", "INTEGER"),
    ("rate", "REAL"),          # solved / total, 0..1 (pass@1 / 100 for livecodebench)
    ("speed", "REAL"),         # seconds per task, or decode tokens/s for the speed suite
    ("speed_unit", "TEXT NOT NULL DEFAULT ''"),
    ("summary", "TEXT NOT NULL DEFAULT '{}'"),
)
# How much worse a speed may get before it is flagged.
SPEED_TOLERANCE = 0.10


class BenchHistoryError(RuntimeError):
    """The database cannot be opened or written."""


@dataclass(frozen=True)
class BenchRun:
    suite: str
    model: str
    model_sha: str = ""
    hrm_version: str = ""
    variant: str = ""
    total: int | None = None
    solved: int | None = None
    applied: int | None = None
    rate: float | None = None
    speed: float | None = None
    speed_unit: str = ""
    summary: dict[str, Any] | None = None
    created_at: float = 0.0
    id: int = 0


def hrm_version() -> str:
    """The package version, plus the commit when hrm runs from a git checkout (the version
    number alone does not change between commits, and results should say which code ran)."""
    from hrmcli import __version__

    return __version__ + _git_suffix()


@functools.cache
def _git_suffix() -> str:
    src = Path(__file__).resolve().parents[2]
    if not (src / ".git").exists():
        return ""
    try:
        sha = subprocess.run(["git", "-C", str(src), "rev-parse", "--short=10", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return f"+g{sha}" if sha else ""


@functools.cache
def _sha256_prefix(path: str, size: int, mtime: float) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def model_identity(spec: str | Path | None) -> tuple[str, str]:
    """(name, sha256 prefix) for a --model spec: the file's name and hash for a GGUF,
    the spec itself and no hash for a server or for the reference solutions."""
    text = str(spec or "").strip()
    if text == "reference":
        return "reference", ""
    if text.startswith("openai:"):
        return text, ""
    try:
        if isinstance(spec, Path) or Path(text).is_file():
            path = Path(text)
        else:
            from hrmcli.agent.backends import resolve_model_path

            path = resolve_model_path(text)
        st = path.stat()
        return path.name, _sha256_prefix(str(path.resolve()), st.st_size, st.st_mtime)
    except Exception:  # an unresolvable spec is still worth recording by its text
        return text or "default", ""


class BenchHistory:
    """The bench_runs table of the history database (HRM_HOME or platformdirs)."""

    def __init__(self, db: Path | None = None) -> None:
        self.path = db or paths().history_db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=10)
            self.conn.row_factory = sqlite3.Row
            self._migrate()
        except (OSError, sqlite3.DatabaseError) as e:
            raise BenchHistoryError(
                f"cannot open the history database {self.path}: {e}. "
                "Move it aside to start a fresh history.") from e

    def _migrate(self) -> None:
        cols = ",\n    ".join(f"{name} {kind}" for name, kind in COLUMNS)
        with self.conn:
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS bench_runs (\n    {cols}\n)")
            have = {r["name"] for r in self.conn.execute("PRAGMA table_info(bench_runs)")}
            for name, kind in COLUMNS:
                if name not in have:
                    # ADD COLUMN cannot take PRIMARY KEY; every other column has a default
                    self.conn.execute(f"ALTER TABLE bench_runs ADD COLUMN {name} {kind}")
            self.conn.execute("CREATE INDEX IF NOT EXISTS bench_runs_suite_model "
                              "ON bench_runs(suite, model, created_at)")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> BenchHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, run: BenchRun) -> int:
        if run.suite not in SUITES:
            raise ValueError(f"unknown suite {run.suite!r}; known: {', '.join(SUITES)}")
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO bench_runs(suite, model, model_sha, hrm_version, variant,"
                " created_at, total, solved, applied, rate, speed, speed_unit, summary)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run.suite, run.model, run.model_sha, run.hrm_version, run.variant,
                 run.created_at or time.time(), run.total, run.solved, run.applied, run.rate,
                 run.speed, run.speed_unit, json.dumps(run.summary or {})))
        return int(cur.lastrowid or 0)

    def runs(self, suite: str | None = None, model: str | None = None) -> list[BenchRun]:
        """Oldest first."""
        sql, args = "SELECT * FROM bench_runs WHERE 1=1", []
        if suite:
            sql, args = sql + " AND suite = ?", [*args, suite]
        if model:
            sql, args = sql + " AND model = ?", [*args, model]
        rows = self.conn.execute(sql + " ORDER BY created_at, id", args).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            try:
                d["summary"] = json.loads(d.get("summary") or "{}")
            except json.JSONDecodeError:
                d["summary"] = {}
            out.append(BenchRun(**{k: d.get(k) for k in BenchRun.__dataclass_fields__
                                   if k in d}))
        return out


# ------------------------------------------------------------------ regressions


@dataclass(frozen=True)
class Flagged:
    run: BenchRun
    previous: BenchRun | None
    reasons: tuple[str, ...]


def _speed_worse(cur: BenchRun, prev: BenchRun) -> str:
    if not cur.speed or not prev.speed or cur.speed_unit != prev.speed_unit:
        return ""
    if cur.speed_unit == "tok/s":  # higher is better
        if cur.speed < prev.speed * (1 - SPEED_TOLERANCE):
            return f"speed {cur.speed:.1f} tok/s < {prev.speed:.1f} (-{1 - cur.speed / prev.speed:.0%})"
    elif cur.speed > prev.speed * (1 + SPEED_TOLERANCE):
        return (f"speed {cur.speed:.1f} {cur.speed_unit} > {prev.speed:.1f} "
                f"(+{cur.speed / prev.speed - 1:.0%})")
    return ""


def regressions(runs: list[BenchRun]) -> list[Flagged]:
    """Each run with the previous run of the same suite, model and variant, and why it is a
    regression: the solved rate fell by more than one task's worth, or the speed got worse
    by more than 10%. Runs are taken oldest first; the result is in the same order."""
    last: dict[tuple[str, str, str], BenchRun] = {}
    out = []
    for run in runs:
        key = (run.suite, run.model, run.variant)
        prev = last.get(key)
        reasons: list[str] = []
        if prev is not None:
            if (run.rate is not None and prev.rate is not None and run.total
                    and (prev.rate - run.rate) * run.total > 1 + 1e-9):
                reasons.append(f"solved {run.rate:.0%} < {prev.rate:.0%} "
                               f"({(prev.rate - run.rate) * run.total:.1f} tasks fewer)")
            slow = _speed_worse(run, prev)
            if slow:
                reasons.append(slow)
        out.append(Flagged(run, prev, tuple(reasons)))
        last[key] = run
    return out


# ------------------------------------------------------------------ recording hook


def _run_from_summary(suite: str, summary: dict[str, Any], model: str | Path | None,
                      variant: str) -> BenchRun:
    """The headline figures of each suite's --json summary, in one shape."""
    if model is None and "model_sha" in summary:  # the summary already names its model
        name, sha = str(summary.get("model", "")), str(summary["model_sha"])
    else:
        name, sha = model_identity(model if model is not None else summary.get("model"))
    total = solved = applied = None
    rate = speed = None
    unit = ""
    if suite == "edits":
        total, solved, applied = summary.get("total"), summary.get("solved"), summary.get("applied")
        rate = solved / total if total else None
        speed, unit = summary.get("seconds_per_task"), "s/task"
        variant = variant or str(summary.get("variant", ""))
    elif suite == "polyglot":
        total = summary.get("completed")
        tries = max([int(k.rsplit("_", 1)[1]) for k in summary if k.startswith("pass_rate_")],
                    default=0)
        if tries and total:
            rate = summary[f"pass_rate_{tries}"] / 100
            solved = round(rate * total)
        speed, unit = summary.get("seconds_per_case"), "s/task"
        variant = variant or (f"{summary.get('edit_format', '')} "
                              f"{','.join(sorted(summary.get('per_language', {})))} "
                              f"n={summary.get('total')}")
    elif suite == "livecodebench":
        total = summary.get("problems")
        if "pass@1" in summary and total:
            rate = summary["pass@1"] / 100
            solved = round(rate * total)
        variant = variant or f"n={total}"
    elif suite == "speed":
        speed, unit = summary.get("decode_tps"), "tok/s"
        variant = variant or (f"p{summary.get('prompt_tokens')} g{summary.get('gen_tokens')} "
                              f"t{summary.get('threads')}")
    return BenchRun(suite=suite, model=name, model_sha=sha, hrm_version=hrm_version(),
                    variant=variant.strip(), total=total, solved=solved, applied=applied,
                    rate=rate, speed=speed, speed_unit=unit, summary=summary,
                    created_at=time.time())


def record_bench_run(suite: str, summary: dict[str, Any], model: str | Path | None = None,
                     variant: str = "", db: Path | None = None) -> int | None:
    """Store one benchmark summary; returns the row id, or None when it could not be stored.

    Called at the end of every `hrm bench` command. A benchmark's result matters more than
    its record, so a history that cannot be written is a warning on stderr, never a failure."""
    import sys

    try:
        run = _run_from_summary(suite, summary, model, variant)
        with BenchHistory(db) as h:
            return h.add(run)
    except (BenchHistoryError, sqlite3.DatabaseError, ValueError, TypeError, KeyError) as e:
        print(f"warning: this {suite} run was not recorded in the history: {e}", file=sys.stderr)
        return None
