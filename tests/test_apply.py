"""Applying edits to real files: matching rules, file formats, refusals, all-or-nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hrmcli.agent.apply import ApplyResult, apply_edits, apply_whole_files
from hrmcli.agent.editblocks import EditBlock, parse_edits
from hrmcli.agent.wholefile import WholeFile


def block(path: str, search: str, replace: str, index: int = 1) -> EditBlock:
    return EditBlock(index, path, search, replace)


def run(root: Path, *blocks: EditBlock, **kw) -> ApplyResult:
    return apply_edits(list(blocks), root, **kw)


def write(root: Path, rel: str, data: bytes | str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


# ------------------------------------------------------------------ matching


def test_exact_match_replaces(tmp_path: Path) -> None:
    p = write(tmp_path, "a.py", "def f():\n    return 1\n")
    r = run(tmp_path, block("a.py", "    return 1\n", "    return 2\n"))
    assert r.ok and r.applied == ["a.py"]
    assert p.read_text() == "def f():\n    return 2\n"
    assert r.new_contents == {"a.py": "def f():\n    return 2\n"}


# ------------------------------------------------------------------ ambiguity


def refused_whole(root: Path, *blocks: EditBlock) -> str:
    """Apply, expect a refusal that wrote nothing, return the first reason."""
    before = snapshot(root)
    r = run(root, *blocks)
    assert not r.ok and r.applied == [] and r.diff == "" and r.new_contents == {}
    assert snapshot(root) == before
    return r.failed[0].reason


def test_duplicate_match_is_refused_with_each_line_number(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "x = 1\ny\nx = 1\nz\nx = 1\n")
    reason = refused_whole(tmp_path, block("a.txt", "x = 1\n", "x = 2\n"))
    assert "SEARCH matches 3 places in a.txt, at lines 1, 3, 5" in reason
    assert "never guesses" in reason and "Add more of the unchanged lines" in reason


def test_duplicate_multiline_match_lists_spans(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "def f():\n    return 1\n\ndef g():\n    pass\n\ndef f():\n    return 1\n")
    reason = refused_whole(tmp_path, block("a.py", "def f():\n    return 1\n", "x\n"))
    assert "at lines 1-2, 7-8" in reason


def test_overlapping_matches_are_ambiguous(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "a\na\na\n")
    assert "at lines 1-2, 2-3" in refused_whole(tmp_path, block("a.txt", "a\na\n", "b\n"))


def test_more_context_picks_the_one_place(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", "[x]\nv = 1\n[y]\nv = 1\n")
    assert run(tmp_path, block("a.txt", "[y]\nv = 1\n", "[y]\nv = 2\n")).ok
    assert p.read_text() == "[x]\nv = 1\n[y]\nv = 2\n"


def test_duplicate_after_reindenting_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "class A:\n    def f(self):\n        return 1\n"
                            "class B:\n    def f(self):\n        return 1\n")
    reason = refused_whole(tmp_path, block("a.py", "def f(self):\n    return 1\n", "x\n"))
    assert "2 places in a.py once indentation is adjusted, at lines 2-3, 5-6" in reason


def test_exact_match_is_preferred_to_a_reindented_one(tmp_path: Path) -> None:
    p = write(tmp_path, "a.py", "x = 1\ndef f():\n    x = 1\n")
    assert run(tmp_path, block("a.py", "    x = 1\n", "    x = 2\n")).ok
    assert p.read_text() == "x = 1\ndef f():\n    x = 2\n"


def test_duplicate_after_dropping_blank_first_line_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "b = 2\nc\nb = 2\n")
    reason = refused_whole(tmp_path, block("a.txt", "\nb = 2\n", "\nb = 3\n"))
    assert "2 places in a.txt (leaving out its blank first line), at lines 1, 3" in reason


def test_ambiguity_created_by_an_earlier_block_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "a\nb\n")
    reason = refused_whole(tmp_path, block("a.txt", "a\n", "b\n", 1), block("a.txt", "b\n", "c\n", 2))
    assert "at lines 1, 2" in reason and "count the changes of the blocks above" in reason


def test_ambiguous_block_fails_whole_edit_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "a\n")
    write(tmp_path, "b.txt", "x\nx\n")
    before = snapshot(tmp_path)
    r = run(tmp_path, block("a.txt", "a\n", "A\n", 1), block("b.txt", "x\n", "y\n", 2))
    assert [(f.block, f.path) for f in r.failed] == [(2, "b.txt")]
    assert snapshot(tmp_path) == before


def test_many_matches_list_is_capped(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "x\n" * 60)
    reason = refused_whole(tmp_path, block("a.txt", "x\n", "y\n"))
    assert "SEARCH matches 60 places" in reason and "49, 50 and 10 more" in reason


# ------------------------------------------------------------------ divider-like lines in content


def apply_text(root: Path, text: str) -> ApplyResult:
    parsed = parse_edits(text)
    assert parsed.errors == []
    return apply_edits(parsed.blocks, root)


def test_rst_heading_in_replace_takes_the_matching_split(tmp_path: Path) -> None:
    p = write(tmp_path, "doc.rst", "Intro\ntext\n")
    text = ("doc.rst\n<<<<<<< SEARCH\ntext\n=======\ntext\n\nUsage\n=======\n\n"
            "Run it.\n>>>>>>> REPLACE\n")
    r = apply_text(tmp_path, text)
    assert r.ok, r.failed
    assert p.read_text() == "Intro\ntext\n\nUsage\n=======\n\nRun it.\n"


def test_new_file_with_divider_like_lines_is_created_whole(tmp_path: Path) -> None:
    text = "notes.txt\n<<<<<<< SEARCH\n=======\nTitle\n=======\nbody\n>>>>>>> REPLACE\n"
    assert apply_text(tmp_path, text).ok
    assert (tmp_path / "notes.txt").read_text() == "Title\n=======\nbody\n"


def test_rst_heading_in_search_is_refused_not_split_at_the_first(tmp_path: Path) -> None:
    # A ======= line inside SEARCH: reading it as the divider gives SEARCH "A", a prefix of
    # the real SEARCH, so it matches the file too. hrm cannot tell the two apart: refused.
    p = write(tmp_path, "doc.rst", "A\n=======\nold\n")
    text = "doc.rst\n<<<<<<< SEARCH\nA\n=======\nold\n=======\nA\n=======\nnew\n>>>>>>> REPLACE\n"
    reason = refused_whole_text(tmp_path, text)
    assert "3 lines that look like the ======= divider (lines 2, 4, 6 after <<<<<<< SEARCH)" in reason
    assert "more than one of them as the divider (lines 2, 4)" in reason
    assert p.read_text() == "A\n=======\nold\n"


def test_miscopied_search_past_a_heading_is_refused_not_split_early(tmp_path: Path) -> None:
    # SEARCH copies the heading but mistypes the next line: only "A" (the first reading)
    # matches, and applying it would put the rest of SEARCH into the file. Refused.
    write(tmp_path, "doc.rst", "A\n=======\nold\n")
    text = "doc.rst\n<<<<<<< SEARCH\nA\n=======\nolld\n=======\nnew\n>>>>>>> REPLACE\n"
    reason = refused_whole_text(tmp_path, text)
    assert "Only with line 2 as the divider does SEARCH match (line 1 of doc.rst)" in reason
    assert "next line, 2, looks like a divider too" in reason


def test_empty_search_reading_does_not_append_to_an_existing_file(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "Title\n=======\nbody\n")
    text = "notes.txt\n<<<<<<< SEARCH\n=======\nbdy\n=======\nnew\n>>>>>>> REPLACE\n"
    reason = refused_whole_text(tmp_path, text)
    assert "SEARCH is empty, which would append to notes.txt" in reason


def test_banner_line_in_replace_with_no_matching_reading_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "one\n")
    text = "a.txt\n<<<<<<< SEARCH\nmissing\n=======\nx\n=======\ny\n>>>>>>> REPLACE\n"
    reason = refused_whole_text(tmp_path, text)
    assert "with none of them as the divider" in reason
    assert "SEARCH does not match any lines in a.txt" in reason


def test_single_divider_still_parses_to_one_reading(tmp_path: Path) -> None:
    b = parse_edits("a.txt\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n").blocks[0]
    assert b.splits == () and not b.ambiguous_divider


def refused_whole_text(root: Path, text: str) -> str:
    before = snapshot(root)
    r = apply_text(root, text)
    assert not r.ok and r.applied == [] and snapshot(root) == before
    return r.failed[0].reason


def test_tabs_match_exactly(tmp_path: Path) -> None:
    p = write(tmp_path, "Makefile", "all:\n\tcc -o a a.c\n")
    assert run(tmp_path, block("Makefile", "\tcc -o a a.c\n", "\tcc -O2 -o a a.c\n")).ok
    assert p.read_text() == "all:\n\tcc -O2 -o a a.c\n"


def test_indentation_offset_reindents_replace(tmp_path: Path) -> None:
    p = write(tmp_path, "a.py", "class A:\n    def f(self):\n        return 1\n")
    r = run(tmp_path, block("a.py", "def f(self):\n    return 1\n", "def f(self):\n    x = 1\n    return x\n"))
    assert r.ok
    assert p.read_text() == "class A:\n    def f(self):\n        x = 1\n        return x\n"


def test_negative_indentation_offset(tmp_path: Path) -> None:
    p = write(tmp_path, "a.py", "def f():\n    return 1\n")
    r = run(tmp_path, block("a.py", "        def f():\n            return 1\n",
                            "        def f():\n            return 2\n"))
    assert r.ok and p.read_text() == "def f():\n    return 2\n"


def test_non_uniform_indentation_does_not_match(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "if x:\n    y()\n")
    r = run(tmp_path, block("a.py", "  if x:\n        y()\n", "z\n"))
    assert not r.ok and "does not match" in r.failed[0].reason


def test_tab_indent_offset(tmp_path: Path) -> None:
    p = write(tmp_path, "a.go", "func f() {\n\tif x {\n\t\treturn\n\t}\n}\n")
    assert run(tmp_path, block("a.go", "if x {\n\treturn\n}\n", "if y {\n\treturn\n}\n")).ok
    assert p.read_text() == "func f() {\n\tif y {\n\t\treturn\n\t}\n}\n"


def test_spurious_blank_first_line_retry(tmp_path: Path) -> None:
    p = write(tmp_path, "a.py", "a = 1\nb = 2\n")
    assert run(tmp_path, block("a.py", "\nb = 2\n", "\nb = 3\n")).ok
    assert p.read_text() == "a = 1\nb = 3\n"


def test_elision(tmp_path: Path) -> None:
    p = write(tmp_path, "a.py", "def f():\n    a = 1\n    b = 2\n    c = 3\n    return a\n")
    search = "def f():\n...\n    return a\n"
    replace = "def g():\n...\n    return c\n"
    assert run(tmp_path, block("a.py", search, replace)).ok
    assert p.read_text() == "def g():\n    a = 1\n    b = 2\n    c = 3\n    return c\n"


def test_elision_piece_must_be_unique(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "x\ny\nx\nz\n")
    r = run(tmp_path, block("a.py", "x\n...\nz\n", "w\n...\nz\n"))
    assert not r.ok and "exactly once but occurs 2 times (lines 1, 3)" in r.failed[0].reason


def test_elision_keeps_every_untouched_line_ending(tmp_path: Path) -> None:
    data = b"def f():\r\n    a = 1\n    b = 2\r\n    c = 3\n    return a\r\ntail"
    p = write(tmp_path, "a.py", data)
    assert run(tmp_path, block("a.py", "def f():\n...\n    return a\n", "def g():\n...\n    return c\n")).ok
    # Only the two replaced lines take the file's dominant ending (CRLF: 3 of 5).
    assert p.read_bytes() == (b"def g():\r\n    a = 1\n    b = 2\r\n    c = 3\n    return c\r\ntail")


def test_elision_in_lf_file_with_crlf_lines_and_no_final_newline(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", b"a\nb\r\nc\nd\ne")
    assert run(tmp_path, block("a.txt", "a\n...\nd\ne\n", "A\n...\nD\ne\n")).ok
    assert p.read_bytes() == b"A\nb\r\nc\nD\ne"


def test_elision_counts_must_line_up(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "x\ny\nz\n")
    r = run(tmp_path, block("a.py", "x\n...\nz\n", "w\nz\n"))
    assert not r.ok and "must line up" in r.failed[0].reason


def test_create_file_with_empty_search(tmp_path: Path) -> None:
    r = run(tmp_path, block("pkg/new.py", "", "print('hi')\n"))
    assert r.ok and (tmp_path / "pkg/new.py").read_text() == "print('hi')\n"
    assert "new file mode" in r.diff and "--- /dev/null" in r.diff


def test_empty_search_appends_to_existing_file(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", "one\n")
    assert run(tmp_path, block("a.txt", "", "two\n")).ok
    assert p.read_text() == "one\ntwo\n"


def test_empty_replace_deletes_lines(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", "one\ntwo\nthree\n")
    assert run(tmp_path, block("a.txt", "two\n", "")).ok
    assert p.read_text() == "one\nthree\n"


def test_blocks_apply_in_sequence_on_evolving_content(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", "a\n")
    r = run(tmp_path, block("a.txt", "a\n", "b\n", 1), block("a.txt", "b\n", "c\n", 2))
    assert r.ok and p.read_text() == "c\n"


def test_create_then_edit_same_new_file(tmp_path: Path) -> None:
    r = run(tmp_path, block("n.txt", "", "a\nb\n", 1), block("n.txt", "b\n", "c\n", 2))
    assert r.ok and (tmp_path / "n.txt").read_text() == "a\nc\n"


def test_search_on_missing_file_fails(tmp_path: Path) -> None:
    r = run(tmp_path, block("nope.py", "x\n", "y\n"))
    assert not r.ok and "does not exist" in r.failed[0].reason
    assert not (tmp_path / "nope.py").exists()


# ------------------------------------------------------------------ failure messages


def test_did_you_mean_shows_most_similar_chunk(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "import os\n\ndef total(items):\n    return sum(items)\n\nprint(1)\n")
    r = run(tmp_path, block("a.py", "def total(item):\n    return sum(item)\n", "x\n", 3))
    f = r.failed[0]
    assert (f.block, f.path) == (3, "a.py")
    assert "Did you mean these lines (3-4)?\ndef total(items):\n    return sum(items)" in f.reason


def test_no_did_you_mean_when_nothing_similar(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "import os\n")
    r = run(tmp_path, block("a.py", "completely different text here\n", "x\n"))
    assert "Did you mean" not in r.failed[0].reason


def test_already_present_note(tmp_path: Path) -> None:
    write(tmp_path, "a.py", "x = 2\n")
    r = run(tmp_path, block("a.py", "x = 1\n", "x = 2\n"))
    assert "REPLACE text is already in a.py" in r.failed[0].reason


# ------------------------------------------------------------------ file formats


def test_crlf_kept_and_lf_edit_matches(tmp_path: Path) -> None:
    p = write(tmp_path, "w.txt", b"a\r\nb\r\nc\r\n")
    assert run(tmp_path, block("w.txt", "b\n", "B\nB2\n")).ok
    assert p.read_bytes() == b"a\r\nB\r\nB2\r\nc\r\n"


def test_mixed_endings_untouched_lines_kept(tmp_path: Path) -> None:
    p = write(tmp_path, "m.txt", b"a\r\nb\nc\r\nd\r\n")
    assert run(tmp_path, block("m.txt", "d\n", "D\n")).ok
    assert p.read_bytes() == b"a\r\nb\nc\r\nD\r\n"


def test_utf8_bom_kept(tmp_path: Path) -> None:
    p = write(tmp_path, "b.txt", b"\xef\xbb\xbfh\xc3\xa9llo\n")
    assert run(tmp_path, block("b.txt", "héllo\n", "hällo\n")).ok
    assert p.read_bytes() == b"\xef\xbb\xbfh\xc3\xa4llo\n"


def test_no_final_newline_kept(tmp_path: Path) -> None:
    p = write(tmp_path, "n.txt", "a\nb")
    r = run(tmp_path, block("n.txt", "b\n", "c\n"))
    assert r.ok and p.read_bytes() == b"a\nc"
    assert "\\ No newline at end of file" in r.diff


def test_final_newline_kept_when_appending(tmp_path: Path) -> None:
    p = write(tmp_path, "n.txt", "a")
    assert run(tmp_path, block("n.txt", "", "b\n")).ok
    assert p.read_bytes() == b"a\nb"


def test_mode_preserved(tmp_path: Path) -> None:
    p = write(tmp_path, "run.sh", "#!/bin/sh\necho a\n")
    p.chmod(0o751)
    assert run(tmp_path, block("run.sh", "echo a\n", "echo b\n")).ok
    assert p.stat().st_mode & 0o7777 == 0o751


def test_no_temp_files_left(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "a\n")
    assert run(tmp_path, block("a.txt", "a\n", "b\n")).ok
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.txt"]


def test_edit_through_symlink_inside_root_keeps_link(tmp_path: Path) -> None:
    real = write(tmp_path, "real.txt", "a\n")
    (tmp_path / "link.txt").symlink_to("real.txt")
    assert run(tmp_path, block("link.txt", "a\n", "b\n")).ok
    assert (tmp_path / "link.txt").is_symlink() and real.read_text() == "b\n"


def test_diff_applies_with_git_apply(tmp_path: Path) -> None:
    src = "x\n" * 5 + "a\nb\n" + "y\n" * 5
    for d in ("before", "after"):
        write(tmp_path / d, "f.txt", src)
        write(tmp_path / d, "g.txt", "1\n2")
    edits = [block("f.txt", "a\nb\n", "A\n", 1), block("new/h.txt", "", "h\n", 2),
             block("g.txt", "2\n", "3\n", 3)]
    r = apply_edits(edits, tmp_path / "after")
    assert r.ok
    subprocess.run(["git", "apply", "-"], input=r.diff.encode(), cwd=tmp_path / "before", check=True)
    for rel in ("f.txt", "g.txt", "new/h.txt"):
        assert (tmp_path / "before" / rel).read_bytes() == (tmp_path / "after" / rel).read_bytes()


# ------------------------------------------------------------------ refusals


def refused(tmp_path: Path, path: str, search: str = "a\n") -> str:
    r = run(tmp_path, block(path, search, "b\n"))
    assert not r.ok and r.applied == [] and r.diff == ""
    return r.failed[0].reason


def test_dotdot_traversal_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    assert "outside the project root" in refused(tmp_path / "root", "../evil.txt", "")
    assert not (tmp_path / "evil.txt").exists()


def test_absolute_path_outside_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    assert "absolute path outside" in refused(tmp_path / "root", str(tmp_path / "x.txt"), "")
    assert not (tmp_path / "x.txt").exists()


def test_absolute_path_inside_root_allowed(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", "a\n")
    r = run(tmp_path, block(str(p), "a\n", "b\n"))
    assert r.ok and r.applied == ["a.txt"] and p.read_text() == "b\n"


def test_symlink_escape_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    outside = write(tmp_path, "secret.txt", "a\n")
    (tmp_path / "root" / "s.txt").symlink_to(outside)
    assert "symlink that points outside" in refused(tmp_path / "root", "s.txt")
    (tmp_path / "root" / "d").symlink_to(tmp_path)
    assert "symlink that points outside" in refused(tmp_path / "root", "d/new.txt", "")
    assert outside.read_text() == "a\n"


def test_git_dir_refused(tmp_path: Path) -> None:
    assert "inside .git" in refused(tmp_path, ".git/config", "")


def test_binary_refused(tmp_path: Path) -> None:
    write(tmp_path, "img.bin", b"a\n\x00\x01")
    assert "binary" in refused(tmp_path, "img.bin")


def test_non_utf8_refused_naming_file(tmp_path: Path) -> None:
    write(tmp_path, "latin.txt", "caf\xe9\na\n".encode("latin-1"))
    reason = refused(tmp_path, "latin.txt")
    assert "latin.txt is not valid UTF-8" in reason


def test_size_limit_refused(tmp_path: Path) -> None:
    write(tmp_path, "big.txt", "a\n" * 100)
    reason = run(tmp_path, block("big.txt", "a\n", "b\n"), max_file_bytes=50).failed[0].reason
    assert "200 bytes, over the 50-byte limit" in reason


def test_directory_refused(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    assert "is a directory" in refused(tmp_path, "d")


# ------------------------------------------------------------------ all or nothing


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_one_bad_block_writes_nothing_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "a\n")
    write(tmp_path, "b.txt", "b\n")
    before = snapshot(tmp_path)
    r = run(tmp_path, block("a.txt", "a\n", "A\n", 1), block("new.txt", "", "n\n", 2),
            block("b.txt", "zzz\n", "B\n", 3))
    assert [f.block for f in r.failed] == [3]
    assert r.applied == [] and r.new_contents == {}
    assert snapshot(tmp_path) == before


def test_all_failures_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "a\n")
    r = run(tmp_path, block("a.txt", "x\n", "A\n", 1), block("../x", "", "n\n", 2),
            block("a.txt", "a\n", "ok\n", 3), block("a.txt", "y\n", "B\n", 4))
    assert [f.block for f in r.failed] == [1, 2, 4]


def test_dry_run_writes_nothing_but_reports(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", "a\n")
    before = snapshot(tmp_path)
    r = run(tmp_path, block("a.txt", "a\n", "b\n"), block("n.txt", "", "n\n", 2), dry_run=True)
    assert r.ok and r.applied == ["a.txt", "n.txt"] and "+b" in r.diff
    assert snapshot(tmp_path) == before and p.read_text() == "a\n"


def test_unwritable_file_rolls_back_earlier_writes(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can write into read-only directories")
    a = write(tmp_path, "a.txt", "a\n")
    write(tmp_path, "ro/b.txt", "b\n")
    (tmp_path / "ro").chmod(0o555)
    try:
        r = run(tmp_path, block("a.txt", "a\n", "A\n", 1), block("ro/b.txt", "b\n", "B\n", 2))
        assert not r.ok and r.failed[0].block == 2 and "could not write" in r.failed[0].reason
        assert a.read_text() == "a\n" and (tmp_path / "ro/b.txt").read_text() == "b\n"
    finally:
        (tmp_path / "ro").chmod(0o755)


def test_before_write_hook_error_writes_nothing(tmp_path: Path) -> None:
    p = write(tmp_path, "a.txt", "a\n")

    def refuse(paths: list[str]) -> None:
        assert paths == ["a.txt"]
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        run(tmp_path, block("a.txt", "a\n", "b\n"), before_write=refuse)
    assert p.read_text() == "a\n"


def test_noop_edit_changes_nothing(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "a\n")
    r = run(tmp_path, block("a.txt", "a\n", "a\n"))
    assert r.ok and r.applied == [] and r.diff == ""


# ------------------------------------------------------------------ whole files and parse->apply


def test_whole_files_keep_crlf_and_are_all_or_nothing(tmp_path: Path) -> None:
    p = write(tmp_path, "w.txt", b"old\r\n")
    r = apply_whole_files([WholeFile("w.txt", "new\nline\n"), WholeFile("d/n.txt", "n\n")], tmp_path)
    assert r.ok and p.read_bytes() == b"new\r\nline\r\n"
    assert (tmp_path / "d/n.txt").read_text() == "n\n"
    before = snapshot(tmp_path)
    r = apply_whole_files([WholeFile("w.txt", "x\n"), WholeFile("../out.txt", "n\n")], tmp_path)
    assert [f.block for f in r.failed] == [2] and snapshot(tmp_path) == before


def test_parse_then_apply_model_output(tmp_path: Path) -> None:
    write(tmp_path, "src/app.py", "def hello():\n    print('hi')\n")
    text = (
        "I'll change the greeting.\n\nsrc/app.py\n```python\n<<<<<<< SEARCH\n"
        "    print('hi')\n=======\n    print('hello')\n>>>>>>> REPLACE\n```\n"
    )
    r = apply_edits(parse_edits(text).blocks, tmp_path)
    assert r.ok and (tmp_path / "src/app.py").read_text() == "def hello():\n    print('hello')\n"


def test_file_changed_on_disk_before_write_aborts_everything(tmp_path: Path) -> None:
    a = write(tmp_path, "a.txt", "a\n")
    b = write(tmp_path, "b.txt", "b\n")

    def user_saves_b(paths: list[str]) -> None:
        b.write_text("user's edit\n")

    r = run(tmp_path, block("a.txt", "a\n", "A\n", 1), block("b.txt", "b\n", "B\n", 2),
            before_write=user_saves_b)
    assert [f.block for f in r.failed] == [2] and "changed on disk" in r.failed[0].reason
    assert a.read_text() == "a\n" and b.read_text() == "user's edit\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.txt", "b.txt"]
