"""Test detection and execution on tiny real projects, one per toolchain installed here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hrmcli.tools.testrun import detect, run_tests

FIXTURES = Path(__file__).parent / "fixtures" / "projects"
OFFLINE = {"CARGO_NET_OFFLINE": "true"}


def _project(tmp_path: Path, name: str) -> Path:
    """A private copy, so build outputs never land in the repository."""
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def _needs(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


def test_pytest_passing_project(tmp_path: Path) -> None:
    res = run_tests(_project(tmp_path, "python_pass"))
    assert (res.kind, res.passed, res.n_passed, res.n_failed, res.n_errors) == ("pytest", True, 2, 0, 0)
    assert not res.timed_out and res.available and "2 passed" in res.output


def test_pytest_failing_project(tmp_path: Path) -> None:
    res = run_tests(_project(tmp_path, "python_fail"))
    assert (res.passed, res.n_passed, res.n_failed, res.n_errors) == (False, 2, 1, 0)
    assert "test_add_wrong" in res.output


def test_pytest_collection_error_counts_as_error(tmp_path: Path) -> None:
    root = _project(tmp_path, "python_pass")
    (root / "calc.py").write_text("def add(a, b)\n    return a + b\n")
    res = run_tests(root)
    assert not res.passed and res.n_errors >= 1 and "SyntaxError" in res.output


def test_timeout_reports_timed_out(tmp_path: Path) -> None:
    root = _project(tmp_path, "python_pass")
    (root / "check_slow.py").write_text("import time\n\ndef test_slow():\n    time.sleep(60)\n")
    res = run_tests(root, timeout=3)
    assert res.timed_out and not res.passed and "Tests timed out!" in res.output


def test_node_builtin_test_runner(tmp_path: Path) -> None:
    _needs("node", "npm")
    res = run_tests(_project(tmp_path, "node_test"))
    assert (res.kind, res.passed, res.n_passed, res.n_failed) == ("node-test", False, 2, 1)
    assert "is wrong on purpose" in res.output


@pytest.fixture(scope="session")
def jest_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """jest 29.7 installed once per session into a temp prefix; skipped when npm cannot fetch it."""
    _needs("npm")
    prefix = tmp_path_factory.mktemp("jest")
    try:
        proc = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix), "jest@29.7.0"],
            capture_output=True, text=True, timeout=180,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install jest timed out (registry unreachable?)")
    if proc.returncode != 0:
        pytest.skip(f"npm install jest failed (registry unreachable?): {proc.stderr[-300:]}")
    return prefix / "node_modules"


def test_jest_project(tmp_path: Path, jest_modules: Path) -> None:
    root = _project(tmp_path, "jest_proj")
    (root / "node_modules").symlink_to(jest_modules)
    res = run_tests(root)
    assert (res.kind, res.passed, res.n_passed, res.n_failed, res.n_errors) == ("jest", False, 2, 1, 0)
    assert "Tests:" in res.output


def test_jest_without_node_modules_is_not_available(tmp_path: Path) -> None:
    _needs("node", "npm")
    if shutil.which("jest"):
        pytest.skip("a global jest is installed")
    res = run_tests(_project(tmp_path, "jest_proj"))
    assert not res.available and not res.passed
    assert "jest is not installed" in res.reason and "npm install" in res.output


def test_cargo_crate_and_run_all_includes_ignored(tmp_path: Path) -> None:
    _needs("cargo")
    root = _project(tmp_path, "cargo_crate")
    res = run_tests(root, env=OFFLINE)
    assert (res.kind, res.passed, res.n_passed, res.n_failed, res.n_errors) == ("cargo", False, 1, 1, 0)
    res_all = run_tests(root, run_all=True, env=OFFLINE)
    assert (res_all.n_passed, res_all.n_failed) == (2, 1)
    assert res_all.command[-1] == "--include-ignored"


def test_cargo_compile_error_is_an_error(tmp_path: Path) -> None:
    _needs("cargo")
    root = _project(tmp_path, "cargo_crate")
    (root / "src" / "lib.rs").write_text("pub fn add(a: i32) -> i32 { a + }\n")
    res = run_tests(root, env=OFFLINE)
    assert not res.passed and res.n_errors >= 1 and "could not compile" in res.output


def test_cmake_ctest_project(tmp_path: Path) -> None:
    _needs("cmake", "make", "ctest", "g++")
    res = run_tests(_project(tmp_path, "cmake_ctest"))
    assert (res.kind, res.passed, res.n_passed, res.n_failed, res.n_errors) == ("cmake", False, 2, 1, 0)
    assert "tests failed out of 3" in res.output


def test_cmake_build_error_is_an_error(tmp_path: Path) -> None:
    _needs("cmake", "make", "ctest", "g++")
    root = _project(tmp_path, "cmake_ctest")
    (root / "calc_test.cpp").write_text("int main() { return nope; }\n")
    res = run_tests(root)
    assert not res.passed and res.n_errors == 1 and "nope" in res.output


def test_javac_junit_console(tmp_path: Path) -> None:
    _needs("javac", "java")
    if not Path("/usr/share/java/junit-platform-console-standalone.jar").is_file():
        pytest.skip("junit5 not installed (apt-get install -y junit5)")
    res = run_tests(_project(tmp_path, "java_junit"))
    assert (res.kind, res.passed, res.n_passed, res.n_failed, res.n_errors) == ("junit", False, 2, 1, 0)
    assert "wrongOnPurpose" in res.output


def test_maven_offline(tmp_path: Path) -> None:
    _needs("mvn")
    res = run_tests(_project(tmp_path, "maven_junit"))
    assert res.kind == "maven"
    if not res.available:
        pytest.skip(f"maven plugins not cached for offline use: {res.reason}")
    assert (res.passed, res.n_passed, res.n_failed, res.n_errors) == (False, 2, 1, 0)


def test_maven_missing_offline_dependency_is_not_available(tmp_path: Path) -> None:
    _needs("mvn")
    root = _project(tmp_path, "maven_junit")
    pom = (root / "pom.xml").read_text().replace(
        "<dependencies>",
        "<dependencies><dependency><groupId>invalid.hrm</groupId>"
        "<artifactId>not-cached</artifactId><version>0.0.1</version></dependency>",
    )
    (root / "pom.xml").write_text(pom)
    res = run_tests(root)
    assert not res.available and not res.passed
    assert "offline" in res.reason and "not-cached" in res.output


@pytest.fixture(scope="session")
def go_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Go kept off the network and out of ~/.cache; the build cache is shared by the go tests."""
    _needs("go")
    home = tmp_path_factory.mktemp("go")
    return {"GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local",
            "GOCACHE": str(home / "cache"), "GOPATH": str(home / "path")}


def test_go_project(tmp_path: Path, go_env: dict[str, str]) -> None:
    res = run_tests(_project(tmp_path, "go_mod"), env=go_env)
    assert (res.kind, res.passed, res.n_passed, res.n_failed, res.n_errors) == ("go", True, 1, 0, 0)
    assert "--- PASS: TestAdd" in res.output and res.command == ["go", "test", "-v", "./..."]


def test_go_pass_and_fail(tmp_path: Path, go_env: dict[str, str]) -> None:
    res = run_tests(_project(tmp_path, "go_fail"), env=go_env)
    assert (res.kind, res.passed, res.n_passed, res.n_failed, res.n_errors) == ("go", False, 1, 1, 0)
    assert "wrong on purpose" in res.output


def test_go_subtests_count_leaves_across_packages(tmp_path: Path, go_env: dict[str, str]) -> None:
    root = _project(tmp_path, "go_fail")
    (root / "table_test.go").write_text(
        'package calc\n\nimport "testing"\n\n'
        "func TestTable(t *testing.T) {\n"
        "\tfor _, c := range []struct{ a, b, want int }{{1, 1, 2}, {2, 2, 5}, {1, 2, 3}} {\n"
        "\t\tc := c\n"
        '\t\tt.Run("case", func(t *testing.T) {\n'
        "\t\t\tif Add(c.a, c.b) != c.want {\n"
        '\t\t\t\tt.Errorf("Add(%d, %d) != %d", c.a, c.b, c.want)\n'
        "\t\t\t}\n\t\t})\n\t}\n}\n"
    )
    (root / "more").mkdir()
    (root / "more" / "more_test.go").write_text(
        'package more\n\nimport "testing"\n\nfunc TestAdd(t *testing.T) {}\n')
    res = run_tests(root, env=go_env)
    # calc: TestAdd + 2 passing cases, TestAddWrong + 1 failing case; more: TestAdd
    assert (res.passed, res.n_passed, res.n_failed, res.n_errors) == (False, 4, 2, 0)
    assert "--- FAIL: TestTable/case#01" in res.output


def test_go_compile_error_is_an_error(tmp_path: Path, go_env: dict[str, str]) -> None:
    root = _project(tmp_path, "go_fail")
    (root / "calc.go").write_text("package calc\n\nfunc Add(a, b int) int { return nope }\n")
    (root / "more").mkdir()
    (root / "more" / "more_test.go").write_text(
        'package more\n\nimport "testing"\n\nfunc TestOk(t *testing.T) {}\n')
    res = run_tests(root, env=go_env)
    assert (res.passed, res.n_passed, res.n_failed, res.n_errors) == (False, 1, 0, 1)
    assert "undefined: nope" in res.output and "[build failed]" in res.output


def test_go_package_failing_without_a_failing_test_is_an_error(
        tmp_path: Path, go_env: dict[str, str]) -> None:
    root = _project(tmp_path, "go_fail")
    (root / "more").mkdir()
    (root / "more" / "main_test.go").write_text(
        'package more\n\nimport (\n\t"os"\n\t"testing"\n)\n\n'
        "func TestMain(m *testing.M) { os.Exit(3) }\n")
    res = run_tests(root, env=go_env)
    assert (res.passed, res.n_passed, res.n_failed, res.n_errors) == (False, 1, 1, 1)


def test_go_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, "go_mod")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    res = run_tests(root)
    assert (res.kind, res.available, res.passed) == ("go", False, False)
    assert res.reason == "go toolchain not found" and "golang-go" in res.output


def test_missing_toolchain_is_a_structured_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, "cargo_crate")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    [cmd] = detect(root)
    assert cmd.kind == "cargo" and not cmd.available and "rustup" in cmd.hint
    res = run_tests(root)
    assert (res.available, res.passed, res.reason) == (False, False, "cargo toolchain not found")


def test_gradle_without_offline_gradle_or_java_tests(tmp_path: Path) -> None:
    if shutil.which("gradle"):
        pytest.skip("a system gradle is installed")
    (tmp_path / "build.gradle").write_text("apply plugin: 'java'\n")
    res = run_tests(tmp_path)
    assert res.kind == "gradle" and not res.available and "offline" in res.reason


def test_gradle_layout_falls_back_to_javac_junit(tmp_path: Path) -> None:
    _needs("javac", "java")
    if shutil.which("gradle") or not Path("/usr/share/java/junit-platform-console-standalone.jar").is_file():
        pytest.skip("needs junit5 and no system gradle")
    root = _project(tmp_path, "java_junit")
    (root / "build.gradle").write_text("apply plugin: 'java'\n")
    assert [c.kind for c in detect(root)] == ["junit"]


def test_no_tests_and_broken_package_json(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing to test\n")
    res = run_tests(tmp_path)
    assert res.kind == "none" and not res.available and "no test setup" in res.reason
    (tmp_path / "package.json").write_text("{not json")
    res = run_tests(tmp_path)
    assert not res.available and "package.json is not valid JSON" in res.reason
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}))
    assert detect(tmp_path) == []


def test_kind_selects_among_several_setups(tmp_path: Path) -> None:
    root = _project(tmp_path, "python_pass")
    shutil.copy(FIXTURES / "node_test" / "package.json", root / "package.json")
    assert [c.kind for c in detect(root)] == ["node-test", "pytest"]
    assert run_tests(root, kind="pytest").passed
