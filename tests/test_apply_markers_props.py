"""Property tests for content that looks like edit markup, reached the way a model's reply
is: rendered as text, parsed, applied to real files with mixed line endings.

test_apply_props.py checks the engine against a reference that mirrors its reading rules.
These check outcomes from the outside, with a reference that knows nothing of readings:
- whatever is written equals the edit the model meant (its SEARCH spliced out once, the
  untouched lines byte for byte), and anything else writes nothing at all;
- exact SEARCH/REPLACE marker lines in code (this project's own docs and prompts hold
  them) fail loudly at parse time, never as a wrong edit; the one exception, content that
  holds the end of one block and the start of another (a `>>>>>>> REPLACE` line, later a
  `<<<<<<< SEARCH` line and a divider), reads as two well-formed blocks and is left out
  (see _ends_then_starts);
- an edit whose SEARCH holds no marker-like line and occurs once does apply, whatever
  divider-like or conflict-marker lines surround it or its REPLACE holds (liveness: a
  refusal of everything would pass the safety checks alone);
- a SEARCH that occurs several times is refused naming every occurrence, and a valid
  block on another file in the same reply is not written either.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hrmcli.agent.apply import apply_edits
from hrmcli.agent.editblocks import DIVIDER_RE, REPLACE_RE, SEARCH_RE, EditBlock, parse_edits

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Exact markers (the parser must treat these as structure), divider-like lines (5-9 '=',
# stripped), git conflict markers and near misses that are plain content.
EXACT_MARKERS = ["<<<<<<< SEARCH", ">>>>>>> REPLACE", "<<<<<<<<< SEARCH", ">>>>> REPLACE"]
DIVIDERS = ["=======", "=====", "=========", "    =======", "\t====="]
LOOKALIKES = ["<<<<<<< HEAD", "||||||| base", ">>>>>>> feature", "# <<<<<<< SEARCH",
              "<<<<<<<<<< SEARCH", "==========", "====", "// =======", "======= x",
              ">>>>>>>REPLACED", "<<<<<<< SEARCHING"]
ENDINGS = st.sampled_from(["\n", "\r\n"])


def _marker(line: str) -> bool:
    s = line.strip()
    return bool(SEARCH_RE.match(s) or DIVIDER_RE.match(s) or REPLACE_RE.match(s))


def _structural(line: str) -> bool:
    s = line.strip()
    return bool(SEARCH_RE.match(s) or REPLACE_RE.match(s))


def _ends_then_starts(body: list[str]) -> bool:
    """Whether a block body holds a REPLACE marker line and after it a SEARCH marker line.

    Such content (examples of the edit format itself, several blocks long) ends the block
    early and opens a second, well-formed one that reuses the path: a known limit of the
    unfenced format, which no parser can tell from two real blocks. Found by this test."""
    seen_end = False
    for line in body:
        s = line.strip()
        if REPLACE_RE.match(s):
            seen_end = True
        elif SEARCH_RE.match(s) and seen_end:
            return True
    return False


def _render(path: str, search: list[str], replace: list[str], fenced: bool, crlf: bool) -> str:
    body = "<<<<<<< SEARCH\n" + "".join(s + "\n" for s in search) + "=======\n"
    body += "".join(r + "\n" for r in replace) + ">>>>>>> REPLACE\n"
    text = f"Here is the change.\n{path}\n" + (f"```\n{body}```\n" if fenced else body)
    return text.replace("\n", "\r\n") if crlf else text


def _occurrences(lines: list[str], search: list[str]) -> list[int]:
    n = len(search)
    return [i for i in range(len(lines) - n + 1) if lines[i : i + n] == search]


def _dominant(ends: list[str]) -> str:
    crlf = ends.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= sum(e != "" for e in ends) else "\n"


def _file_bytes(lines: list[str], ends: list[str]) -> bytes:
    return "".join(x + e for x, e in zip(lines, ends, strict=True)).encode()


def _spliced(lines: list[str], ends: list[str], start: int, end: int, new: list[str]) -> bytes:
    """The file after replacing lines[start:end] with new: other lines keep their bytes,
    new lines take the dominant ending, and a file without a final newline keeps none."""
    nl = _dominant(ends)
    out = [x + e for x, e in zip(lines[:start], ends[:start], strict=True)]
    out += [x + nl for x in new]
    out += [x + e for x, e in zip(lines[end:], ends[end:], strict=True)]
    if out and ends and ends[-1] == "":
        out[-1] = out[-1].rstrip("\r\n")
    return "".join(out).encode()


@st.composite
def marked_files(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """Numbered lines (each unique) with marker-like lines, repeated, between them; every
    line has its own ending, and the last one may have none."""
    n = draw(st.integers(1, 10))
    lines: list[str] = []
    for i in range(n):
        lines += draw(st.lists(st.sampled_from(EXACT_MARKERS + DIVIDERS + LOOKALIKES), max_size=2))
        lines.append(f"L{i} = {i}")
    lines += draw(st.lists(st.sampled_from(DIVIDERS + LOOKALIKES), max_size=2))
    ends = draw(st.lists(ENDINGS, min_size=len(lines), max_size=len(lines)))
    if draw(st.booleans()):
        ends[-1] = ""
    return lines, ends


@SETTINGS
@given(file=marked_files(), data=st.data(), fenced=st.booleans(), reply_crlf=st.booleans())
def test_marker_like_code_is_edited_as_meant_or_not_at_all(file, data, fenced, reply_crlf) -> None:
    lines, ends = file
    a = data.draw(st.integers(0, len(lines) - 1))
    b = data.draw(st.integers(a + 1, len(lines)))
    search = lines[a:b]
    replace = data.draw(st.lists(
        st.one_of(st.sampled_from(EXACT_MARKERS + DIVIDERS + LOOKALIKES),
                  st.integers(0, 99).map(lambda k: f"NEW{k}")), max_size=5))
    if _ends_then_starts(search + ["======="] + replace):
        return
    original = _file_bytes(lines, ends)
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "f.txt").write_bytes(original)
        parsed = parse_edits(_render("f.txt", search, replace, fenced, reply_crlf))
        structural = any(_structural(x) for x in search + replace)
        if parsed.errors:
            # Loud: hrm apply and the coder write nothing when any block fails to parse.
            assert structural, parsed.errors
            return
        assert len(parsed.blocks) == 1
        result = apply_edits(parsed.blocks, root)
        after = (root / "f.txt").read_bytes()
        hits = _occurrences(lines, search)
        if result.ok:
            assert len(hits) == 1, (lines, search, replace)
            assert after == _spliced(lines, ends, hits[0], hits[0] + len(search), replace)
        else:
            assert after == original
            assert result.applied == [] and result.diff == ""
        # Liveness: a plain SEARCH that occurs once, not followed in the file by a line that
        # looks like the divider, always applies, whatever markers its REPLACE holds.
        plain = not any(_marker(x) for x in search) and not structural
        follows = b < len(lines) and DIVIDER_RE.match(lines[b].strip())
        if plain and len(hits) == 1 and not follows:
            assert result.ok, (lines, search, replace, result.failed)


ALPHABET = ["x = 1", "return x", "}", "", "=======", "<<<<<<< HEAD", "    x = 1", "a"]


@SETTINGS
@given(lines=st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=20), data=st.data())
def test_repeated_search_in_mixed_endings_is_refused_with_every_line(lines, data) -> None:
    ends = data.draw(st.lists(ENDINGS, min_size=len(lines), max_size=len(lines)))
    if data.draw(st.booleans()):
        ends[-1] = ""
    # An empty last "line" with no ending is not in the file at all: the reference below
    # would count a match the bytes do not hold.
    assume(not (lines[-1] == "" and ends[-1] == ""))
    a = data.draw(st.integers(0, len(lines) - 1))
    search = lines[a : data.draw(st.integers(a + 1, len(lines)))]
    if not any(x.strip() for x in search):
        return  # a blank SEARCH appends: not a match
    replace = [f"R{j}" for j in range(data.draw(st.integers(0, 3)))]
    original = _file_bytes(lines, ends)
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "f.txt").write_bytes(original)
        (root / "g.txt").write_bytes(b"keep\r\n")
        before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.iterdir()}
        blocks = [EditBlock(1, "g.txt", "keep\n", "changed\n"),
                  EditBlock(2, "f.txt", "".join(x + "\n" for x in search),
                            "".join(x + "\n" for x in replace))]
        result = apply_edits(blocks, root)
        hits = _occurrences(lines, search)
        if len(hits) == 1:
            assert result.ok, result.failed
            assert (root / "f.txt").read_bytes() == _spliced(
                lines, ends, hits[0], hits[0] + len(search), replace)
            assert (root / "g.txt").read_bytes() == b"changed\r\n"
            return
        assert [f.block for f in result.failed] == [2]
        n = len(search)
        places = ", ".join(f"{i + 1}" if n == 1 else f"{i + 1}-{i + n}" for i in hits)
        assert f"SEARCH matches {len(hits)} places in f.txt, at lines {places};" in (
            result.failed[0].reason)
        after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.iterdir()}
        assert after == before  # nothing written, the valid g.txt block included
