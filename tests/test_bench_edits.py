"""The built-in edit suite: every task's check fails on the project as shipped and passes with
the reference solution (real toolchains), `hrm bench edits` as a real subprocess, and a model
run through hrm edit's own path against an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.edits import KINDS, LANGUAGES, load_tasks, reference_blocks, run_suite, verify_task
from bench.edits.suite import SuiteError, toolchain
from hrmcli.agent.apply import apply_edits
from hrmcli.agent.coder import MAX_REPAIRS
from hrmcli.agent.editblocks import parse_edits
from tests.cli_helpers import hrm
from tests.scripted_server import ScriptedServer

TASKS = load_tasks()
MINIMUM = {"python": 16, "javascript": 14, "go": 12, "rust": 6, "java": 6, "cpp": 6}


def _one_per_language(n: int = 1) -> list:
    """The first n tasks of every language whose toolchain is here."""
    out = []
    for lang in LANGUAGES:
        if toolchain(lang).ok:
            out += [t for t in TASKS if t.lang == lang][:n]
    return out


def test_suite_has_the_promised_shape():
    assert len(TASKS) >= 66
    per_lang = Counter(t.lang for t in TASKS)
    for lang, n in MINIMUM.items():
        assert per_lang[lang] >= n, (lang, per_lang[lang])
    assert len({t.id for t in TASKS}) == len(TASKS)
    assert set(Counter(t.kind for t in TASKS)) == set(KINDS)
    for t in TASKS:
        source = (t.before / t.file).read_text(encoding="utf-8")
        assert 10 <= len(source.splitlines()) <= 80, t.id
        assert t.support_files(), f"{t.id} has no test file"
        assert t.after_files()[t.file] != t.before_files()[t.file], t.id
        assert t.request and t.request == t.request.strip() and "\n" not in t.request, t.id


def test_reference_blocks_turn_before_into_after(tmp_path: Path):
    """The SEARCH/REPLACE form of every reference applies to before/ and yields after/, so a
    model that answers it is solved (the scripted-server tests reply with it)."""
    for t in TASKS:
        work = tmp_path / t.id
        work.mkdir()
        (work / t.file).write_bytes((t.before / t.file).read_bytes())
        parsed = parse_edits(reference_blocks(t))
        assert not parsed.errors and parsed.blocks, t.id
        result = apply_edits(parsed.blocks, work)
        assert not result.failed, (t.id, result.failed)
        assert (work / t.file).read_bytes() == (t.after / t.file).read_bytes(), t.id


def test_malformed_tasks_are_clear_errors(tmp_path: Path):
    bad = tmp_path / "py-bad"
    (bad / "before").mkdir(parents=True)
    (bad / "task.toml").write_text('lang = "cobol"\nkind = "rename"\nfile = "a.py"\n'
                                   'request = "x"\ncheck = "true"\n')
    with pytest.raises(SuiteError, match="cobol"):
        load_tasks(tmp_path)
    (bad / "task.toml").write_text('lang = "python"\nkind = "rename"\nfile = "a.py"\n'
                                   'request = "x"\ncheck = "true"\n')
    with pytest.raises(SuiteError, match="before/a.py does not exist"):
        load_tasks(tmp_path)
    with pytest.raises(SuiteError, match="unknown language"):
        load_tasks(langs=["cobol"])
    with pytest.raises(SuiteError, match="no task nope"):
        load_tasks(ids=["nope"])


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_check_fails_before_and_passes_with_the_reference(lang: str):
    tc = toolchain(lang)
    if not tc.ok:
        pytest.skip(f"{lang}: {tc.reason} (install: {tc.fix})")
    tasks = [t for t in TASKS if t.lang == lang]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(verify_task, tasks))
    bad = [(t.id, fails_before, passes_after, out)
           for t, (fails_before, passes_after, out) in zip(tasks, results, strict=True)
           if not (fails_before and passes_after)]
    assert not bad, "\n\n".join(f"{i}: fails before={b}, passes after={a}\n{o}"
                                for i, b, a, o in bad)


def test_cli_reference_json_and_history(tmp_path: Path):
    home = tmp_path / "home"
    tc = toolchain("javascript")
    if not tc.ok:
        pytest.skip(f"javascript: {tc.reason}")
    r = hrm(tmp_path, home, "bench", "edits", "--reference", "--json", "--lang", "javascript",
            "--limit", "3")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["total"] == s["applied"] == s["solved"] == 3 and s["skipped"] == 0
    assert s["model"] == "reference" and s["variant"] == "reference lang=javascript limit=3"
    assert set(s) >= {"total", "applied", "solved", "seconds_per_task", "per_language",
                      "per_kind", "tasks"}
    assert s["per_language"] == {"javascript": {**s["per_language"]["javascript"], "total": 3,
                                                "applied": 3, "solved": 3}}
    assert sum(k["total"] for k in s["per_kind"].values()) == 3
    for task in s["tasks"]:
        assert set(task) >= {"id", "lang", "kind", "applied", "solved", "seconds", "error"}
        assert task["solved"] and task["error"] is None and task["check_seconds"] > 0
    assert "3/3" in r.stderr  # the progress bar's count
    rep = hrm(tmp_path, home, "bench", "report", "--suite", "edits", "--json")
    assert rep.returncode == 0, rep.stderr
    runs = json.loads(rep.stdout.strip().splitlines()[-1])["runs"]
    assert [(x["model"], x["solved"], x["total"]) for x in runs] == [("reference", 3, 3)]


def test_missing_toolchain_is_skipped_with_the_install_hint(tmp_path: Path):
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), "HRM_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-m", "hrmcli", "bench", "edits", "--reference",
                        "--json", "--lang", "javascript,go"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["total"] == 0 and s["solved"] == 0
    assert s["skipped"] == sum(1 for t in TASKS if t.lang in ("javascript", "go"))
    assert all(t["skipped"] and not t["solved"] for t in s["tasks"])
    assert "nodejs" in s["skipped_languages"]["javascript"]
    assert "golang-go" in s["skipped_languages"]["go"]
    assert "skipped" in r.stderr and "failed" not in r.stderr


def test_model_run_goes_through_hrm_edits_path(tmp_path: Path, monkeypatch):
    """A server answering each request with the reference as SEARCH/REPLACE blocks: every
    task applies and is solved, and each request carries the task's own prompt."""
    monkeypatch.setenv("HRM_HOME", str(tmp_path / "home"))
    tasks = _one_per_language(2)
    with ScriptedServer([reference_blocks(t) for t in tasks]) as srv:
        s = run_suite(f"openai:{srv.url}#scripted", tasks, threads=2, record=True)
    assert s["total"] == s["applied"] == s["solved"] == len(tasks) >= 4, s["tasks"]
    assert s["model"] == f"openai:{srv.url}#scripted" and s["model_sha"] == ""
    assert len(srv.requests) == len(tasks)
    for task, req in zip(tasks, srv.requests, strict=True):
        prompt = req["body"]["messages"][-1]["content"]
        assert task.request in prompt and f"File: {task.file}" in prompt
    for t, task in zip(s["tasks"], tasks, strict=True):
        assert t["attempts"] == 1 and t["tokens"] > 0 and f"+++ b/{task.file}" in t["diff"]
        assert len(t["commit"]) == 40  # committed as an hrm edit, as `hrm edit --yes` does
    assert set(s["per_language"]) == {t.lang for t in tasks}
    assert s["history_id"] and s["variant"] == f"tasks={len(tasks)}"


def test_bad_replies_are_repaired_then_counted_as_not_applied(tmp_path: Path, monkeypatch):
    """hrm edit's repair loop runs (1 + MAX_REPAIRS requests), then the task is not applied;
    a reply that applies but is wrong is applied and not solved."""
    monkeypatch.setenv("HRM_HOME", str(tmp_path / "home"))
    first, second = _one_per_language(1)[:2]
    garbage = f"{first.file}\n```\n<<<<<<< SEARCH\nthis line is not in the file\n=======\nx\n" \
              ">>>>>>> REPLACE\n```\n"
    src = (second.before / second.file).read_text(encoding="utf-8")
    line = next(x for x in src.splitlines(True) if x.strip())
    wrong = f"{second.file}\n```\n<<<<<<< SEARCH\n{line}=======\n{line}{line}>>>>>>> REPLACE\n```\n"
    with ScriptedServer([garbage] * (1 + MAX_REPAIRS) + [wrong]) as srv:
        s = run_suite(f"openai:{srv.url}#scripted", [first, second], threads=1)
    a, b = s["tasks"]
    assert len(srv.requests) == 2 + MAX_REPAIRS
    assert not a["applied"] and not a["solved"] and a["attempts"] == 1 + MAX_REPAIRS
    assert "did not apply" in a["error"]
    assert b["applied"] and not b["solved"] and b["error"].startswith("check failed")
    assert s["applied"] == 1 and s["solved"] == 0 and s["total"] == 2


def test_repeat_times_each_edit_and_reports_the_median(tmp_path: Path, monkeypatch):
    """--repeat 3: each task is edited three times (fresh repos), its seconds are the median
    of the three edit times, and the summary says how many runs it took."""
    import statistics

    monkeypatch.setenv("HRM_HOME", str(tmp_path / "home"))
    task = _one_per_language(1)[0]
    with ScriptedServer([reference_blocks(task)] * 3) as srv:
        s = run_suite(f"openai:{srv.url}#scripted", [task], threads=1, repeat=3)
    [t] = s["tasks"]
    assert len(srv.requests) == 3 and s["repeat"] == 3
    assert len(t["seconds_runs"]) == 3 and all(x > 0 for x in t["seconds_runs"])
    assert t["seconds"] == round(statistics.median(t["seconds_runs"]), 3)
    assert s["seconds_per_task"] == t["seconds"] and t["applied"] and t["solved"]


def test_unknown_model_is_one_clear_line(tmp_path: Path):
    r = hrm(tmp_path, tmp_path / "home", "bench", "edits", "--model", "no-such-model",
            "--limit", "1")
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr
    r = hrm(tmp_path, tmp_path / "home", "bench", "edits", "--reference", "--kind", "poetry")
    assert r.returncode == 2 and "unknown kind poetry" in r.stderr
