"""Sampling (model or file), parallel sandboxed grading, and the pass@k summary."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from ..sandbox import Sandbox
from .extract import extract_code
from .grader import TEST_TIMEOUT, Grade, grade, sandbox_for
from .passk import mean_pass_at_k, pass_at_k, reportable_ks
from .records import Problem, RecordError, read_jsonl


@dataclass
class ProblemResult:
    question_id: str
    difficulty: str
    platform: str
    contest_date: str
    grades: list[Grade]

    @property
    def n(self) -> int:
        return len(self.grades)

    @property
    def c(self) -> int:
        return sum(g.correct for g in self.grades)

    def to_json(self, ks: list[int]) -> dict:
        return {"question_id": self.question_id, "difficulty": self.difficulty,
                "platform": self.platform, "contest_date": self.contest_date,
                "n": self.n, "correct": self.c,
                **{f"pass@{k}": pass_at_k(self.n, self.c, k) for k in ks if k <= self.n},
                "graded_list": [g.correct for g in self.grades],
                "verdicts": [asdict(g) for g in self.grades]}


def load_samples(path: Path) -> dict[str, list[str]]:
    """The official custom-output layout: {"question_id": ..., "code_list": [...]} per line."""
    out: dict[str, list[str]] = {}
    for qid, codes in read_jsonl(path, _sample_line):
        out.setdefault(qid, []).extend(codes)
    return out


def _sample_line(obj) -> tuple[str, list[str]]:
    try:
        codes = obj["code_list"]
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise TypeError("code_list must be a list of strings")
        return str(obj["question_id"]), codes
    except (KeyError, TypeError) as e:
        raise RecordError(str(e)) from e


def generate_samples(problems: list[Problem], backend, n: int, temperature: float = 0.2,
                     max_tokens: int = 2048,
                     on_sample: Callable[[], None] | None = None) -> dict[str, list[str]]:
    """n replies per problem, each reduced to its last fenced block."""
    from hrmcli.agent.backends.base import GenerationOptions, complete

    from .prompts import messages_for

    out: dict[str, list[str]] = {}
    for p in problems:
        msgs = messages_for(p)
        for i in range(n):
            opts = GenerationOptions(max_tokens=max_tokens, temperature=temperature, seed=i)
            reply = complete(backend, msgs, opts).text
            out.setdefault(p.question_id, []).append(extract_code(reply))
            if on_sample:
                on_sample()
    return out


def evaluate(problems: list[Problem], samples: dict[str, list[str]], workers: int = 2,
             timeout: float = TEST_TIMEOUT, on_graded: Callable[[], None] | None = None,
             sandbox: Sandbox | None = None) -> list[ProblemResult]:
    """Grade every sample, `workers` at once, each in its own run of `sandbox` (default:
    isolated; a run never falls back to less isolation, it raises SandboxError instead)."""
    sb = sandbox or sandbox_for(timeout)

    def one(job: tuple[Problem, str]) -> Grade:
        try:
            return grade(job[0], job[1], sb, timeout)
        finally:
            if on_graded:
                on_graded()

    jobs = [(p, code) for p in problems for code in samples.get(p.question_id, [])]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            grades = list(pool.map(one, jobs))
        except BaseException:  # e.g. SandboxError: stop now, not after every other sample
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    results, it = [], iter(grades)
    for p in problems:
        gs = [next(it) for _ in samples.get(p.question_id, [])]
        results.append(ProblemResult(p.question_id, p.difficulty, p.platform,
                                     p.contest_date.isoformat(), gs))
    return results


def summarize(results: list[ProblemResult], ks: list[int]) -> dict:
    """Percentages; pass@k only for the k every problem has enough samples for."""
    usable = reportable_ks(ks, [r.n for r in results])
    summary: dict = {f"pass@{k}": mean_pass_at_k([(r.n, r.c) for r in results], k) for k in usable}
    summary["problems"] = len(results)
    summary["skipped_k"] = [k for k in ks if k not in usable]
    per: dict = {}
    for diff in sorted({r.difficulty for r in results}):
        sub = [(r.n, r.c) for r in results if r.difficulty == diff]
        per[diff] = {"problems": len(sub), **{f"pass@{k}": mean_pass_at_k(sub, k) for k in usable}}
    summary["per_difficulty"] = per
    return summary
