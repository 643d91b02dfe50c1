"""Find and run a project's tests, whatever its toolchain, and report counts the agent can use.

A missing toolchain is a result ("not available", with the reason and an install hint), not
an exception: the agent and the benchmark keep going and say why nothing ran.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from hrmcli.tools import shell
from hrmcli.tools.errors import ToolError

_MAX_OUTPUT = 200_000
_JAVA_JAR_DIR = Path("/usr/share/java")
_JUNIT_JAR = "junit-platform-console-standalone.jar"
_JAVA_EXTRA_JARS = ("assertj-core.jar",)
_JAVA_BUILD = "build/hrm-junit"
_CMAKE_BUILD = "build/hrm-cmake"


@dataclass(frozen=True)
class TestCommand:
    """How to test one project: optional build steps, then the test command itself.

    `missing` holds why it cannot run here (with `hint` saying how to fix that).
    """

    __test__ = False  # not a pytest test class

    kind: str
    argv: list[str]
    cwd: Path
    prepare: tuple[list[str], ...] = ()
    missing: str = ""
    hint: str = ""
    env: dict[str, str] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class TestResult:
    __test__ = False

    kind: str
    passed: bool
    n_passed: int
    n_failed: int
    n_errors: int
    output: str
    duration: float
    timed_out: bool
    command: list[str]
    available: bool = True
    reason: str = ""  # set when the tests could not run at all


def _which(tool: str) -> bool:
    return shutil.which(tool) is not None


def _unavailable(kind: str, cwd: Path, argv: list[str], reason: str, hint: str) -> TestCommand:
    return TestCommand(kind, argv, cwd, missing=reason, hint=hint)


# --- detection -----------------------------------------------------------------------------

def _detect_cargo(root: Path, run_all: bool) -> TestCommand | None:
    if not (root / "Cargo.toml").is_file():
        return None
    argv = ["cargo", "test"] + (["--", "--include-ignored"] if run_all else [])
    if not _which("cargo"):
        return _unavailable("cargo", root, argv, "cargo toolchain not found",
                            "install Rust with rustup, or apt-get install cargo")
    return TestCommand("cargo", argv, root)


def _detect_go(root: Path, run_all: bool) -> TestCommand | None:
    if not (root / "go.mod").is_file():
        return None
    argv = ["go", "test", "-v", "./..."]
    if not _which("go"):
        return _unavailable("go", root, argv, "go toolchain not found",
                            "apt-get install golang-go")
    return TestCommand("go", argv, root)


def _java_sources(root: Path) -> tuple[list[str], list[str]]:
    def rel(pattern: str) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in root.glob(pattern))

    main, test = rel("src/main/java/**/*.java"), rel("src/test/java/**/*.java")
    if not main and not test:
        flat = rel("*.java")
        test = [f for f in flat if f.endswith("Test.java")]
        main = [f for f in flat if f not in test]
    return main, test


def _junit_command(root: Path) -> TestCommand | None:
    """javac + the JUnit console launcher: runs JUnit 5 tests with no build tool and no network."""
    main, test = _java_sources(root)
    if not test:
        return None
    jar = _JAVA_JAR_DIR / _JUNIT_JAR
    extras = [str(_JAVA_JAR_DIR / j) for j in _JAVA_EXTRA_JARS if (_JAVA_JAR_DIR / j).is_file()]
    classes = _JAVA_BUILD + "/classes"
    cp = ":".join([str(jar), *extras])
    run = ["java", "-jar", str(jar), "--disable-banner", "--details=tree",
           "--class-path", ":".join([classes, *extras]), "--scan-class-path"]
    if not (_which("javac") and _which("java")):
        return _unavailable("junit", root, run, "java toolchain (javac/java) not found",
                            "apt-get install default-jdk-headless")
    if not jar.is_file():
        return _unavailable("junit", root, run, f"{_JUNIT_JAR} not found in {_JAVA_JAR_DIR}",
                            "apt-get install junit5 (and libassertj-core-java for AssertJ)")
    compile_ = ["javac", "-nowarn", "-encoding", "UTF-8", "-d", classes, "-cp", cp, *main, *test]
    return TestCommand("junit", run, root, prepare=(compile_,))


def _gradle_offline_ready(root: Path) -> bool:
    """The wrapper downloads gradle on first use; offline it only works if that is cached."""
    props = root / "gradle" / "wrapper" / "gradle-wrapper.properties"
    if not (root / "gradlew").is_file() or not props.is_file():
        return False
    m = re.search(r"distributionUrl=.*/([^/\s]+)\.zip", props.read_text(errors="replace"))
    dists = Path.home() / ".gradle" / "wrapper" / "dists"
    return bool(m) and (dists / m.group(1)).is_dir()


def _detect_java(root: Path, run_all: bool) -> TestCommand | None:
    if (root / "pom.xml").is_file():
        argv = ["mvn", "-B", "-o", "test"]
        if not _which("mvn"):
            return _unavailable("maven", root, argv, "maven not found", "apt-get install maven")
        return TestCommand("maven", argv, root)
    gradle = any((root / f).is_file() for f in ("build.gradle", "build.gradle.kts"))
    if gradle and _gradle_offline_ready(root):
        return TestCommand("gradle", ["./gradlew", "test", "--offline"], root)
    if gradle and _which("gradle"):
        return TestCommand("gradle", ["gradle", "test", "--offline"], root)
    junit = _junit_command(root)
    if junit is None and gradle:
        return _unavailable("gradle", root, ["./gradlew", "test"],
                            "gradle is not available offline and no Java tests were found",
                            "apt-get install gradle, or run ./gradlew once with network")
    return junit


def _detect_cmake(root: Path, run_all: bool) -> TestCommand | None:
    if not (root / "CMakeLists.txt").is_file():
        return None
    argv = ["ctest", "--test-dir", _CMAKE_BUILD, "--output-on-failure"]
    missing = [t for t in ("cmake", "make", "ctest") if not _which(t)]
    if not _which("c++") and not _which("g++"):
        missing.append("a C++ compiler")
    if missing:
        return _unavailable("cmake", root, argv, f"{', '.join(missing)} not found",
                            "apt-get install cmake make g++")
    configure = ["cmake", "-S", ".", "-B", _CMAKE_BUILD, "-DCMAKE_BUILD_TYPE=Debug"]
    if run_all:
        configure.append("-DEXERCISM_RUN_ALL_TESTS=1")
    build = ["cmake", "--build", _CMAKE_BUILD, "-j", "2"]
    return TestCommand("cmake", argv, root, prepare=(configure, build))


def _detect_node(root: Path, run_all: bool) -> TestCommand | None:
    pkg_file = root / "package.json"
    if not pkg_file.is_file():
        return None
    try:
        pkg = json.loads(pkg_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return _unavailable("npm", root, ["npm", "test"], f"package.json is not valid JSON: {e}",
                            "fix package.json")
    script = str((pkg.get("scripts") or {}).get("test", ""))
    if "no test specified" in script:
        script = ""
    has_jest_config = "jest" in pkg or any(root.glob("jest.config.*"))
    if "node --test" in script or "node:test" in script:
        kind = "node-test"
    elif "jest" in script or (not script and has_jest_config):
        kind = "jest"
    elif script:
        kind = "npm"
    else:
        return None
    argv = ["npm", "test", "--silent"] if script else ["npx", "--no-install", "jest"]
    if not _which("node") or not _which("npm"):
        return _unavailable(kind, root, argv, "node/npm not found", "apt-get install nodejs npm")
    if kind == "jest" and not (root / "node_modules" / ".bin" / "jest").exists():
        if not _which("jest"):
            return _unavailable(kind, root, argv, "jest is not installed in node_modules",
                                "run npm install (jest 29.7) in the project")
    return TestCommand(kind, argv, root, env={"CI": "true", "NO_COLOR": "1"})


def _detect_pytest(root: Path, run_all: bool) -> TestCommand | None:
    markers = ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "setup.py", "conftest.py")
    has_tests = any(root.glob("test_*.py")) or any(root.glob("*_test.py")) or any(
        (root / "tests").glob("**/test_*.py"))
    if not has_tests and not any((root / m).is_file() for m in markers):
        return None
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    if importlib.util.find_spec("pytest") is None:
        return _unavailable("pytest", root, argv, "pytest is not installed", "pip install pytest")
    # pytest sizes its rules to the terminal it guesses; a fixed width keeps the report (the
    # part the agent shows its models) the same wherever it runs
    return TestCommand("pytest", argv, root, env={"COLUMNS": "80"})


_DETECTORS = (_detect_cargo, _detect_go, _detect_java, _detect_cmake, _detect_node,
              _detect_pytest)


def detect(root: str | Path, run_all: bool = False) -> list[TestCommand]:
    """Every test setup found at the top of `root`, most specific toolchain first.

    `run_all` also runs tests that are normally skipped (cargo's #[ignore], Exercism's
    EXERCISM_RUN_ALL_TESTS) — what the benchmark needs.
    """
    real = Path(root).resolve()
    if not real.is_dir():
        raise ToolError(f"{root} is not a directory.")
    return [c for d in _DETECTORS if (c := d(real, run_all)) is not None]


# --- output parsing -------------------------------------------------------------------------

def _count(pattern: str, text: str) -> int:
    return sum(int(m) for m in re.findall(pattern, text, re.MULTILINE))


def _parse_pytest(out: str) -> tuple[int, int, int]:
    lines = [ln for ln in out.splitlines() if re.search(r"\d+ (passed|failed|errors?)\b", ln)
             or "no tests ran" in ln]
    last = lines[-1] if lines else ""
    return (_count(r"(\d+) passed", last), _count(r"(\d+) failed", last),
            _count(r"(\d+) errors?\b", last))


_GO_TEST = re.compile(r"^[ \t]*--- (PASS|FAIL): (\S+)", re.M)
# `ok  \tpkg\t0.01s`, `FAIL\tpkg\t0.01s`, `FAIL\tpkg [build failed]`, `ok  \tpkg\t(cached)`
_GO_PACKAGE = re.compile(r"^(ok|FAIL)[ \t]+\S+[ \t]+(?:\d+\.\d+s|\(cached\)|\[)", re.M)


def _go_leaf_counts(chunk: str) -> tuple[int, int]:
    """A test with subtests passes or fails through them, so only the leaves are counted."""
    results = _GO_TEST.findall(chunk)
    names = {name for _, name in results}
    leaves = [status for status, name in results
              if not any(other.startswith(name + "/") for other in names)]
    return leaves.count("PASS"), leaves.count("FAIL")


def _parse_go(out: str) -> tuple[int, int, int]:
    """Counted per package (its -v output ends at its ok/FAIL line): a package that fails
    without a failing test — build or setup failure, panic in init, TestMain exit — is an error.
    """
    n_pass = n_fail = n_err = 0
    start = 0
    for pkg in _GO_PACKAGE.finditer(out):
        passed, failed = _go_leaf_counts(out[start:pkg.start()])
        n_pass, n_fail = n_pass + passed, n_fail + failed
        if pkg.group(1) == "FAIL" and not failed:
            n_err += 1
        start = pkg.end()
    passed, failed = _go_leaf_counts(out[start:])
    return n_pass + passed, n_fail + failed, n_err


def _parse_cargo(out: str) -> tuple[int, int, int]:
    errors = len(re.findall(r"^error: could not compile", out, re.M))
    return _count(r"test result: \w+\. (\d+) passed", out), _count(r"(\d+) failed;", out), errors


def _parse_node(out: str) -> tuple[int, int, int]:
    jest = re.findall(r"^Tests:\s+(.*)$", out, re.M)
    if jest:
        last = jest[-1]
        passed, failed = _count(r"(\d+) passed", last), _count(r"(\d+) failed", last)
        suites = re.findall(r"^Test Suites:\s+(.*)$", out, re.M)
        broken = _count(r"(\d+) failed", suites[-1]) if suites and not failed else 0
        return passed, failed, broken
    # node --test: TAP ("# pass 2") or the spec reporter ("ℹ pass 2")
    return (_count(r"^[#ℹ] pass (\d+)", out), _count(r"^[#ℹ] fail (\d+)", out),
            _count(r"^[#ℹ] cancelled (\d+)", out))


def _parse_maven(out: str) -> tuple[int, int, int]:
    runs = re.findall(r"Tests run: (\d+), Failures: (\d+), Errors: (\d+), Skipped: (\d+)", out)
    if not runs:
        return 0, 0, 1 if "BUILD FAILURE" in out else 0
    total, failed, errors, skipped = (int(x) for x in runs[-1])  # the last one is the total
    return total - failed - errors - skipped, failed, errors


def _parse_junit(out: str) -> tuple[int, int, int]:
    return (_count(r"\[\s*(\d+) tests successful", out), _count(r"\[\s*(\d+) tests failed", out),
            _count(r"\[\s*(\d+) tests aborted", out))


def _parse_cmake(out: str) -> tuple[int, int, int]:
    m = re.findall(r"(\d+)% tests passed, (\d+) tests? failed out of (\d+)", out)
    if m:
        _, failed, total = (int(x) for x in m[-1])
        return total - failed, failed, 0
    # Exercism's C++ CMakeLists run the Catch2 binary as part of the build instead of ctest.
    catch = re.findall(r"test cases?:\s*(\d+) \|\s*(\d+) passed \|\s*(\d+) failed", out)
    if catch:
        return int(catch[-1][1]), int(catch[-1][2]), 0
    ok = re.findall(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)", out)
    return (int(ok[-1]), 0, 0) if ok else (0, 0, 0)


_PARSERS = {
    "pytest": _parse_pytest, "go": _parse_go, "cargo": _parse_cargo, "jest": _parse_node,
    "node-test": _parse_node, "npm": _parse_node, "maven": _parse_maven, "gradle": _parse_junit,
    "junit": _parse_junit, "cmake": _parse_cmake,
}

_MAVEN_OFFLINE = re.compile(r"offline mode|Cannot access .* in offline|could not be resolved", re.I)


# --- running --------------------------------------------------------------------------------

def _not_run(cmd: TestCommand, reason: str, hint: str, output: str = "",
             duration: float = 0.0) -> TestResult:
    text = f"{reason}. To fix: {hint}\n" + output if hint else f"{reason}\n{output}"
    return TestResult(cmd.kind, False, 0, 0, 0, text, duration, False, cmd.argv, False, reason)


def run_command(cmd: TestCommand, timeout: float = 180,
                env: dict[str, str] | None = None) -> TestResult:
    """Build steps then the tests, all within one `timeout` budget, output merged."""
    if not cmd.available:
        return _not_run(cmd, cmd.missing, cmd.hint)
    run_env = {**cmd.env, **(env or {})}
    started = time.monotonic()
    outputs: list[str] = []
    for step in (*cmd.prepare, cmd.argv):
        left = timeout - (time.monotonic() - started)
        res = shell.run(step, cmd.cwd, cmd.cwd, timeout=max(left, 0.1),
                        max_output=_MAX_OUTPUT, env=run_env)
        outputs.append(res.output)
        output = "".join(outputs)
        duration = time.monotonic() - started
        if res.timed_out:
            return TestResult(cmd.kind, False, 0, 0, 0, output + "Tests timed out!\n", duration,
                              True, res.argv)
        if step is not cmd.argv and res.returncode != 0:
            # Exercism C++ builds run the tests as part of the build: count them if they ran.
            n_pass, n_fail, n_err = _PARSERS[cmd.kind](output)
            return TestResult(cmd.kind, False, n_pass, n_fail, max(n_err, 1 if not n_fail else 0),
                              output, duration, False, res.argv)
    if cmd.kind == "maven" and res.returncode != 0 and _MAVEN_OFFLINE.search(output):
        return _not_run(cmd, "maven could not resolve its plugins or dependencies offline",
                        "run mvn test once with network to fill ~/.m2", output, duration)
    n_pass, n_fail, n_err = _PARSERS[cmd.kind](output)
    passed = res.returncode == 0 and n_fail == 0 and n_err == 0
    if res.returncode != 0 and not (n_fail or n_err):
        n_err = 1  # it failed without reporting a failing test: a build or setup error
    return TestResult(cmd.kind, passed, n_pass, n_fail, n_err, output, duration, False, res.argv)


def run_tests(root: str | Path, timeout: float = 180, kind: str | None = None,
              run_all: bool = False, env: dict[str, str] | None = None) -> TestResult:
    """Detect the project's tests (or the given `kind`) and run the first setup found."""
    found = detect(root, run_all)
    if kind is not None:
        found = [c for c in found if c.kind == kind]
    if not found:
        what = f"no {kind} test setup" if kind else "no test setup"
        cmd = TestCommand(kind or "none", [], Path(root).resolve())
        return _not_run(cmd, f"{what} found in {root}",
                        "add tests (pytest, cargo, go, npm, maven/gradle, cmake) at the top level")
    return run_command(found[0], timeout, env)
