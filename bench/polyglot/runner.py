"""One exercise through Aider's procedure (or its reference solution), and a whole run.

The model's edits go through hrm edit's own coder (EditCoder), so the score is the score of
the edit path users run; the exercise tests run in the benchmark sandbox (testrun)."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
    constrain: bool = True  # constrained SEARCH decoding, as hrm edit (--no-constrain)
    repeat: int = 1  # runs per exercise; `duration` is their median, the rest is run 1's
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
    """Aider's tries, each edit made by hrm edit's own coder (hrmcli.agent.coder.EditCoder:
    its prompts, constrained decoding, repairs and context handling), with the chat history
    kept between requests as Aider keeps it."""
    from hrmcli.agent.backends.base import GenerationOptions, Message
    from hrmcli.agent.coder import EditCoder

    root_rel = _solution_root(ex)
    root = work / root_rel if root_rel else work
    visible = [os.path.relpath(s, root_rel or ".") for s in ex.solution]
    history: list[Message] = []
    coder = EditCoder(cfg.backend, root, edit_format=cfg.edit_format, constrain=cfg.constrain,
                      options=GenerationOptions(max_tokens=cfg.max_tokens, temperature=0.0),
                      history=history, check_syntax=False)  # Aider's procedure: apply, then lint
    request = prompts.first_message(ex.instructions(), ex.solution)
    outcomes, timeouts, output = [], 0, ""
    for attempt in range(cfg.tries):
        if attempt > 0:
            request = prompts.test_failure_message(output, ex.solution)
        _edit_round(coder, request, visible, c)
        if c.exhausted_context_windows:
            outcomes.append(False)
            break
        passed, output, timed_out = run_tests(ex, work, cfg.timeout, cfg.sandbox)
        timeouts += timed_out
        outcomes.append(passed)
        if passed:
            break
    return outcomes, timeouts, output


def _edit_round(coder, request: str, visible: list[str], c: _Counters) -> bool:
    """One try: the request plus at most MAX_REPAIRS extra model calls, spent by the coder
    on replies that do not parse or apply and here on lint errors after an edit applied.
    True when an edit applied and linted clean."""
    from hrmcli.agent.backends import BackendError, ContextExceeded
    from hrmcli.agent.coder import CoderError

    calls = 1 + MAX_REPAIRS
    while calls > 0:
        coder.max_repairs = calls - 1
        try:
            outcome = coder.propose(visible, request)
        except ContextExceeded:
            c.exhausted_context_windows += 1
            return False
        except (BackendError, CoderError):  # counted like Aider's error outputs
            c.num_error_outputs += 1
            return False
        calls -= outcome.attempts
        c.prompt_tokens += outcome.prompt_tokens
        c.completion_tokens += outcome.tokens
        c.model_seconds += outcome.seconds
        c.lazy_comments += len(_LAZY.findall(outcome.reply))
        # every reply before the last was repaired; the last too when it never applied
        c.num_malformed_responses += outcome.attempts - (1 if outcome.well_formed else 0)
        if not outcome.well_formed:
            return False
        if not coder.apply_proposal(outcome).applied:
            c.num_malformed_responses += 1
            return False
        report = "\n".join(r for r in (lint_file(coder.root / v, v) for v in visible) if r)
        if not report:
            return True
        c.syntax_errors += 1
        c.indentation_errors += "IndentationError" in report
        request = prompts.lint_message(report)
    return False


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
            if cfg.repeat > 1 and not cfg.reference:
                runs = [res["duration"]] + [run_exercise(ex, cfg)["duration"]
                                            for _ in range(cfg.repeat - 1)]
                res.update(duration=statistics.median(runs), durations=runs)
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
