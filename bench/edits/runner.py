"""Running the edit suite: each task in a fresh temporary git repo, edited the way
`hrm edit FILE "TASK" --yes` edits (EditCoder with the same prompts, repairs, constrained
decoding and context handling, then the same apply-and-commit), then checked by running
code.

Edits run one at a time in the calling thread, so `seconds` is the time one `hrm edit`
takes (in-process backends serialise generations anyway, and a task waiting for another
task's generation would otherwise be timed too). Checks, which are compile-and-test runs,
go to a pool of `threads` workers and overlap with the next edits.
"""

from __future__ import annotations

import difflib
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .suite import (
    CHECK_TIMEOUT,
    LANGUAGES,
    EditTask,
    load_tasks,
    run_check,
    toolchain,
)

OUTPUT_TAIL = 1500


@dataclass
class TaskResult:
    """One task's outcome. `seconds` is the edit (model) time, `check_seconds` the check's."""

    id: str
    lang: str
    kind: str
    applied: bool = False
    solved: bool = False
    skipped: bool = False
    seconds: float = 0.0
    check_seconds: float = 0.0
    seconds_runs: list[float] = field(default_factory=list)  # each edit's time with --repeat
    attempts: int = 0
    tokens: int = 0
    error: str | None = None
    commit: str | None = None  # the hrm edit commit in the task's repo, as hrm edit makes
    diff: str = ""
    output: str = ""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        d["check_seconds"] = round(self.check_seconds, 3)
        return d


@dataclass
class Workspace:
    """A task's temporary folder: `repo` (a git repo holding before/) and `build`."""

    tmp: Path
    repo: Path = field(init=False)
    build: Path = field(init=False)

    def __post_init__(self) -> None:
        self.repo = self.tmp / "repo"
        self.build = self.tmp / "build"

    def remove(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def make_workspace(task: EditTask) -> Workspace:
    """A fresh git repo with the task's before/ committed, as a user's project would be."""
    from hrmcli.tools.git import GitRepo

    ws = Workspace(Path(tempfile.mkdtemp(prefix=f"hrm-edits-{task.id}-")))
    try:
        ws.repo.mkdir()
        for rel, data in task.before_files().items():
            dest = ws.repo / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        repo = GitRepo.init(ws.repo)
        repo.add(["."])
        repo.commit(f"{task.id}: the project before the edit")
    except BaseException:  # Ctrl-C or a git failure half-way: leave nothing behind
        ws.remove()
        raise
    return ws


# ------------------------------------------------------------------ the edit


@dataclass(frozen=True)
class EditSettings:
    """The `hrm edit` options the suite runs with (its defaults are hrm edit's)."""

    edit_format: str = "diff"
    constrain: bool = True
    max_tokens: int = 1024
    temperature: float = 0.0


def edit_like_hrm_edit(backend: Any, task: EditTask, repo_root: Path,
                       settings: EditSettings) -> TaskResult:
    """What `hrm edit FILE "REQUEST" --yes` does in the task's repo, step for step (see
    hrmcli/commands/edit.py): EditCoder proposes with hrm edit's prompts, constrained
    decoding, repairs and context handling, then the one edit transaction writes it (pending
    changes saved, all or nothing, committed as an hrm edit)."""
    from hrmcli.agent.backends import BackendError
    from hrmcli.agent.backends.base import GenerationOptions
    from hrmcli.agent.coder import CoderError, EditCoder
    from hrmcli.agent.transaction import EditTransaction
    from hrmcli.tools.git import GitError

    res = TaskResult(task.id, task.lang, task.kind)
    coder = EditCoder(backend, repo_root, edit_format=settings.edit_format,
                      constrain=settings.constrain,
                      options=GenerationOptions(max_tokens=settings.max_tokens,
                                                temperature=settings.temperature))
    t0 = time.perf_counter()
    try:
        outcome = coder.propose([task.file], task.request)
    except (CoderError, BackendError) as e:
        res.seconds = time.perf_counter() - t0
        res.error = f"{type(e).__name__}: {e}"
        return res
    res.seconds, res.attempts, res.tokens = outcome.seconds, outcome.attempts, outcome.tokens
    if not outcome.well_formed:
        res.error = "edits did not apply: " + "; ".join(outcome.errors)[:OUTPUT_TAIL]
        return res
    if not outcome.diff:
        res.error = "the model's edits change nothing"
        return res
    tx = EditTransaction(repo_root, f"edit {task.file}: {task.request[:60]}")
    try:
        done = tx.apply(outcome.edits, settings.edit_format)
    except GitError as e:
        res.error = f"git: {e}"
        return res
    if not done.ok:
        res.error = "edits no longer apply: " + "; ".join(done.errors)
        return res
    res.applied, res.diff, res.commit = True, done.diff, done.commit
    if done.commit_error:  # hrm edit warns and keeps the edit; so does the suite
        res.error = f"written but not committed: {done.commit_error}"
    return res


def apply_reference(task: EditTask, repo_root: Path) -> TaskResult:
    """Copy the reference solution over the project (`--reference`: checks the suite and
    the toolchains, no model)."""
    res = TaskResult(task.id, task.lang, task.kind)
    before = (repo_root / task.file).read_text(encoding="utf-8")
    for rel, data in task.after_files().items():
        (repo_root / rel).write_bytes(data)
    after = (repo_root / task.file).read_text(encoding="utf-8")
    res.applied = True
    res.diff = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                            f"a/{task.file}", f"b/{task.file}"))
    return res


def reference_blocks(task: EditTask, context: int = 2) -> str:
    """The reference solution as SEARCH/REPLACE blocks, the way a model should answer.

    One block per changed region with `context` unchanged lines around it, widened until
    its SEARCH text occurs once in the file as the earlier blocks leave it (only the first
    match is replaced). A region that never becomes unique falls back to one whole-file
    block. Scripted-server tests reply with these."""
    before = (task.before / task.file).read_text(encoding="utf-8")
    after = (task.after / task.file).read_text(encoding="utf-8")
    a, b = before.splitlines(True), after.splitlines(True)
    blocks: list[tuple[str, str]] = []
    current = before
    groups = difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context)
    for group in groups:
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        while True:
            search, replace = "".join(a[i1:i2]), "".join(b[j1:j2])
            if search and current.count(search) == 1:
                break
            if i1 == 0 and i2 == len(a):
                return _blocks_text(task.file, [(before, after)])
            # widen by one unchanged line each side (a wrong widening is caught below)
            if i1 > 0:
                i1, j1 = i1 - 1, j1 - 1
            if i2 < len(a):
                i2, j2 = i2 + 1, j2 + 1
        current = current.replace(search, replace, 1)
        blocks.append((search, replace))
    if current != after:
        return _blocks_text(task.file, [(before, after)])
    return _blocks_text(task.file, blocks)


def _blocks_text(path: str, blocks: list[tuple[str, str]]) -> str:
    parts = []
    for search, replace in blocks:
        parts.append(f"{path}\n```\n<<<<<<< SEARCH\n{search}=======\n{replace}"
                     ">>>>>>> REPLACE\n```\n")
    return "\n".join(parts)


def verify_task(task: EditTask, timeout: float = CHECK_TIMEOUT) -> tuple[bool, bool, str]:
    """(check failed on before/, check passed with after/, the outputs): the two properties
    every task must have."""
    ws = make_workspace(task)
    try:
        before = run_check(task, ws.repo, ws.build, timeout)
        apply_reference(task, ws.repo)
        after = run_check(task, ws.repo, ws.build, timeout)
    finally:
        ws.remove()
    return (not before.passed, after.passed,
            f"--- before ---\n{before.output[-OUTPUT_TAIL:]}\n--- after ---\n"
            f"{after.output[-OUTPUT_TAIL:]}")


# ------------------------------------------------------------------ a whole run


def _check(task: EditTask, ws: Workspace, res: TaskResult, timeout: float) -> TaskResult:
    try:
        chk = run_check(task, ws.repo, ws.build, timeout)
    except Exception as e:  # a broken check must not lose the whole run
        res.error = f"internal error in the check: {type(e).__name__}: {e}"
        return res
    finally:
        ws.remove()
    res.solved, res.check_seconds = chk.passed, chk.seconds
    res.output = chk.output[-OUTPUT_TAIL:]
    if not chk.passed and res.error is None:
        lines = [x for x in chk.output.strip().splitlines() if x.strip()]
        res.error = "check failed" + (f": {lines[-1][:200]}" if lines else "")
    return res


def _resolve_tasks(tasks: Sequence[EditTask | str] | None, langs: Sequence[str] | None,
                   kinds: Sequence[str] | None, limit: int | None) -> list[EditTask]:
    if tasks is None:
        return load_tasks(langs=langs, kinds=kinds, limit=limit)
    ids = [t for t in tasks if isinstance(t, str)]
    given = [t for t in tasks if not isinstance(t, str)]
    found = load_tasks(ids=ids) if ids else []
    chosen = [t for t in [*given, *found]
              if (not langs or t.lang in langs) and (not kinds or t.kind in kinds)]
    return chosen[:limit] if limit is not None else chosen


def variant_name(reference: bool, langs: Sequence[str] | None, kinds: Sequence[str] | None,
                 limit: int | None, ids: Sequence[str] | None, settings: EditSettings) -> str:
    """Which selection and settings a run used; regressions compare like with like."""
    parts = ["reference"] if reference else []
    if langs:
        parts.append("lang=" + ",".join(sorted(langs)))
    if kinds:
        parts.append("kind=" + ",".join(sorted(kinds)))
    if ids:
        parts.append(f"tasks={len(ids)}")
    if limit is not None:
        parts.append(f"limit={limit}")
    if not reference:
        if settings.edit_format != "diff":
            parts.append(f"format={settings.edit_format}")
        if not settings.constrain:
            parts.append("unconstrained")
        if settings.temperature:
            parts.append(f"t={settings.temperature:g}")
    return " ".join(parts) or "all"


def run_suite(model_spec: str = "", tasks: Sequence[EditTask | str] | None = None, *,
              reference: bool = False, langs: Sequence[str] | None = None,
              kinds: Sequence[str] | None = None, limit: int | None = None, threads: int = 2,
              settings: EditSettings | None = None, backend: Any = None,
              timeout: float = CHECK_TIMEOUT, record: bool = False, variant: str | None = None,
              repeat: int = 1, on_start: Callable[[EditTask], None] | None = None,
              on_result: Callable[[TaskResult], None] | None = None) -> dict[str, Any]:
    """Run the edit suite and return the summary `hrm bench edits --json` prints.

    model_spec is what `hrm edit --model` takes ("" for the default model); `tasks` is a
    list of EditTask or task ids (default: every bundled task), further narrowed by langs,
    kinds and limit. `backend` reuses an already loaded backend; `reference=True` applies
    the reference solutions instead of a model. `record=True` stores the summary in the
    history database (`hrm bench report` shows it); `variant` names the selection there
    (default: derived from the arguments), since regressions compare runs of one variant.
    `repeat` edits each task that many times (each in a fresh repo) and takes the median
    edit time as its `seconds`; the outcome checked is the first edit's. Raises BackendError
    when the model cannot be loaded and SuiteError for an unknown task, language or kind."""
    from hrmcli.agent.bench_history import hrm_version, model_identity, record_bench_run

    settings = settings or EditSettings()
    # The version of the code that runs: taken at the start, since a long run may outlive
    # commits made meanwhile.
    version = hrm_version()
    chosen = _resolve_tasks(tasks, langs, kinds, limit)
    if reference:
        name, sha = "reference", ""
    else:
        name, sha = model_identity(model_spec)
        if backend is None:
            from hrmcli.agent.backends import load_backend

            backend = load_backend(model_spec)
    ids = [t for t in tasks or [] if isinstance(t, str)] or (
        [t.id for t in tasks or []] if tasks is not None else None)
    t_start = time.perf_counter()
    results: dict[str, TaskResult] = {}
    lock = threading.Lock()

    def finished(res: TaskResult) -> TaskResult:
        with lock:
            results[res.id] = res
        if on_result:
            on_result(res)
        return res

    futures: list[Future] = []
    spaces: list[Workspace] = []
    pool = ThreadPoolExecutor(max_workers=max(1, threads))
    try:
        for task in chosen:
            tc = toolchain(task.lang)
            if not tc.ok:
                finished(TaskResult(task.id, task.lang, task.kind, skipped=True,
                                    error=f"skipped: {tc.reason} (install: {tc.fix})"))
                continue
            if on_start:
                on_start(task)
            ws = make_workspace(task)
            spaces.append(ws)
            try:
                if reference:
                    res = apply_reference(task, ws.repo)
                else:
                    res = edit_like_hrm_edit(backend, task, ws.repo, settings)
                    if repeat > 1:
                        res.seconds_runs = [res.seconds,
                                            *_edit_times(backend, task, settings, repeat - 1)]
                        res.seconds = statistics.median(res.seconds_runs)
            except Exception as e:  # one broken task must not lose the whole run
                res = TaskResult(task.id, task.lang, task.kind,
                                 error=f"internal error: {type(e).__name__}: {e}")
            if not res.applied:
                ws.remove()
                finished(res)
                continue
            futures.append(pool.submit(
                lambda t=task, w=ws, r=res: finished(_check(t, w, r, timeout))))
        for fut in futures:
            fut.result()
    finally:
        # On Ctrl-C: drop the checks not started yet, wait for the running ones (each is
        # bounded by `timeout`), and leave no temporary repo behind.
        pool.shutdown(wait=True, cancel_futures=True)
        for ws in spaces:
            ws.remove()
    ordered = [results[t.id] for t in chosen]
    summary = summarize(ordered, model=name, model_sha=sha,
                        wall_seconds=time.perf_counter() - t_start)
    summary.update(
        reference=reference, hrm_version=version,
        variant=variant or variant_name(reference, langs, kinds, limit, ids, settings),
        settings=asdict(settings), repeat=1 if reference else repeat,
        skipped_languages={r.lang: r.error for r in ordered if r.skipped},
    )
    if record:
        summary["history_id"] = record_bench_run("edits", summary)
    return summary


def _edit_times(backend: Any, task: EditTask, settings: EditSettings, n: int) -> list[float]:
    """Edit seconds of n more runs of one task, each in its own fresh repo (--repeat)."""
    times = []
    for _ in range(n):
        ws = make_workspace(task)
        try:
            times.append(edit_like_hrm_edit(backend, task, ws.repo, settings).seconds)
        finally:
            ws.remove()
    return times


def _counts(rs: list[TaskResult]) -> dict[str, Any]:
    run = [r for r in rs if not r.skipped]
    secs = [r.seconds for r in run]
    return {"total": len(run), "applied": sum(r.applied for r in run),
            "solved": sum(r.solved for r in run), "skipped": len(rs) - len(run),
            "solved_rate": round(sum(r.solved for r in run) / len(run), 4) if run else 0.0,
            "seconds_per_task": round(statistics.fmean(secs), 3) if secs else 0.0}


def summarize(results: list[TaskResult], model: str, model_sha: str = "",
              wall_seconds: float = 0.0) -> dict[str, Any]:
    """Counts overall, per language and per kind; `total` counts the tasks that ran
    (tasks whose toolchain is missing are `skipped`, not failed)."""
    langs = [lang for lang in LANGUAGES if any(r.lang == lang for r in results)]
    kinds = sorted({r.kind for r in results})
    return {
        "suite": "edits", "model": model, "model_sha": model_sha, **_counts(results),
        "applied_rate": round(sum(r.applied for r in results if not r.skipped)
                              / max(1, sum(not r.skipped for r in results)), 4),
        "check_seconds": round(sum(r.check_seconds for r in results), 3),
        "wall_seconds": round(wall_seconds, 3),
        "per_language": {lang: _counts([r for r in results if r.lang == lang]) for lang in langs},
        "per_kind": {k: _counts([r for r in results if r.kind == k]) for k in kinds},
        "tasks": [r.to_json() for r in results],
    }
