"""The bundled edit-task suite: loading tasks, the toolchains their checks need, and running
a check.

A task is one folder under tasks/: `task.toml` (the request as a user would type it, its
kind and language, the file the request is about, and the check commands), `before/` (the
small project as it is: the source file, its test file, build files) and `after/` (the
reference solution: the edited file). A check must fail on `before/` and pass once
`after/` is copied over it; tests/test_bench_edits.py holds every task to that.

The tasks were written by hand for this suite. They are deliberately not drawn from the
training corpus (Python's standard library, npm's own JavaScript, Go's standard library)
nor from public benchmarks, so the suite stays a held-out measurement.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

TASKS_DIR = Path(__file__).parent / "tasks"
LANGUAGES = ("python", "javascript", "go", "rust", "java", "cpp")
# What users ask for most, in the vocabulary `--kind` takes.
KINDS = (
    "rename",        # a function, method or variable, with its call sites in the file
    "literal",       # a constant, a literal or a default value
    "bugfix",        # off-by-one, wrong operator, flipped comparison, wrong variable
    "signature",     # add a parameter (with a default), swap arguments; callers follow
    "debug-output",  # remove a debug print
    "import",        # add an import that is missing
    "dead-code",     # delete an unused helper
    "feature",       # handle empty input, add a branch, a small behaviour change
    "docs",          # a docstring or doc comment; the code stays as it is
    "types",         # type annotations
)
CHECK_TIMEOUT = 180
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class SuiteError(ValueError):
    """A task folder is malformed; the message names the folder and what is wrong."""


@dataclass(frozen=True)
class EditTask:
    """One edit task. `file` is the file the request is about (the one given to the model);
    every other file in before/ (tests, build files) is support the check restores."""

    id: str
    lang: str
    kind: str
    request: str
    file: str
    check: tuple[str, ...]
    path: Path

    @property
    def before(self) -> Path:
        return self.path / "before"

    @property
    def after(self) -> Path:
        return self.path / "after"

    def before_files(self) -> dict[str, bytes]:
        return _read_tree(self.before)

    def after_files(self) -> dict[str, bytes]:
        return _read_tree(self.after)

    def support_files(self) -> dict[str, bytes]:
        """before/ without the file under edit: what the check needs unchanged."""
        return {k: v for k, v in self.before_files().items() if k != self.file}


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def load_task(folder: Path) -> EditTask:
    """Read and validate one task folder."""
    meta = folder / "task.toml"
    if not meta.is_file():
        raise SuiteError(f"{folder}: no task.toml")
    try:
        data = tomllib.loads(meta.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SuiteError(f"{meta}: not valid TOML: {e}") from e
    missing = [k for k in ("lang", "kind", "request", "file", "check") if k not in data]
    if missing:
        raise SuiteError(f"{meta}: missing {', '.join(missing)}")
    tid = folder.name
    if not _ID_RE.match(tid):
        raise SuiteError(f"{folder}: task ids are lower-case words joined by '-'")
    if data["lang"] not in LANGUAGES:
        raise SuiteError(f"{meta}: lang {data['lang']!r} is not one of {', '.join(LANGUAGES)}")
    if data["kind"] not in KINDS:
        raise SuiteError(f"{meta}: kind {data['kind']!r} is not one of {', '.join(KINDS)}")
    check = data["check"]
    if isinstance(check, str):
        check = [check]
    if not check or not all(isinstance(c, str) and c.strip() for c in check):
        raise SuiteError(f"{meta}: check must be a command line or a list of them")
    task = EditTask(tid, data["lang"], data["kind"], str(data["request"]).strip(),
                    str(data["file"]), tuple(check), folder)
    if not (task.before / task.file).is_file():
        raise SuiteError(f"{folder}: before/{task.file} does not exist")
    after = task.after_files()
    if not after:
        raise SuiteError(f"{folder}: after/ holds no reference solution")
    strays = sorted(set(after) - {task.file})
    if strays:
        raise SuiteError(f"{folder}: after/ may only hold {task.file}, not {', '.join(strays)}")
    return task


def load_tasks(root: Path = TASKS_DIR, langs: Sequence[str] | None = None,
               kinds: Sequence[str] | None = None, ids: Sequence[str] | None = None,
               limit: int | None = None) -> list[EditTask]:
    """The suite's tasks in a stable order (by language as in LANGUAGES, then id), filtered.
    Unknown languages or kinds are an error rather than an empty run."""
    for value, known, what in ((langs, LANGUAGES, "language"), (kinds, KINDS, "kind")):
        bad = [v for v in value or [] if v not in known]
        if bad:
            raise SuiteError(f"unknown {what} {', '.join(bad)}; choose from {', '.join(known)}")
    if not root.is_dir():
        raise SuiteError(f"no task folder at {root}")
    tasks = [load_task(d) for d in sorted(root.iterdir()) if d.is_dir()]
    if ids:
        unknown = sorted(set(ids) - {t.id for t in tasks})
        if unknown:
            raise SuiteError(f"no task {', '.join(unknown)}")
    tasks = [t for t in tasks
             if (not langs or t.lang in langs) and (not kinds or t.kind in kinds)
             and (not ids or t.id in ids)]
    tasks.sort(key=lambda t: (LANGUAGES.index(t.lang), t.id))
    return tasks[:limit] if limit is not None else tasks


# ------------------------------------------------------------------ toolchains


@dataclass(frozen=True)
class Toolchain:
    ok: bool
    reason: str = ""
    fix: str = ""


_NEEDS = {
    "go": (["go"], "apt-get install -y golang-go"),
    "rust": (["rustc"], "apt-get install -y rustc (or rustup)"),
    "java": (["javac", "java"], "apt-get install -y default-jdk-headless"),
    "cpp": (["g++"], "apt-get install -y g++"),
    "javascript": (["node"], "apt-get install -y nodejs (18 or newer, for node --test)"),
}


@functools.cache
def toolchain(lang: str) -> Toolchain:
    """Whether checks in `lang` can run here, and if not, the install that fixes it."""
    if lang == "python":
        if importlib.util.find_spec("pytest") is None:
            return Toolchain(False, f"pytest is not installed for {sys.executable}",
                             f"{sys.executable} -m pip install pytest")
        return Toolchain(True)
    if lang not in _NEEDS:
        return Toolchain(False, f"unknown language {lang}")
    tools, fix = _NEEDS[lang]
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        return Toolchain(False, f"{', '.join(missing)} not found on PATH", fix)
    if lang == "javascript":
        try:
            out = subprocess.run(["node", "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.strip()
            major = int(out.lstrip("v").split(".")[0])
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return Toolchain(False, "node --version did not answer", fix)
        if major < 18:
            return Toolchain(False, f"node {out} has no `node --test` (needs 18 or newer)", fix)
    return Toolchain(True)


# ------------------------------------------------------------------ checks


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    output: str
    seconds: float
    timed_out: bool = False


def check_env() -> dict[str, str]:
    """The environment checks run in: no colours, no network for Go, no stray bytecode, no
    pytest plugins (the tasks need none, and loading them doubles a Python check's time)."""
    return {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0", "CI": "true",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "GOFLAGS": "-mod=mod", "GOPROXY": "off",
            "GOTOOLCHAIN": "local", "GO111MODULE": "on", "GOTELEMETRY": "off"}


def check_argv(command: str, build: Path) -> list[str]:
    """One check command line split like a shell would, with {python} (this interpreter)
    and {build} (a scratch folder outside the repo) filled in."""
    subs = {"python": sys.executable, "build": str(build)}
    return [arg.format(**subs) for arg in shlex.split(command)]


def restore_support(task: EditTask, work: Path) -> None:
    """Put the tests and build files back as shipped, whatever happened to them."""
    for rel, data in task.support_files().items():
        dest = work / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)


def run_check(task: EditTask, work: Path, build: Path,
              timeout: float = CHECK_TIMEOUT) -> CheckResult:
    """Run the task's check commands in `work`, in order; the first failing one fails it."""
    restore_support(task, work)
    build.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    outputs: list[str] = []
    for command in task.check:
        argv = check_argv(command, build)
        try:
            proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=check_env(), start_new_session=True)
        except OSError as e:
            return CheckResult(False, f"cannot run {argv[0]}: {e}", time.perf_counter() - t0)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            return CheckResult(False, f"the check timed out after {timeout:.0f} s: {command}",
                               time.perf_counter() - t0, timed_out=True)
        finally:
            _kill(proc)
        outputs.append(out.decode("utf-8", "replace"))
        if proc.returncode != 0:
            return CheckResult(False, _clean("".join(outputs), work, build),
                               time.perf_counter() - t0)
    return CheckResult(True, _clean("".join(outputs), work, build), time.perf_counter() - t0)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _clean(text: str, work: Path, build: Path) -> str:
    for p in (build, work):
        text = text.replace(str(p.resolve()) + "/", "").replace(str(p) + "/", "")
    return text
