"""Repair trajectories: a bug is injected into a project that has tests, a first edit
"fixes" the wrong line, the real test run fails, and the second edit repairs the code.

Nothing in the observation is made up: every test output comes from running the
project's own test command on the file as it stands after the first edit. The halt label
is 0 after the first edit (tests still fail) and 1 after the second (tests pass), which
is what the halt head learns to predict.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hrmcli import prompt_format as pf
from hrmcli.tools.testrun import TestCommand, run_command

from .edit_tasks import Unrepresentable, _mutations, blocks_for
from .phrasing import expand
from .treesitter import detect_language, load

MAX_OBS_CHARS = 2000
TEST_TIMEOUT = 120
REQUESTS = (
    "[The tests fail|Tests are failing|`{cmd}` fails]; [fix the bug in|repair] {path}.",
    "[Something in|A recent change to] {path} broke the tests. [Fix it|Please fix it].",
    "[Make|Get] `{cmd}` [pass|green] again by fixing {path}.",
)


@dataclass(frozen=True)
class Project:
    root: Path
    test_cmd: tuple[str, ...]
    kind: str = "pytest"  # hrmcli.tools.testrun's name for the runner: how its output is read

    @property
    def shown_cmd(self) -> str:
        return " ".join("python" if a == sys.executable else a for a in self.test_cmd)


def detect_project(root: Path) -> Project | None:
    """A project we know how to test: node's runner for package.json, else pytest."""
    if (root / "package.json").is_file() and shutil.which("node"):
        return Project(root, ("node", "--test"), "node-test")
    if any(root.glob("test_*.py")) or any(root.glob("tests/test_*.py")):
        return Project(root, (sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"))
    return None


def _is_test_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.startswith("test_") or ".test." in name or name.endswith("_test.py") \
        or rel.startswith("tests/") or rel.startswith("test/")


def observe_tests(project: Project, work: Path) -> tuple[bool, str]:
    """Run the test command in `work` through the agent's own test runner
    (hrmcli.tools.testrun), so an observation in the data is what `run_tests` shows the
    agent; returns (passed, output with the temp path hidden)."""
    res = run_command(TestCommand(project.kind, list(project.test_cmd), work), TEST_TIMEOUT)
    if res.timed_out:
        return False, f"$ {project.shown_cmd}\n(timed out after {TEST_TIMEOUT} s)"
    out = res.output.replace(str(work) + "/", "").replace(str(work), ".")
    if len(out) > MAX_OBS_CHARS:
        out = "...\n" + out[-MAX_OBS_CHARS:]
    return res.passed, f"$ {project.shown_cmd}\n{out.rstrip()}"


def repair_records(project: Project, seed: int, per_file: int = 3) -> Iterator[dict]:
    """Multi-turn repair records for every source file of `project` (tests must pass first)."""
    with tempfile.TemporaryDirectory(prefix="hrm-repair-") as tmp:
        work = Path(tmp) / "p"
        shutil.copytree(project.root, work, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
        ok, out = observe_tests(project, work)
        if not ok:
            raise ValueError(f"tests of {project.root} fail before any bug is injected:\n{out}")
        for src_path in sorted(work.rglob("*")):
            rel = src_path.relative_to(work).as_posix()
            lang = detect_language(rel)
            if lang is None or _is_test_file(rel) or not src_path.is_file():
                continue
            original = src_path.read_text()
            yield from _file_records(project, work, rel, lang, original, seed, per_file)
            src_path.write_text(original)


def _file_records(project: Project, work: Path, rel: str, lang: str, original: str, seed: int,
                  per_file: int) -> Iterator[dict]:
    src = load(original, lang, rel)
    rng = random.Random(f"repair:{seed}:{rel}")
    muts = list(_mutations(src))
    rng.shuffle(muts)
    target = work / rel
    made = 0
    for i, (kind, _fn, s, e, new) in enumerate(muts):
        if made >= per_file:
            break
        buggy = src.replace_spans([(s, e, new)])
        target.write_text(buggy)
        if observe_tests(project, work)[0]:
            continue  # the tests do not notice this mutation
        # The wrong first attempt changes another site that the tests also cover.
        decoys = [m for m in muts[i + 1:] if m[3] <= s or m[2] >= e]
        if not decoys:
            continue
        _, _, ds, de, dnew = decoys[0]
        attempt = src.replace_spans([(s, e, new), (ds, de, dnew)])
        target.write_text(attempt)
        passed, obs = observe_tests(project, work)
        if passed:
            continue
        try:
            first = blocks_for(rel, buggy, attempt)
            second = blocks_for(rel, attempt, original)
        except Unrepresentable:
            continue
        request = expand(rng.choice(REQUESTS), rng).format(cmd=project.shown_cmd, path=rel)
        opening = pf.edit_prompt([(rel, buggy)], request)
        turn1 = first + pf.EOS
        between = pf.obs_block(obs) + pf.ASSISTANT
        turn2 = second + pf.EOS
        made += 1
        yield {
            "prompt": opening + turn1 + between,
            "answer": turn2,
            "kind": "repair",
            "task": kind,
            "lang": lang,
            "difficulty": 4,
            "halt": 1,
            "path": rel,
            "target": original,
            "attempt": attempt,
            "turns": [{"context": opening, "text": turn1, "halt": 0},
                      {"context": between, "text": turn2, "halt": 1}],
        }
    target.write_text(original)
