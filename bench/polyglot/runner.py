"""One exercise through Aider's procedure (or its reference solution), and a whole run."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..sandbox import Sandbox
from . import prompts
from .exercises import Exercise, reference_targets
from .lint import lint_file
from .testrun import TEST_TIMEOUT, run_tests
from .toolchains import setup_copy

RESULTS_NAME = ".aider.results.json"
MAX_REPAIRS = 3
_LAZY = re.compile(r"(//|#|/\*)\s*\.\.\.\s*(rest|existing|remaining|same|other)\b", re.I)


@dataclass
class RunConfig:
    model: str
    edit_format: str = "diff"
    tries: int = 2
    reference: bool = False
    timeout: int = TEST_TIMEOUT
    backend: object | None = None  # hrmcli Backend; None in reference mode
    max_tokens: int = 4096
    sandbox: Sandbox | None = None  # where tests run; None: isolated (testrun.sandbox_for)


@dataclass
class _Counters:
    num_error_outputs: int = 0
    num_malformed_responses: int = 0
    syntax_errors: int = 0
    indentation_errors: int = 0
    lazy_comments: int = 0
    exhausted_context_windows: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    replies: list[str] = field(default_factory=list)


def _copy(ex: Exercise) -> Path:
    # build files (CMakeLists.txt) take the exercise name from the directory name
    work = Path(tempfile.mkdtemp(prefix=f"hrm-polyglot-{ex.lang}-")) / ex.slug
    shutil.copytree(ex.path, work, symlinks=True)
    setup_copy(ex.lang, work)
    return work


def _solution_root(ex: Exercise) -> str:
    common = os.path.commonpath([os.path.dirname(s) or "." for s in ex.solution])
    return "" if common in (".", "") else common


def run_exercise(ex: Exercise, cfg: RunConfig) -> dict:
    """Results dict with Aider's keys; the exercise dir itself is never modified."""
    work = _copy(ex)
    t0 = time.perf_counter()
    c = _Counters()
    outcomes: list[bool] = []
    timeouts = 0
    last_output = ""
    try:
        if cfg.reference:
            for ref, target in reference_targets(ex).items():
                shutil.copyfile(ex.path / ref, work / target)
            passed, last_output, timed_out = run_tests(ex, work, cfg.timeout, cfg.sandbox)
            outcomes.append(passed)
            timeouts += timed_out
        else:
            outcomes, timeouts, last_output = _model_tries(ex, cfg, work, c)
    finally:
        shutil.rmtree(work.parent, ignore_errors=True)
    return {
        "testdir": str(ex.path), "testcase": ex.slug, "language": ex.lang,
        "model": cfg.model, "edit_format": "reference" if cfg.reference else cfg.edit_format,
        "tests_outcomes": outcomes, "cost": 0.0,
        "duration": c.model_seconds, "wall_seconds": time.perf_counter() - t0,
        "test_timeouts": timeouts, "num_error_outputs": c.num_error_outputs,
        "num_user_asks": 0, "num_exhausted_context_windows": c.exhausted_context_windows,
        "num_malformed_responses": c.num_malformed_responses,
        "syntax_errors": c.syntax_errors, "indentation_errors": c.indentation_errors,
        "lazy_comments": c.lazy_comments, "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens, "test_output_tail": last_output[-2000:],
    }


def _model_tries(ex: Exercise, cfg: RunConfig, work: Path,
                 c: _Counters) -> tuple[list[bool], int, str]:
    from hrmcli.agent.prompts import CHAT_STYLE, edit_messages

    root_rel = _solution_root(ex)
    root = work / root_rel if root_rel else work
    visible = [os.path.relpath(s, root_rel or ".") for s in ex.solution]
    files = [(v, (root / v).read_text(encoding="utf-8", errors="replace")) for v in visible]
    style = getattr(cfg.backend, "prompt_style", CHAT_STYLE)
    task = prompts.first_message(ex.instructions(), ex.solution)
    messages = edit_messages(files, task, style=style, edit_format=cfg.edit_format)
    outcomes, timeouts, output = [], 0, ""
    for attempt in range(cfg.tries):
        if attempt > 0:
            from hrmcli.agent.backends.base import Message

            messages.append(Message("user", prompts.test_failure_message(output, ex.solution)))
        _edit_round(messages, cfg, root, visible, c, style)
        if c.exhausted_context_windows:
            outcomes.append(False)
            break
        passed, output, timed_out = run_tests(ex, work, cfg.timeout, cfg.sandbox)
        timeouts += timed_out
        outcomes.append(passed)
        if passed:
            break
    return outcomes, timeouts, output


def _edit_round(messages: list, cfg: RunConfig, root: Path, visible: list[str],
                c: _Counters, style: str) -> bool:
    """One try's model call plus up to 3 repairs; True when an edit applied and linted clean."""
    from hrmcli.agent.backends.base import GenerationOptions, Message, complete
    from hrmcli.agent.prompts import repair_messages

    opts = GenerationOptions(max_tokens=cfg.max_tokens, temperature=0.0)
    for _ in range(1 + MAX_REPAIRS):
        try:
            comp = complete(cfg.backend, messages, opts)
        except Exception as e:  # a backend failure is counted like Aider's error outputs
            c.num_error_outputs += 1
            c.replies.append(f"<error: {e}>")
            return False
        c.prompt_tokens += comp.prompt_tokens
        c.completion_tokens += comp.completion_tokens
        c.model_seconds += comp.seconds
        c.lazy_comments += len(_LAZY.findall(comp.text))
        if comp.finish_reason == "context":
            c.exhausted_context_windows += 1
            return False
        problem = _apply(comp.text, cfg.edit_format, root, visible)
        if problem:
            c.num_malformed_responses += 1
            messages.extend(repair_messages(comp.text, problem, style))
            continue
        messages.append(Message("assistant", comp.text))
        report = "\n".join(r for r in (lint_file(root / v, v) for v in visible) if r)
        if report:
            c.syntax_errors += 1
            c.indentation_errors += "IndentationError" in report
            messages.append(Message("user", prompts.lint_message(report)))
            continue
        return True
    return False


def _apply(text: str, edit_format: str, root: Path, visible: list[str]) -> str:
    """'' when applied, else the failure report for the model."""
    from hrmcli.agent.apply import apply_edits, apply_whole_files

    if edit_format == "whole":
        from hrmcli.agent.wholefile import MalformedWholeFile, parse_whole_files

        try:
            blocks = parse_whole_files(text)
        except MalformedWholeFile as e:
            return str(e)
        outside = [b.path for b in blocks if b.path not in visible]
        if not blocks or outside:
            return _outside_report(outside, visible)
        result = apply_whole_files(blocks, root)
    else:
        from hrmcli.agent.editblocks import parse_edits

        parsed = parse_edits(text)
        if parsed.errors:
            return "\n".join(str(e) for e in parsed.errors)
        outside = [b.path for b in parsed.blocks if b.path not in visible]
        if not parsed.blocks or outside:
            return _outside_report(outside, visible)
        result = apply_edits(parsed.blocks, root)
    return "\n".join(str(f) for f in result.failed)


def _outside_report(outside: list[str], visible: list[str]) -> str:
    if outside:
        return f"Only these files may be edited: {', '.join(visible)}; not {', '.join(outside)}."
    return f"No edits found. Reply with edits to {', '.join(visible)} in the required format."


def results_path(run_dir: Path, ex: Exercise) -> Path:
    return run_dir / ex.lang / ex.slug / RESULTS_NAME


def load_result(run_dir: Path, ex: Exercise) -> dict | None:
    """A finished result, or None (missing or unreadable: the exercise is run again)."""
    try:
        return json.loads(results_path(run_dir, ex).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_all(exercises: list[Exercise], cfg: RunConfig, run_dir: Path, threads: int = 1,
            on_done: Callable[[Exercise, dict], None] | None = None) -> list[dict]:
    """Skips exercises that already have results (resume); writes each result as it finishes."""
    def one(ex: Exercise) -> dict:
        res = load_result(run_dir, ex)
        if res is None:
            res = run_exercise(ex, cfg)
            out = results_path(run_dir, ex)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(res, indent=2), encoding="utf-8")
            tmp.replace(out)
        if on_done:
            on_done(ex, res)
        return res

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        try:
            return list(pool.map(one, exercises))
        except BaseException:  # e.g. SandboxError: stop now, not after every other exercise
            pool.shutdown(wait=True, cancel_futures=True)
            raise
