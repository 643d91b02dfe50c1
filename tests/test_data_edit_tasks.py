"""Every edit task, in every language, applies through the agent's own edit engine and
reproduces the target file exactly."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrmcli import prompt_format as pf
from hrmcli.agent.apply import apply_edits
from hrmcli.agent.editblocks import parse_edits
from trainer.data.corpus import iter_corpus
from trainer.data.edit_tasks import (
    DIFFICULTY,
    TASK_TYPES,
    Unrepresentable,
    blocks_for,
    minimal_blocks,
    tasks_for_file,
)

SRC = Path(__file__).parent / "fixtures" / "code" / "src"
LANGS = ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp")


def _before(record: dict) -> str:
    body = record["prompt"].split(pf.FILE, 1)[1]
    return body.split("\n", 1)[1].rsplit(pf.END_FILE, 1)[0]


def _apply(root: Path, path: str, before: str, answer: str) -> str:
    f = root / path
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(before)
    parsed = parse_edits(answer.removesuffix(pf.EOS))
    assert parsed.ok, parsed.errors
    res = apply_edits(parsed.blocks, root)
    assert res.ok, [str(x) for x in res.failed]
    return f.read_text()


@pytest.fixture(scope="module")
def records() -> list[dict]:
    out = []
    for f in iter_corpus(SRC):
        out.extend(tasks_for_file(f.rel, f.text, f.lang, seed=7))
    return out


def test_every_language_gets_every_task_type(records: list[dict]) -> None:
    have = collections.Counter((r["lang"], r["task"]) for r in records)
    missing = [(lang, t) for lang in LANGS for t in TASK_TYPES if not have[(lang, t)]]
    assert not missing


def test_every_example_applies_through_the_edit_engine(records: list[dict], tmp_path: Path) -> None:
    for i, r in enumerate(records):
        before = _before(r)
        assert before != r["target"]
        got = _apply(tmp_path / str(i), r["path"], before, r["answer"])
        assert got == r["target"], (r["lang"], r["task"], r["answer"])


def test_record_layout(records: list[dict]) -> None:
    for r in records:
        assert r["kind"] == "edit" and r["halt"] is None
        assert r["difficulty"] == DIFFICULTY[r["task"]]
        assert r["prompt"].startswith(pf.BOS) and r["prompt"].endswith(pf.ASSISTANT)
        assert r["prompt"] == pf.edit_prompt([(r["path"], _before(r))], r["prompt"].split(pf.USER)[1].split(pf.END_USER)[0])
        assert r["answer"].endswith(pf.EOS) and "```" not in r["answer"]
        assert r["answer"].startswith(r["path"] + "\n" + pf.SEARCH_MARK + "\n")


def test_generation_is_deterministic_and_phrasing_varies() -> None:
    f = next(x for x in iter_corpus(SRC) if x.lang == "go")
    a = list(tasks_for_file(f.rel, f.text, f.lang, seed=1))
    assert a == list(tasks_for_file(f.rel, f.text, f.lang, seed=1))
    requests = set()
    for seed in range(6):
        for r in tasks_for_file(f.rel, f.text, f.lang, seed=seed):
            if r["task"] == "implement":
                requests.add(r["prompt"].split(pf.USER)[1])
    assert len(requests) >= 3


def test_blocks_are_minimal_and_grow_until_unique() -> None:
    before = "a\nx = 1\nb\nx = 1\nc\n"
    after = "a\nx = 1\nb\nx = 2\nc\n"
    [(search, replace)] = minimal_blocks(before, after)
    assert (search, replace) in {("b\nx = 1\n", "b\nx = 2\n"), ("x = 1\nc\n", "x = 2\nc\n")}
    [(s2, r2)] = minimal_blocks("p\nq\n", "p\nq\nr\n")  # pure insertion needs one context line
    assert (s2, r2) == ("q\n", "q\nr\n")


def test_marker_lines_in_code_are_refused() -> None:
    # A line the parser would read as a divider cannot stand inside SEARCH/REPLACE text.
    with pytest.raises(Unrepresentable):
        blocks_for("doc.py", "title\n=======\nx = 1\n", "title\n-------\nx = 1\n")
    # Away from the change it does no harm: the block does not include it.
    assert pf.DIVIDER_MARK + "\n" not in blocks_for("doc.py", "t\n=======\nx = 1\n", "t\n=======\nx = 2\n").split(pf.SEARCH_MARK)[1].split(pf.DIVIDER_MARK)[0]


_line = st.sampled_from(["a", "b", "", "    x = 1", "}", "return y", "c = a + b"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_line, min_size=1, max_size=14), st.data())
def test_random_edits_roundtrip_through_engine(tmp_path_factory, lines: list[str], data) -> None:
    before = "".join(x + "\n" for x in lines)
    after_lines = list(lines)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["ins", "del", "chg"]))
        i = data.draw(st.integers(0, max(len(after_lines) - 1, 0)))
        if op == "ins":
            after_lines.insert(i, data.draw(_line))
        elif op == "del" and len(after_lines) > 1:
            del after_lines[i]
        elif after_lines:
            after_lines[i] = data.draw(_line)
    after = "".join(x + "\n" for x in after_lines)
    if after == before:
        return
    try:
        answer = blocks_for("f.py", before, after)
    except Unrepresentable:
        return  # e.g. a file of blank lines only: no unique span exists
    root = tmp_path_factory.mktemp("r")
    assert _apply(root, "f.py", before, answer) == after


def test_some_requests_are_typed_casually_as_users_do():
    """phrasing.casual: a share of requests lose backticks, capitals and full stops; the
    rest stay as the templates write them."""
    import random

    from trainer.data.phrasing import casual, phrase

    rng = random.Random(0)
    texts = [phrase("rename", rng, what="function", old="calc", new="subtotal", path="cart.py",
                    scope="") for _ in range(200)]
    assert all("calc" in t and "subtotal" in t for t in texts)
    bare = [t for t in texts if "`" not in t]
    assert 40 < len(bare) < 160
    assert any(t[0].islower() and not t.endswith(".") for t in bare)
    assert casual("Rename `a` to `b`.", random.Random(1)) in {
        "Rename `a` to `b`.", "Rename a to b.", "rename `a` to `b`.", "Rename `a` to `b`",
        "rename a to b.", "Rename a to b", "rename `a` to `b`", "rename a to b"}
