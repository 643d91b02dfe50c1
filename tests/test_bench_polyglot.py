"""hrm bench polyglot: discovery, Aider's procedure with real toolchains, summary, CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from bench.polyglot import toolchains
from bench.polyglot.exercises import discover, reference_targets
from bench.polyglot.lint import lint_file
from bench.polyglot.runner import RunConfig, load_result, run_all, run_exercise
from bench.polyglot.summary import summarize
from bench.polyglot.testrun import restore_tests, run_tests
from hrmcli.agent.backends.base import Completion, GenerationOptions, Message
from tests.sandbox_hostile import without_namespaces

FIX = Path(__file__).parent / "fixtures" / "polyglot"


def _ex(lang: str, slug: str = "digit-sum"):
    return discover(FIX, [lang], [slug])[0]


class ReplayBackend:
    """Plays canned replies in order (the model is not the unit under test) and records prompts."""

    name = "replay"
    context_size = 8192

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.seen: list[list[Message]] = []
        self.last: Completion | None = None

    def stream(self, messages: Sequence[Message], opts: GenerationOptions) -> Iterator[str]:
        self.seen.append(list(messages))
        text = self.replies.pop(0)
        self.last = Completion(text, 100, 20, 0.01)
        yield text


def _diff(search: str, replace: str, path: str = "digit_sum.py") -> str:
    return f"{path}\n```python\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


STUB = "def digit_sum(number):\n    pass\n"
GOOD = "def digit_sum(number):\n    return sum(int(d) for d in str(number))\n"
WRONG = "def digit_sum(number):\n    return number % 10\n"


def test_discovery_layout_and_reference_targets() -> None:
    names = [e.name for e in discover(FIX)]
    assert names[:3] == ["cpp/digit-sum", "cpp/reverse-words", "go/digit-sum"]
    assert names == sorted(names) and "python/run-length" in names
    assert len(discover(FIX, num_tests=3)) == 3
    java = _ex("java")
    assert reference_targets(java) == {".meta/src/reference/java/DigitSum.java":
                                       "src/main/java/DigitSum.java"}
    assert reference_targets(_ex("cpp")) == {".meta/example.cpp": "digit_sum.cpp",
                                             ".meta/example.h": "digit_sum.h"}
    assert "Accountants" in _ex("python").instructions()


def test_tests_restored_and_unlocked(tmp_path: Path) -> None:
    for lang, rel, banned in [("java", "src/test/java/DigitSumTest.java", "@Disabled"),
                              ("javascript", "digit-sum.spec.js", "xtest(")]:
        ex = _ex(lang)
        work = tmp_path / lang
        shutil.copytree(ex.path, work)
        (work / rel).write_text("tampered")
        restore_tests(ex, work)
        text = (work / rel).read_text()
        assert banned not in text and "tampered" not in text


def test_stub_fails_and_output_is_cleaned(tmp_path: Path) -> None:
    ex = _ex("python")
    work = tmp_path / ex.slug
    shutil.copytree(ex.path, work)
    passed, output, timed_out = run_tests(ex, work)
    assert not passed and not timed_out and "digit_sum_test.py" in output
    assert str(work) not in output and " in 0." not in output


def test_timeout_reports_tests_timed_out(tmp_path: Path) -> None:
    ex = _ex("python")
    work = tmp_path / ex.slug
    shutil.copytree(ex.path, work)
    (work / "digit_sum.py").write_text("def digit_sum(number):\n    while True:\n        pass\n")
    assert run_tests(ex, work, timeout=3) == (False, "Tests timed out!", True)


def test_lint_python_and_tree_sitter(tmp_path: Path) -> None:
    py = tmp_path / "a.py"
    py.write_text("def f(:\n    pass\n")
    assert "SyntaxError" in lint_file(py, "a.py")
    js = tmp_path / "a.js"
    js.write_text("export const f = () => {\n  return 1 +;\n")
    assert "a.js: syntax errors at line(s)" in lint_file(js, "a.js")
    rs = tmp_path / "lib.rs"
    rs.write_text("pub fn f() -> u8 { 1 }\n")
    assert lint_file(rs, "lib.rs") == ""


def test_model_path_repairs_malformed_edit_then_passes(tmp_path: Path) -> None:
    ex = _ex("python")
    backend = ReplayBackend([_diff("def nothing_like_this():\n", "x\n"), _diff(STUB, GOOD)])
    res = run_exercise(ex, RunConfig(model="replay", backend=backend))
    assert res["tests_outcomes"] == [True]
    assert res["num_malformed_responses"] == 1 and res["prompt_tokens"] == 200
    first_user = backend.seen[0][-1].content
    assert "####" in first_user and "digit_sum.py" in first_user and "def digit_sum" in first_user
    assert "digit_sum_test.py" not in first_user  # tests stay hidden
    assert (ex.path / "digit_sum.py").read_text() == STUB  # the fixture is untouched


def test_second_try_gets_test_output_and_lint_repair(tmp_path: Path) -> None:
    ex = _ex("python")
    broken = "def digit_sum(number):\n    return (\n"
    backend = ReplayBackend([_diff(STUB, WRONG), _diff(WRONG, broken), _diff(broken, GOOD)])
    res = run_exercise(ex, RunConfig(model="replay", backend=backend))
    assert res["tests_outcomes"] == [False, True]
    assert res["syntax_errors"] == 1 and res["num_malformed_responses"] == 0
    feedback = backend.seen[1][-1].content
    assert "AssertionError" in feedback and "The tests are correct" in feedback
    assert "Fix any errors below" in backend.seen[2][-1].content


def test_summary_uses_aider_formulas() -> None:
    base = {"num_error_outputs": 0, "num_user_asks": 0, "lazy_comments": 0, "syntax_errors": 0,
            "indentation_errors": 0, "num_exhausted_context_windows": 0, "test_timeouts": 0,
            "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0, "language": "python"}
    results = [{**base, "tests_outcomes": [True], "num_malformed_responses": 0, "duration": 2.0},
               {**base, "tests_outcomes": [False, True], "num_malformed_responses": 2, "duration": 4.0},
               {**base, "tests_outcomes": [False, False], "num_malformed_responses": 0, "duration": 6.0},
               {**base, "tests_outcomes": [False, False], "num_malformed_responses": 1, "duration": 0.0,
                "language": "rust"}]
    s = summarize(results, 10, 2, "m", "diff", {"python": 5, "rust": 5})
    assert (s["pass_rate_1"], s["pass_rate_2"]) == (25.0, 50.0)  # over 4 completed, not 10
    assert s["percent_cases_well_formed"] == 50.0 and s["num_malformed_responses"] == 3
    assert s["seconds_per_case"] == 3.0 and s["completed"] == 4 and s["total"] == 10
    assert s["per_language"]["python"]["pass_rate_2"] == pytest.approx(200 / 3)


def test_resume_skips_finished_exercises(tmp_path: Path) -> None:
    ex = _ex("python")
    cfg = RunConfig(model="replay", backend=ReplayBackend([_diff(STUB, GOOD)]))
    run_all([ex], cfg, tmp_path)
    assert load_result(tmp_path, ex)["tests_outcomes"] == [True]
    cfg.backend = ReplayBackend([])  # any model call would fail: nothing may run again
    assert run_all([ex], cfg, tmp_path)[0]["tests_outcomes"] == [True]


def test_missing_toolchain_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    st = toolchains.detect("go")
    assert not st.ok and "go not found" in st.reason and "golang-go" in st.fix


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hrmcli", "bench", "polyglot", *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def test_cli_reference_python(tmp_path: Path) -> None:
    r = _cli("--dir", str(FIX), "--languages", "python", "--reference", "--json",
             "--out", str(tmp_path / "run"))
    assert r.returncode == 0, r.stderr
    assert "sandbox: user+pid+net+mount+ipc+uts namespaces" in r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["pass_rate_1"] == 100.0 and s["completed"] == 3 == s["total"]
    assert set(s) >= {"pass_rate_1", "percent_cases_well_formed", "seconds_per_case", "model",
                      "edit_format", "per_language"}
    assert (tmp_path / "run" / "python" / "run-length" / ".aider.results.json").is_file()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    r = _cli("--dir", str(tmp_path / "nope"), "--reference")
    assert r.returncode == 2 and "error:" in r.stderr and "Traceback" not in r.stderr
    r = _cli("--dir", str(FIX), "--languages", "cobol", "--reference")
    assert r.returncode == 2 and "unknown language" in r.stderr


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_cli_refuses_to_run_tests_without_isolation_unless_no_sandbox(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "hrmcli", "bench", "polyglot", "--dir", str(FIX),
            "--languages", "python", "--keywords", "digit-sum", "--reference", "--json"]
    env = {**os.environ, "HRM_HOME": str(tmp_path)}
    r = subprocess.run(without_namespaces([*args, "--out", str(tmp_path / "a")]),
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "cannot isolate model-written code here" in r.stderr and "--no-sandbox" in r.stderr
    assert not (tmp_path / "a").exists()
    r = subprocess.run(without_namespaces([*args, "--out", str(tmp_path / "b"), "--no-sandbox"]),
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "sandbox: none (--no-sandbox)" in r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["pass_rate_1"] == 100.0


@pytest.mark.slow
def test_reference_passes_every_installed_language(tmp_path: Path) -> None:
    r = _cli("--dir", str(FIX), "--reference", "--threads", "2", "--json",
             "--out", str(tmp_path / "run"))
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    for lang, row in s["per_language"].items():
        if lang in s["skipped_languages"]:
            assert row["completed"] == 0
        else:
            assert row["pass_rate_1"] == 100.0, (lang, s["failures"])
