"""Running an exercise's tests the way Aider's harness does, inside resource limits."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
from pathlib import Path

from . import toolchains
from .exercises import Exercise

TEST_TIMEOUT = 180
# generous: JVMs and node reserve large address ranges up front
_LIMITS = {resource.RLIMIT_CPU: 600, resource.RLIMIT_AS: 32 << 30,
           resource.RLIMIT_FSIZE: 1 << 30, resource.RLIMIT_NPROC: 4096, resource.RLIMIT_CORE: 0}


def _limit() -> None:
    # RLIMIT_NPROC is not enforced for root; the 180 s wall clock still bounds a runaway build
    for res, value in _LIMITS.items():
        resource.setrlimit(res, (value, value))


def restore_tests(ex: Exercise, work: Path) -> None:
    """Pristine test files (undoing any model tampering), then unlock every test."""
    for rel in ex.test:
        dest = work / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ex.path / rel, dest)
        text = dest.read_text(encoding="utf-8")
        if ex.lang == "java":
            text = "".join(line for line in text.splitlines(keepends=True)
                           if not line.strip().startswith("@Disabled"))
        elif ex.lang == "javascript":
            text = text.replace("xtest(", "test(")
        dest.write_text(text, encoding="utf-8")


def clean_output(text: str, work: Path) -> str:
    """Strip timings and absolute paths so the feedback (and the model's prompt) is stable."""
    text = re.sub(r"\bin \d+\.\d+s\b", "", text)
    return text.replace(str(work.resolve()) + "/", "").replace(str(work) + "/", "")


def run_tests(ex: Exercise, work: Path, timeout: int = TEST_TIMEOUT) -> tuple[bool, str, bool]:
    """(passed, cleaned merged output, timed_out)."""
    restore_tests(ex, work)
    env = {**os.environ, "CI": "true", "NO_COLOR": "1", "FORCE_COLOR": "0"}
    outputs = []
    for argv in toolchains.test_commands(ex.lang, work, ex.test):
        proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True,
                                preexec_fn=_limit)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return False, "Tests timed out!", True
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        outputs.append(out.decode("utf-8", "replace"))
        if proc.returncode != 0:
            return False, clean_output("".join(outputs), work), False
    return True, clean_output("".join(outputs), work), False
