"""Parsing SEARCH/REPLACE blocks and whole-file blocks out of model output."""

from __future__ import annotations

import pytest

from hrmcli.agent.editblocks import EditBlock, parse_edits
from hrmcli.agent.wholefile import MalformedWholeFile, WholeFile, parse_whole_files

BODY = "<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n"


def one(text: str) -> EditBlock:
    r = parse_edits(text)
    assert r.errors == []
    assert len(r.blocks) == 1
    return r.blocks[0]


def test_fenced_block_with_prose_around() -> None:
    text = f"Sure, here is the fix.\n\nsrc/a.py\n```python\n{BODY}```\n\nThat renames it.\n"
    assert one(text) == EditBlock(1, "src/a.py", "old\n", "new\n")


def test_unfenced_block_hrm_code_style() -> None:
    assert one(f"src/a.py\n{BODY}").path == "src/a.py"


def test_control_tokens_before_path_are_ignored() -> None:
    assert one(f"<|assistant|>src/a.py\n{BODY}").path == "src/a.py"


@pytest.mark.parametrize(
    "path_line",
    ["src/a.py", "src/a.py:", "# src/a.py", "## src/a.py:", "`src/a.py`", "**src/a.py**",
     "*src/a.py*", "**`src/a.py`**", "  src/a.py  "],
)
def test_path_line_variants(path_line: str) -> None:
    assert one(f"{path_line}\n```python\n{BODY}```\n").path == "src/a.py"


def test_lang_path_fence_line() -> None:
    assert one(f"```python src/a.py\n{BODY}```\n").path == "src/a.py"


def test_path_only_fence_line() -> None:
    assert one(f"```src/a.py\n{BODY}```\n").path == "src/a.py"


def test_backticked_path_with_space() -> None:
    assert one(f"`docs/my notes.md`\n```\n{BODY}```\n").path == "docs/my notes.md"


def test_four_backtick_fence_with_inner_fence_in_content() -> None:
    text = (
        "README.md\n````markdown\n<<<<<<< SEARCH\n```sh\nmake\n```\n=======\n"
        "```sh\nmake all\n```\n>>>>>>> REPLACE\n````\n"
    )
    b = one(text)
    assert b.path == "README.md"
    assert b.search == "```sh\nmake\n```\n"
    assert b.replace == "```sh\nmake all\n```\n"


@pytest.mark.parametrize("n", [5, 7, 9])
def test_marker_lengths(n: int) -> None:
    text = f"a.py\n{'<' * n} SEARCH\nx\n{'=' * n}\ny\n{'>' * n} REPLACE\n"
    assert one(text) == EditBlock(1, "a.py", "x\n", "y\n")


def test_markers_matched_on_stripped_lines() -> None:
    text = "a.py\n   <<<<<<< SEARCH  \nx\n  =======\ny\n >>>>>>> REPLACE \n"
    assert one(text) == EditBlock(1, "a.py", "x\n", "y\n")


def test_too_few_or_many_marker_chars_are_not_markers() -> None:
    assert parse_edits("a.py\n<<<< SEARCH\nx\n====\ny\n>>>> REPLACE\n").blocks == []
    assert parse_edits("a.py\n<<<<<<<<<< SEARCH\nx\n").blocks == []


def test_block_without_path_reuses_previous_path() -> None:
    text = f"src/a.py\n```python\n{BODY}```\n\nAnd also:\n```python\n{BODY}```\n"
    r = parse_edits(text)
    assert [b.path for b in r.blocks] == ["src/a.py", "src/a.py"]
    assert [b.index for b in r.blocks] == [1, 2]


def test_consecutive_unfenced_blocks_reuse_path() -> None:
    r = parse_edits(f"a.py\n{BODY}{BODY}b.py\n{BODY}")
    assert [b.path for b in r.blocks] == ["a.py", "a.py", "b.py"]


def test_prose_before_fence_is_not_a_path() -> None:
    r = parse_edits(f"Change:\n```python\n{BODY}```\n")
    assert r.blocks == []
    assert "no file path" in r.errors[0].reason


def test_empty_search_and_empty_replace() -> None:
    b = one("new.py\n<<<<<<< SEARCH\n=======\nprint(1)\n>>>>>>> REPLACE\n")
    assert (b.search, b.replace) == ("", "print(1)\n")
    b = one("a.py\n<<<<<<< SEARCH\ngone\n=======\n>>>>>>> REPLACE\n")
    assert (b.search, b.replace) == ("gone\n", "")


def test_crlf_edit_text_is_normalized() -> None:
    assert one(f"a.py\r\n{BODY}".replace("\n", "\r\n")) == EditBlock(1, "a.py", "old\n", "new\n")


def test_missing_divider_is_reported_and_parsing_continues() -> None:
    text = f"a.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\nb.py\n{BODY}"
    r = parse_edits(text)
    assert [e.block for e in r.errors] == [1]
    assert "no ======= divider" in r.errors[0].reason
    assert r.blocks == [EditBlock(2, "b.py", "old\n", "new\n")]


def test_missing_replace_marker_is_reported() -> None:
    r = parse_edits("a.py\n<<<<<<< SEARCH\nx\n=======\ny\n")
    assert r.blocks == []
    assert r.errors[0].block == 1 and r.errors[0].path == "a.py"
    assert "no >>>>>>> REPLACE" in r.errors[0].reason
    assert str(r.errors[0]).startswith("block 1 (a.py): ")


def test_stray_replace_marker_is_reported() -> None:
    r = parse_edits("a.py\nx\n=======\ny\n>>>>>>> REPLACE\n")
    assert r.blocks == [] and "no SEARCH marker" in r.errors[0].reason


def test_no_blocks_in_prose() -> None:
    r = parse_edits("I could not find anything to change.\n=====\n")
    assert r.blocks == [] and r.errors == []


def test_whole_file_parse() -> None:
    text = (
        "Here are the files.\n\nsrc/a.py\n```python\nprint('a')\n```\n\n"
        "```sh\npython src/a.py\n```\n\n```python src/b.py\nx = 1\n\n```\n"
        "notes.md\n````markdown\n```sh\nls\n```\n````\n"
    )
    assert parse_whole_files(text) == [
        WholeFile("src/a.py", "print('a')\n"),
        WholeFile("src/b.py", "x = 1\n\n"),
        WholeFile("notes.md", "```sh\nls\n```\n"),
    ]


def test_whole_file_cut_off_is_an_error() -> None:
    with pytest.raises(MalformedWholeFile, match="src/a.py"):
        parse_whole_files("src/a.py\n```python\nprint('a')\n")


def test_several_divider_lines_keep_every_reading() -> None:
    text = "doc.rst\n<<<<<<< SEARCH\nTitle\n=======\nold\n=======\nTitle\n=====\nnew\n>>>>>>> REPLACE\n"
    b = one(text)
    assert b.ambiguous_divider and b.divider_lines == (2, 4, 6)
    assert b.splits == (
        ("Title\n", "old\n=======\nTitle\n=====\nnew\n"),
        ("Title\n=======\nold\n", "Title\n=====\nnew\n"),
        ("Title\n=======\nold\n=======\nTitle\n", "new\n"),
    )
    assert (b.search, b.replace) == b.splits[0]


def test_one_divider_line_has_no_other_readings() -> None:
    b = one(f"a.py\n{BODY}")
    assert b.splits == () and b.divider_lines == () and not b.ambiguous_divider
