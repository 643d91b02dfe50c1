"""Grade one sample: its own sandboxed process, LiveCodeBench verdicts."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..sandbox import DEFAULT_PATH, Limits, Sandbox, base_interpreter
from .records import Problem

TEST_TIMEOUT = 6.0
VERDICTS = ("pass", "wrong answer", "time limit", "runtime error", "compile error")
_HARNESS = Path(__file__).with_name("harness.py")


@dataclass
class Grade:
    verdict: str
    passed_tests: int
    total_tests: int
    detail: str

    @property
    def correct(self) -> bool:
        return self.verdict == "pass"


def limits_for(timeout: float = TEST_TIMEOUT) -> Limits:
    """CPU budget just above the per-test timeout (each test is its own process)."""
    return Limits(cpu_seconds=int(timeout) + 2)


def sandbox_for(timeout: float = TEST_TIMEOUT, isolate: bool = True) -> Sandbox:
    """The sandbox samples are graded in; isolate=False is --no-sandbox. Stateless, so one
    is shared by every grading thread."""
    return Sandbox(limits=limits_for(timeout), isolate=isolate)


def sample_env(work: Path) -> dict[str, str]:
    """Everything a sample's environment holds (the parent's variables never get in)."""
    env = {"PATH": DEFAULT_PATH, "LANG": "C.UTF-8", "HOME": str(work), "TMPDIR": "/tmp",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
    lib = Path(sys.base_prefix) / "lib"
    if any(lib.glob("libpython*.so*")):  # a shared-library python without an rpath
        env["LD_LIBRARY_PATH"] = str(lib)
    return env


def grade(problem: Problem, code: str, sandbox: Sandbox,
          timeout: float = TEST_TIMEOUT) -> Grade:
    """Public tests then private ones, stopping at the first failure.

    Raises SandboxError when the sandbox itself fails: that is no verdict on the sample."""
    total = len(problem.tests)
    work = Path(tempfile.mkdtemp(prefix="hrm-lcb-"))
    try:
        spec = {"tests": problem.tests, "kind": problem.kind, "func_name": problem.func_name,
                "timeout": timeout}
        (work / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        (work / "solution.py").write_text(code, encoding="utf-8", errors="surrogatepass")
        shutil.copyfile(_HARNESS, work / "_harness.py")
        sandbox.prepare_dir(work)
        # each test can take `timeout`, plus interpreter start-up and fork overhead
        budget = total * (timeout + 0.5) + 10
        python = base_interpreter()  # samples may use only the standard library
        run = sandbox.run([python, "-I", "-S", "_harness.py"], work, sample_env(work),
                          timeout=budget, readable=[Path(sys.base_prefix), Path(python).parent])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if run.timed_out:
        return Grade("time limit", 0, total, "whole sample exceeded its time budget")
    lines = run.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        result = json.loads(lines[-1])
        return Grade(result["verdict"], int(result["passed"]), total, result["detail"])
    except (IndexError, json.JSONDecodeError, KeyError):
        err = run.stderr.decode("utf-8", "replace")[-300:]
        return Grade("runtime error", 0, total, f"grader exited {run.returncode}: {err}")
