"""LiveCodeBench code-generation records: loading, private-test decoding, date filtering."""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class RecordError(ValueError):
    """A problem file or record that cannot be used; the message says which and why."""


@dataclass
class Problem:
    question_id: str
    question_title: str
    question_content: str
    platform: str
    contest_date: datetime
    starter_code: str
    difficulty: str
    tests: list[dict]  # public first, then private: {"input", "output", "testtype"}
    func_name: str | None

    @property
    def kind(self) -> str:
        """'functional' (LeetCode-style Solution method) or 'stdin'."""
        return "functional" if self.tests and self.tests[0]["testtype"] == "functional" else "stdin"


class _NoGlobalsUnpickler(pickle.Unpickler):
    """The private tests are a pickled JSON string; anything that needs a global is an attack."""

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's signature
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")


def decode_tests(field: str) -> list[dict]:
    """Plain JSON, or base64 -> zlib -> pickle (restricted) -> JSON string."""
    field = field.strip()
    if field.startswith("["):
        return json.loads(field)
    raw = zlib.decompress(base64.b64decode(field, validate=True))
    value = _NoGlobalsUnpickler(io.BytesIO(raw)).load()
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise RecordError(f"private tests decode to {type(value).__name__}, expected a JSON string")
    return json.loads(value)


def parse_record(obj: dict) -> Problem:
    try:
        tests = decode_tests(obj["public_test_cases"]) + decode_tests(obj["private_test_cases"])
        meta = json.loads(obj.get("metadata") or "{}")
        date = datetime.fromisoformat(obj["contest_date"])
        for t in tests:
            if t.get("testtype") not in ("stdin", "functional") or "input" not in t or "output" not in t:
                raise RecordError(f"bad test case {str(t)[:80]}")
        return Problem(str(obj["question_id"]), obj.get("question_title", ""),
                       obj["question_content"], obj.get("platform", ""), date.replace(tzinfo=None),
                       obj.get("starter_code", ""), obj.get("difficulty", "unknown"), tests,
                       meta.get("func_name"))
    except RecordError:
        raise
    except (KeyError, ValueError, TypeError, zlib.error, pickle.UnpicklingError, EOFError) as e:
        raise RecordError(f"{type(e).__name__}: {e}") from e


def read_jsonl(path: Path, parse: Callable[[Any], T]) -> list[T]:
    """`parse` of every non-blank line of a JSONL file; bad JSON, or a RecordError from
    `parse`, becomes a RecordError naming path:line so the user can find the record."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise RecordError(f"cannot read {path}: {e}") from e
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(parse(json.loads(line)))
        except (json.JSONDecodeError, RecordError) as e:
            raise RecordError(f"{path}:{n}: {e}") from e
    return out


def load_problems(path: Path) -> list[Problem]:
    """Every record of a JSONL file; a bad line is an error naming the line."""
    return read_jsonl(path, parse_record)


def filter_by_date(problems: list[Problem], start: datetime | None,
                   end: datetime | None) -> list[Problem]:
    """start <= contest_date <= end; a bare end date means that day at midnight."""
    return [p for p in problems
            if (start is None or p.contest_date >= start) and (end is None or p.contest_date <= end)]
