"""hrm bench livecodebench: records, grading semantics, sandbox containment, pass@k, CLI."""

from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
import subprocess
import sys
import uuid
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from bench.livecodebench.extract import extract_code
from bench.livecodebench.grader import grade, sandbox_for
from bench.livecodebench.harness import lines_equal
from bench.livecodebench.passk import mean_pass_at_k, pass_at_k, reportable_ks
from bench.livecodebench.records import (
    Problem,
    RecordError,
    decode_tests,
    filter_by_date,
    load_problems,
)
from bench.livecodebench.runner import evaluate, load_samples, summarize
from tests.sandbox_hostile import without_namespaces

FIX = Path(__file__).parent / "fixtures" / "lcb"
PROBLEMS = FIX / "problems.jsonl"
SAMPLES = FIX / "samples.jsonl"


def _stdin_problem(tests: list[tuple[str, str]]) -> Problem:
    return Problem("x", "t", "c", "atcoder", datetime(2024, 9, 1), "", "easy",
                   [{"input": i, "output": o, "testtype": "stdin"} for i, o in tests], None)


SUM = _stdin_problem([("3\n1 2 3\n", "6\n"), ("1\n4\n", "4\n")])


def test_private_tests_decoded_and_public_first() -> None:
    probs = {p.question_id: p for p in load_problems(PROBLEMS)}
    assert [t["input"] for t in probs["hrm001"].tests] == [
        "3\n1 2 3\n", "1\n-5\n", "4\n1000000000 1000000000 1000000000 1000000000\n"]
    assert probs["hrm003"].kind == "functional" and probs["hrm003"].func_name == "countPairs"
    assert probs["hrm001"].kind == "stdin"


def test_restricted_unpickler_refuses_globals(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    blob = base64.b64encode(zlib.compress(pickle.dumps(Evil()))).decode()
    with pytest.raises(pickle.UnpicklingError):
        decode_tests(blob)
    assert not marker.exists()
    ok = base64.b64encode(zlib.compress(pickle.dumps(json.dumps([{"input": "1",
                          "output": "1", "testtype": "stdin"}])))).decode()
    assert decode_tests(ok)[0]["output"] == "1"


def test_bad_record_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text(PROBLEMS.read_text().splitlines()[0] + "\n{not json\n")
    with pytest.raises(RecordError, match=":2:"):
        load_problems(f)


def test_date_filter_is_inclusive_with_midnight_end() -> None:
    probs = load_problems(PROBLEMS)
    kept = filter_by_date(probs, datetime(2024, 9, 1), datetime(2024, 11, 20))
    assert [p.question_id for p in kept] == ["hrm001", "hrm002", "hrm003"]
    kept = filter_by_date(probs, None, datetime(2024, 10, 15))  # 12:00 that day is after midnight
    assert [p.question_id for p in kept] == ["hrm001", "hrm005"]


def test_extract_takes_last_fenced_block() -> None:
    reply = "Idea:\n```python\nprint(1)\n```\nBetter:\n```python\nprint(2)\nprint(3)\n```\nDone"
    assert extract_code(reply) == "print(2)\nprint(3)"
    assert extract_code("no code here") == ""


def test_decimal_equality_is_exact_not_tolerant() -> None:
    assert lines_equal("2.5\n", "2.5000")
    assert lines_equal("1 2.0\n7", "1.0 2\n7.000")
    assert not lines_equal("1.33333", "1.3333")
    assert not lines_equal("abc", "abd")
    assert not lines_equal("1\n2", "1")
    assert lines_equal("  x y  \n\n", "x y")


def test_pass_at_k_matches_hand_computed_values() -> None:
    assert pass_at_k(5, 3, 1) == pytest.approx(0.6)
    assert pass_at_k(5, 3, 2) == pytest.approx(1 - 1 / 10)  # C(2,2)/C(5,2)
    assert pass_at_k(5, 1, 2) == pytest.approx(1 - 6 / 10)  # C(4,2)/C(5,2)
    assert pass_at_k(10, 0, 5) == 0.0 and pass_at_k(10, 6, 5) == 1.0
    assert pass_at_k(10, 2, 5) == pytest.approx(1 - 56 / 252)  # C(8,5)/C(10,5)
    assert mean_pass_at_k([(5, 3), (5, 0)], 1) == pytest.approx(30.0)
    assert reportable_ks([1, 5, 10], [10, 5, 7]) == [1, 5]


def test_stdin_and_functional_verdicts() -> None:
    sb = sandbox_for()
    assert grade(SUM, "n=int(input())\nprint(sum(map(int, input().split())))", sb).correct
    g = grade(SUM, "input()\nprint(6)", sb)
    assert (g.verdict, g.passed_tests) == ("wrong answer", 1)  # public passes, stops at 2nd
    assert grade(SUM, "print(", sb).verdict == "compile error"
    assert grade(SUM, "raise ValueError('boom')", sb).verdict == "runtime error"
    probs = {p.question_id: p for p in load_problems(PROBLEMS)}
    tup = "class Solution:\n    def minMax(self, nums: List[int]):\n        return (min(nums), max(nums))"
    assert grade(probs["hrm004"], tup, sb).correct  # tuple -> list, typing prelude
    assert grade(probs["hrm004"], "x = 1", sb).verdict == "compile error"


@pytest.mark.parametrize("code,verdict", [
    ("while True:\n    pass", "time limit"),
    ("x = bytearray(10 * 1024**3)\nprint(len(x))", "runtime error"),
])
def test_runaway_programs_are_stopped(code: str, verdict: str) -> None:
    g = grade(SUM, code, sandbox_for(timeout=1), timeout=1)
    assert g.verdict == verdict


def test_fork_bomb_is_contained() -> None:
    # bounded first: the sandbox stops forking well below 200 processes
    bounded = ("import os, time\nn = 0\nfor _ in range(200):\n    try:\n        pid = os.fork()\n"
               "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(5)\n"
               "        os._exit(0)\n    n += 1\nprint(n)")
    sb = sandbox_for(timeout=2)
    prob = _stdin_problem([("", "0")])
    g = grade(prob, bounded, sb, timeout=2)
    forked = int(g.detail.split("got '")[1].split("\\n")[0])
    assert 0 < forked < sb.limits.processes
    name = f"bomb{uuid.uuid4().hex[:11]}"  # its process name (15 chars), to look for after
    bomb = (f"open('/proc/self/comm', 'w').write({name!r})\nimport os\nwhile True:\n"
            "    try:\n        os.fork()\n    except OSError:\n        pass")
    assert not grade(SUM, bomb, sb, timeout=2).correct
    alive = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    assert alive == ""  # nothing it forked outlived the sample
    # the same worker slot still grades the next sample normally
    assert grade(SUM, "n=int(input())\nprint(sum(map(int, input().split())))", sb).correct


def test_writes_outside_the_work_dir_fail(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    os.chmod(tmp_path, 0o777)  # even a world-writable place outside must stay untouched
    in_tmp = Path("/tmp") / f"hrm-escape-{uuid.uuid4().hex}"
    code = (f"for p in [{str(target)!r}, {str(in_tmp)!r}]:\n"
            "    try:\n        open(p, 'w').write('x')\n    except OSError:\n        pass\n"
            "open('mine.txt', 'w').write('ok')\nprint(open('mine.txt').read())")
    g = grade(_stdin_problem([("", "ok")]), code, sandbox_for())
    assert g.correct, g.detail  # its own dir is writable
    assert not target.exists() and not in_tmp.exists()


def test_no_network() -> None:
    code = ("import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
            "    print('online')\nexcept OSError:\n    print('offline')")
    assert grade(_stdin_problem([("", "offline")]), code, sandbox_for()).correct


def test_fixture_scores_match_hand_computation() -> None:
    probs = filter_by_date(load_problems(PROBLEMS), datetime(2024, 1, 1), None)
    results = evaluate(probs, load_samples(SAMPLES), workers=2)
    assert [(r.n, r.c) for r in results] == [(5, 3), (5, 1), (5, 0), (5, 5)]
    s = summarize(results, [1, 2, 5, 10])
    assert s["pass@1"] == pytest.approx((0.6 + 0.2 + 0 + 1) / 4 * 100)
    assert s["pass@2"] == pytest.approx((0.9 + 0.4 + 0 + 1) / 4 * 100)
    assert s["pass@5"] == pytest.approx(75.0)
    assert "pass@10" not in s and s["skipped_k"] == [10]
    assert s["per_difficulty"]["easy"]["pass@1"] == pytest.approx(30.0)


def test_cli_json_and_results_file(tmp_path: Path) -> None:
    out = tmp_path / "res.jsonl"
    r = subprocess.run([sys.executable, "-m", "hrmcli", "bench", "livecodebench", "--problems",
                        str(PROBLEMS), "--samples", str(SAMPLES), "--start-date", "2024-01-01",
                        "--k", "1,5", "--json", "--out", str(out)],
                       capture_output=True, text=True, env={**os.environ, "HRM_HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert "sandbox: user+pid+net+mount+ipc+uts namespaces" in r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["pass@1"] == pytest.approx(45.0) and summary["problems"] == 4
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[1]["graded_list"] == [True, False, False, False, False]
    assert rows[1]["verdicts"][2]["verdict"] == "runtime error"


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe")
    r = subprocess.run([sys.executable, "-m", "hrmcli", "bench", "livecodebench", "--problems",
                        str(bad), "--samples", str(SAMPLES)], capture_output=True, text=True)
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_cli_refuses_to_grade_without_isolation_unless_no_sandbox(tmp_path: Path) -> None:
    out = tmp_path / "res.jsonl"
    args = [sys.executable, "-m", "hrmcli", "bench", "livecodebench", "--problems", str(PROBLEMS),
            "--samples", str(SAMPLES), "--start-date", "2024-01-01", "--json", "--out", str(out)]
    env = {**os.environ, "HRM_HOME": str(tmp_path)}
    r = subprocess.run(without_namespaces(args), capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "cannot isolate model-written code here" in r.stderr and "--no-sandbox" in r.stderr
    assert not out.exists()  # refused before grading anything
    r = subprocess.run(without_namespaces([*args, "--no-sandbox"]), capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "sandbox: none (--no-sandbox)" in r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["pass@1"] == pytest.approx(45.0)
