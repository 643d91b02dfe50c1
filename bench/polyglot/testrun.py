"""Running an exercise's tests the way Aider's harness does, inside the benchmark sandbox."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..sandbox import Limits, Sandbox
from . import toolchains
from .exercises import Exercise

TEST_TIMEOUT = 180
# Measured on the fixture exercises (reference solutions, 2 cores): address space needed
# python/cpp/rust <= 0.5 GiB, go 1 GiB, node 2 GiB, the JVM 4 GiB (default heap and class
# space); processes (threads count) 32 for go, rustc and the JVM; largest file 7 MB (a rust
# test binary). Limits are about twice that or more; threads grow with cores, hence 512.
LIMITS = Limits(cpu_seconds=600, address_space=8 << 30, file_size=256 << 20, processes=512,
                open_files=4096)


def sandbox_for(isolate: bool = True) -> Sandbox:
    """How every exercise's tests run (see bench/sandbox.py); isolate=False is --no-sandbox."""
    return Sandbox(limits=LIMITS, isolate=isolate)


def restore_tests(ex: Exercise, work: Path) -> None:
    """Pristine test files (undoing any model tampering), then unlock every test."""
    for rel in ex.test:
        dest = _planted_links_removed(work, rel)
        text = (ex.path / rel).read_text(encoding="utf-8")
        if ex.lang == "java":
            text = "".join(line for line in text.splitlines(keepends=True)
                           if not line.strip().startswith("@Disabled"))
        elif ex.lang == "javascript":
            text = text.replace("xtest(", "test(")
        dest.write_text(text, encoding="utf-8")


def _planted_links_removed(work: Path, rel: str) -> Path:
    """work/rel, with any symlink (or other non-directory) a solution planted on the way
    removed first: its tests ran with write access to `work`, and we may be root, so a
    pristine copy must never be written through a link to, say, /etc/passwd."""
    dest = work
    for part in Path(rel).parts[:-1]:
        dest = dest / part
        if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
            dest.unlink()
        dest.mkdir(exist_ok=True)
    dest = dest / Path(rel).name
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.is_dir():
        shutil.rmtree(dest)
    return dest


def clean_output(text: str, work: Path) -> str:
    """Strip timings and absolute paths so the feedback (and the model's prompt) is stable."""
    text = re.sub(r"\bin \d+\.\d+s\b", "", text)
    return text.replace(str(work.resolve()) + "/", "").replace(str(work) + "/", "")


def run_tests(ex: Exercise, work: Path, timeout: int = TEST_TIMEOUT,
              sandbox: Sandbox | None = None) -> tuple[bool, str, bool]:
    """(passed, cleaned merged output, timed_out); each command gets `timeout` seconds.

    The tests run in `sandbox` (default: isolated) with the exercise copy and a sibling home
    dir for the toolchain caches as the only writable places. Raises SandboxError when the
    sandbox itself fails, which is not the solution's fault.
    """
    restore_tests(ex, work)
    sb = sandbox or sandbox_for()
    home = work.parent / f"{work.name}.home"
    home.mkdir(exist_ok=True)
    sb.prepare_dir(work)
    sb.prepare_dir(home)
    env, readable = toolchains.sandbox_env(ex.lang, home)
    outputs = []
    for argv in toolchains.test_commands(ex.lang, work, ex.test):
        run = sb.run(argv, work, env, timeout=timeout, writable=[home], readable=readable,
                     merge_stderr=True)
        if run.timed_out:
            return False, "Tests timed out!", True
        outputs.append(run.stdout.decode("utf-8", "replace"))
        if run.returncode != 0:
            return False, clean_output("".join(outputs), work), False
    return True, clean_output("".join(outputs), work), False
