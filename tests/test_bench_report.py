"""Benchmark runs in the history database: the migration that keeps old databases working,
the regression rules, the recording hooks of the other bench commands, and `hrm bench
report` (table, JSON, HTML with an inline SVG) as a real subprocess."""

from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hrmcli.agent.bench_history import (
    COLUMNS,
    BenchHistory,
    BenchRun,
    record_bench_run,
    regressions,
)
from hrmcli.agent.history import History
from tests.cli_helpers import hrm

FIX = Path(__file__).parent / "fixtures"


def _edits(solved: int, total: int = 12, seconds: float = 5.0, variant: str = "all",
           model: str = "hrm-code.gguf") -> dict:
    return {"suite": "edits", "model": model, "model_sha": "0123456789ab", "total": total,
            "solved": solved, "applied": total, "seconds_per_task": seconds, "variant": variant}


def _run(suite: str = "edits", rate: float | None = None, total: int | None = 12,
         speed: float | None = None, unit: str = "s/task", variant: str = "all") -> BenchRun:
    return BenchRun(suite=suite, model="m", variant=variant, total=total, rate=rate,
                    speed=speed, speed_unit=unit)


def test_old_database_gains_the_table_and_keeps_its_rows(tmp_path: Path):
    db = tmp_path / "history.sqlite3"
    with History(db) as h:  # a database from before bench_runs existed
        sid = h.start("edit", "m", tmp_path, title="rename greet").id
    con = sqlite3.connect(db)  # and a bench_runs table from an older hrm, fewer columns
    con.execute("CREATE TABLE bench_runs (id INTEGER PRIMARY KEY, suite TEXT NOT NULL, "
                "model TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL DEFAULT 0, "
                "total INTEGER, solved INTEGER)")
    con.execute("INSERT INTO bench_runs(suite, model, created_at, total, solved) "
                "VALUES ('edits', 'old.gguf', 1.0, 10, 4)")
    con.commit()
    con.close()
    with BenchHistory(db) as b:
        cols = {r["name"] for r in b.conn.execute("PRAGMA table_info(bench_runs)")}
        assert cols == {name for name, _ in COLUMNS}
        (old,) = b.runs()
        assert (old.model, old.total, old.solved, old.summary, old.variant) == (
            "old.gguf", 10, 4, {}, "")
        b.add(BenchRun(suite="edits", model="new.gguf", total=10, solved=6, rate=0.6))
        assert [r.model for r in b.runs("edits")] == ["old.gguf", "new.gguf"]
    with History(db) as h:
        assert h.show(sid)["title"] == "rename greet"
    with pytest.raises(ValueError, match="unknown suite"), BenchHistory(db) as b:
        b.add(BenchRun(suite="poetry", model="m"))


def test_regression_rules():
    flags = regressions([
        _run(rate=10 / 12), _run(rate=9 / 12),                  # one task fewer: fine
        _run(rate=7 / 12),                                      # two fewer than the last: flagged
        _run(rate=1 / 12, variant="lang=go"),                   # another variant: not compared
        _run(rate=12 / 12, speed=5.0), _run(rate=12 / 12, speed=5.4),   # +8%: fine
        _run(rate=12 / 12, speed=6.0),                          # +11%: flagged
        _run("speed", total=None, speed=20.0, unit="tok/s"),
        _run("speed", total=None, speed=17.0, unit="tok/s"),    # -15% tok/s: flagged
    ])
    got = [bool(f.reasons) for f in flags]
    assert got == [False, False, True, False, False, False, True, False, True]
    assert "tasks fewer" in flags[2].reasons[0] and flags[2].previous.rate == 9 / 12
    assert "s/task" in flags[6].reasons[0] and "tok/s" in flags[8].reasons[0]


def test_summaries_of_every_suite_are_recorded(tmp_path: Path):
    db = tmp_path / "h.sqlite3"
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF not really")
    record_bench_run("edits", _edits(9), db=db)
    record_bench_run("speed", {"decode_tps": 31.5, "prompt_tokens": 128, "gen_tokens": 64,
                               "threads": 2}, model=model, db=db)
    record_bench_run("polyglot", {"model": "reference", "completed": 4, "total": 5,
                                  "pass_rate_1": 50.0, "pass_rate_2": 75.0,
                                  "seconds_per_case": 3.0, "edit_format": "reference",
                                  "per_language": {"go": {}, "python": {}}}, db=db)
    record_bench_run("livecodebench", {"model": "openai:http://127.0.0.1:1/v1#x",
                                       "problems": 8, "pass@1": 25.0}, db=db)
    with BenchHistory(db) as h:
        e, s, p, lcb = h.runs()
    assert (e.model, e.model_sha, e.solved, e.total, e.speed_unit) == (
        "hrm-code.gguf", "0123456789ab", 9, 12, "s/task")
    assert e.hrm_version.startswith("0.") and e.summary["variant"] == "all"
    assert (s.model, len(s.model_sha), s.speed, s.speed_unit, s.variant) == (
        "tiny.gguf", 12, 31.5, "tok/s", "p128 g64 t2")
    assert (p.model, p.total, p.solved, p.rate, p.variant) == (
        "reference", 4, 3, 0.75, "reference go,python n=5")
    assert (lcb.model, lcb.total, lcb.solved, lcb.rate) == (
        "openai:http://127.0.0.1:1/v1#x", 8, 2, 0.25)


def test_unwritable_history_warns_and_does_not_fail(tmp_path: Path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert record_bench_run("edits", _edits(3), db=blocker / "h.sqlite3") is None
    assert "not recorded" in capsys.readouterr().err


def test_report_flags_regressions_in_table_json_and_html(tmp_path: Path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HRM_HOME", str(home))
    record_bench_run("edits", _edits(10))
    record_bench_run("edits", _edits(7, seconds=5.2))
    record_bench_run("edits", _edits(3, variant="lang=go"))
    record_bench_run("speed", {"decode_tps": 30.0, "prompt_tokens": 128, "gen_tokens": 64,
                               "threads": 2}, model="m.gguf")
    page = tmp_path / "report.html"
    r = hrm(tmp_path, home, "bench", "report", "--html", str(page), "--json")
    assert r.returncode == 0, r.stderr
    assert "REGRESSION" in r.stdout and "1 regression " in r.stdout
    assert "10/12 (83%)" in r.stdout and "7/12 (58%)" in r.stdout
    data = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(data["runs"]) == 4
    (reg,) = data["regressions"]
    assert reg["solved"] == 7 and reg["model"] == "hrm-code.gguf" and reg["variant"] == "all"
    assert "tasks fewer" in reg["regression"][0]
    text = page.read_text(encoding="utf-8")
    svgs = [ET.fromstring(m) for m in re.findall(r"<svg.*?</svg>", text, re.S)]
    assert len(svgs) == 2  # edits and speed, each well-formed SVG
    circles = [c.get("class") for c in svgs[0].iter("{http://www.w3.org/2000/svg}circle")]
    assert sorted(circles) == ["regression", "run", "run"]  # one dot per edits run
    assert "REGRESSION" in text and "<script" not in text
    r = hrm(tmp_path, home, "bench", "report", "--suite", "speed", "--fail-on-regression")
    assert r.returncode == 0 and "REGRESSION" not in r.stdout
    r = hrm(tmp_path, home, "bench", "report", "--suite", "edits", "--fail-on-regression")
    assert r.returncode == 1 and "REGRESSION" in r.stdout


def test_report_on_an_empty_history_and_bad_flags(tmp_path: Path):
    home = tmp_path / "home"
    r = hrm(tmp_path, home, "bench", "report", "--html", str(tmp_path / "p.html"))
    assert r.returncode == 0 and "no benchmark runs" in r.stderr
    assert "<svg" not in (tmp_path / "p.html").read_text()
    r = hrm(tmp_path, home, "bench", "report", "--suite", "poetry")
    assert r.returncode == 2 and "--suite must be one of" in r.stderr
    r = hrm(tmp_path, home, "bench", "report", "--db", str(tmp_path / "nope.sqlite3"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_polyglot_and_livecodebench_record_their_runs(tmp_path: Path):
    home = tmp_path / "home"
    r = hrm(tmp_path, home, "bench", "polyglot", "--dir", str(FIX / "polyglot"), "--languages",
            "python", "--reference", "--out", str(tmp_path / "run"), timeout=300)
    assert r.returncode == 0, r.stderr
    r = hrm(tmp_path, home, "bench", "livecodebench", "--problems",
            str(FIX / "lcb" / "problems.jsonl"), "--samples", str(FIX / "lcb" / "samples.jsonl"),
            "--k", "1", "--out", str(tmp_path / "lcb.jsonl"), timeout=300)
    assert r.returncode == 0, r.stderr
    r = hrm(tmp_path, home, "bench", "report", "--json")
    runs = {x["suite"]: x for x in json.loads(r.stdout.strip().splitlines()[-1])["runs"]}
    assert set(runs) == {"polyglot", "livecodebench"}
    assert runs["polyglot"]["model"] == "reference" and runs["polyglot"]["rate"] == 1.0
    assert runs["livecodebench"]["total"] > 0 and runs["livecodebench"]["model"] == "samples.jsonl"
