"""Property tests: random valid edit sets round-trip; one bad block writes nothing; repeated
and marker-like content is applied exactly where the block says or not at all."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hrmcli.agent.apply import apply_edits
from hrmcli.agent.editblocks import DIVIDER_RE, EditBlock, parse_edits

# Lines are made unique by their number, so each SEARCH matches exactly where we cut it;
# REPLACE lines use another prefix so they can never match a later SEARCH.
words = st.text(alphabet="abc xyz_(){}:=\t", max_size=12)
indents = st.sampled_from(["", "    ", "\t", "  "])


@st.composite
def file_and_edits(draw: st.DrawFn, name: str) -> tuple[str, list[str], list[tuple[list[str], list[str]]]]:
    n = draw(st.integers(1, 25))
    lines = [f"{draw(indents)}L{i} {draw(words)}".rstrip() for i in range(n)]
    cuts = sorted(draw(st.sets(st.integers(0, n), min_size=2, max_size=8)))
    spans = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]
    edits = []
    for k, (a, b) in enumerate(spans):
        repl = [f"{draw(indents)}R{k}.{j} {draw(words)}".rstrip() for j in range(draw(st.integers(0, 4)))]
        edits.append((lines[a:b], repl))
    return name, lines, edits


def expected(lines: list[str], edits: list[tuple[list[str], list[str]]]) -> list[str]:
    out = list(lines)
    for search, repl in edits:
        i = next(i for i in range(len(out)) if out[i : i + len(search)] == search)
        out[i : i + len(search)] = repl
    return out


def render(path: str, search: list[str], replace: list[str], fenced: bool) -> str:
    body = "<<<<<<< SEARCH\n" + "".join(s + "\n" for s in search) + "=======\n"
    body += "".join(r + "\n" for r in replace) + ">>>>>>> REPLACE\n"
    return f"{path}\n```\n{body}```\n" if fenced else f"{path}\n{body}"


edit_sets = st.lists(
    st.sampled_from(["a.py", "pkg/b.txt", "c.go"]), min_size=1, max_size=3, unique=True
).flatmap(lambda names: st.tuples(*[file_and_edits(n) for n in names]))

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def setup(root: Path, files) -> None:
    for name, lines, _ in files:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(ln + "\n" for ln in lines))


@SETTINGS
@given(files=edit_sets, crlf=st.booleans(), fenced=st.booleans())
def test_valid_edit_sets_round_trip(files, crlf: bool, fenced: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        setup(root, files)
        if crlf:
            for name, _, _ in files:
                p = root / name
                p.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))
        text = "Some prose.\n" + "".join(
            render(name, s, r, fenced) for name, _, edits in files for s, r in edits
        )
        parsed = parse_edits(text)
        assert parsed.errors == []
        result = apply_edits(parsed.blocks, root)
        assert result.ok, result.failed
        nl = "\r\n" if crlf else "\n"
        for name, lines, edits in files:
            want = "".join(ln + nl for ln in expected(lines, edits))
            assert (root / name).read_bytes() == want.encode()


@SETTINGS
@given(files=edit_sets, bad_at=st.integers(0, 30), data=st.data())
def test_one_bad_block_writes_nothing(files, bad_at: int, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        setup(root, files)
        before = {
            p: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()
        }
        blocks = [
            EditBlock(0, name, "".join(x + "\n" for x in s), "".join(x + "\n" for x in r))
            for name, _, edits in files for s, r in edits
        ]
        target = data.draw(st.sampled_from([f[0] for f in files]))
        bad = EditBlock(0, target, "NOT IN THE FILE\n", "x\n")
        blocks.insert(min(bad_at, len(blocks)), bad)
        blocks = [EditBlock(i, b.path, b.search, b.replace) for i, b in enumerate(blocks, 1)]
        result = apply_edits(blocks, root)
        assert not result.ok and len(result.failed) == 1
        assert result.applied == [] and result.diff == ""
        after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}
        assert after == before


# ---------------------------------------------------------------------------------------
# Repeated and marker-like content: never a silently wrong edit.


# Few distinct lines, so the same text recurs; lines that look like edit markers (5-9 '='
# is a divider; 4 or 10 are not; SEARCH/REPLACE lookalikes with the wrong count).
PLAIN = ["a", "b", "x = 1", "return x", "}", "a ======="]
MARKERISH = ["=======", "=====", "=========", "====", "==========", "<<<< SEARCH",
             ">>>>>>>>>> REPLACE", "======= x"]
ADVERSARIAL = PLAIN + MARKERISH + ["", "...", "  =======", "    x = 1", "\treturn x", " ..."]
MANY = settings(SETTINGS, max_examples=200)


def _occurrences(lines: list[str], search: list[str]) -> list[int]:
    n = len(search)
    return [i for i in range(len(lines) - n + 1) if lines[i : i + n] == search]


def _apply_text(root: Path, text: str):
    parsed = parse_edits(text)
    assert parsed.errors == [] and len(parsed.blocks) == 1, parsed
    return parsed.blocks[0], apply_edits(parsed.blocks, root)


def _block_text(path: str, search: list[str], replace: list[str]) -> str:
    return render(path, search, replace, fenced=False)


@SETTINGS
@given(lines=st.lists(st.sampled_from(PLAIN + ["    x = 1", "\treturn x", "", "  }"]),
                      min_size=1, max_size=20),
       data=st.data(), crlf=st.booleans())
def test_repeated_search_applies_once_or_lists_every_match(lines, data, crlf) -> None:
    """SEARCH cut from a file of recurring lines: applied where it occurs when it occurs
    once, otherwise refused naming every occurrence, and the file is left as it was."""
    a = data.draw(st.integers(0, len(lines) - 1))
    b = data.draw(st.integers(a + 1, len(lines)))
    search = lines[a:b]
    if not any(x.strip() for x in search):
        return  # a blank SEARCH means "append"; not a match at all
    replace = [f"R{j}" for j in range(data.draw(st.integers(0, 3)))]
    nl = "\r\n" if crlf else "\n"
    original = "".join(x + nl for x in lines).encode()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "f.txt").write_bytes(original)
        result = apply_edits([EditBlock(1, "f.txt", "".join(x + "\n" for x in search),
                                        "".join(x + "\n" for x in replace))], root)
        hits = _occurrences(lines, search)
        if len(hits) == 1:
            assert result.ok, result.failed
            want = lines[: hits[0]] + replace + lines[hits[0] + len(search) :]
            assert (root / "f.txt").read_bytes() == "".join(x + nl for x in want).encode()
        else:
            assert not result.ok and (root / "f.txt").read_bytes() == original
            reason = result.failed[0].reason
            n = len(search)
            places = ", ".join(f"{i + 1}" if n == 1 else f"{i + 1}-{i + n}" for i in hits)
            assert f"SEARCH matches {len(hits)} places in f.txt, at lines {places};" in reason


def _expected_marker_outcome(lines: list[str], body: list[str]) -> list[str] | None:
    """What the edit must do to a file without indentation, blank or '...' lines: the new
    lines, or None for a refusal (see apply._choose_split and _check_lone_reading)."""
    dividers = [k for k, x in enumerate(body) if DIVIDER_RE.match(x.strip())]
    readings = [(body[:k], body[k + 1 :]) for k in dividers]

    def one(search: list[str], replace: list[str]) -> list[str] | None:
        if not search:
            return lines + replace
        hits = _occurrences(lines, search)
        if len(hits) != 1:
            return None
        return lines[: hits[0]] + replace + lines[hits[0] + len(search) :]

    if len(readings) == 1:
        return one(*readings[0])
    fits = [(s, r) for s, r in readings if not s or _occurrences(lines, s)]
    if len(fits) != 1:
        return None
    search, replace = fits[0]
    if not search:
        return replace if not lines else None
    hits = _occurrences(lines, search)
    if len(hits) == 1:
        end = hits[0] + len(search)
        if end < len(lines) and DIVIDER_RE.match(lines[end].strip()):
            return None
    return one(search, replace)


@MANY
@given(lines=st.lists(st.sampled_from(PLAIN + MARKERISH), max_size=14), data=st.data())
def test_marker_like_content_takes_the_one_matching_reading_or_nothing(lines, data) -> None:
    """Divider-like lines in the file, in SEARCH and in REPLACE: the block applies exactly
    as the reference says (one matching reading, one place) or writes nothing."""
    if lines and data.draw(st.booleans()):
        a = data.draw(st.integers(0, len(lines) - 1))
        search = lines[a : data.draw(st.integers(a, len(lines)))]
    else:
        search = data.draw(st.lists(st.sampled_from(PLAIN + MARKERISH), max_size=4))
    replace = data.draw(st.lists(st.sampled_from(PLAIN + MARKERISH + ["NEW"]), max_size=5))
    original = "".join(x + "\n" for x in lines).encode()
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "f.txt").write_bytes(original)
        _, result = _apply_text(root, _block_text("f.txt", search, replace))
        want = _expected_marker_outcome(lines, search + ["======="] + replace)
        if want is None:
            assert not result.ok, (lines, search, replace)
            assert (root / "f.txt").read_bytes() == original
        else:
            assert result.ok, (lines, search, replace, result.failed)
            assert (root / "f.txt").read_bytes() == "".join(x + "\n" for x in want).encode()


@MANY
@given(lines=st.lists(st.sampled_from(ADVERSARIAL), min_size=1, max_size=16), data=st.data(),
       crlf=st.booleans())
def test_adversarial_blocks_apply_as_written_or_not_at_all(lines, data, crlf) -> None:
    """Indented dividers, blank lines, '...' and recurring text, with SEARCH sometimes
    miscopied after the divider-like lines it holds: whatever is written is exactly what
    the block's real reading (its own ======= line as the divider) writes on its own."""
    a = data.draw(st.integers(0, len(lines) - 1))
    search = list(lines[a : data.draw(st.integers(a, len(lines)))])
    if search and data.draw(st.booleans()):  # miscopy one ordinary line
        j = data.draw(st.integers(0, len(search) - 1))
        if not DIVIDER_RE.match(search[j].strip()):
            search[j] += "!"
    replace = data.draw(st.lists(st.sampled_from(ADVERSARIAL + ["NEW"]), max_size=5))
    nl = "\r\n" if crlf else "\n"
    original = "".join(x + nl for x in lines).encode()
    with tempfile.TemporaryDirectory() as d:
        root, alone = Path(d) / "multi", Path(d) / "alone"
        for r in (root, alone):
            r.mkdir()
            (r / "f.txt").write_bytes(original)
        block, result = _apply_text(root, _block_text("f.txt", search, replace))
        if not result.ok:
            assert (root / "f.txt").read_bytes() == original
            return
        real = EditBlock(1, "f.txt", "".join(x + "\n" for x in search),
                         "".join(x + "\n" for x in replace))
        assert apply_edits([real], alone).ok, (lines, search, replace, block)
        assert (root / "f.txt").read_bytes() == (alone / "f.txt").read_bytes()


@SETTINGS
@given(n=st.integers(3, 14), data=st.data())
def test_elision_keeps_untouched_bytes(n, data) -> None:
    """Mixed line endings and a missing final newline survive a '...' edit: only the
    replaced lines change, and they take the file's dominant ending."""
    lines = [f"line{i}" for i in range(n)]
    ends = data.draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=n, max_size=n))
    if data.draw(st.booleans()):
        ends[-1] = ""
    original = "".join(x + e for x, e in zip(lines, ends, strict=True))
    i = data.draw(st.integers(0, n - 3))
    j = data.draw(st.integers(i + 2, n - 1))  # at least one line skipped between the pieces
    search = f"{lines[i]}\n...\n{lines[j]}\n"
    replace = f"NEW{i}\n...\nNEW{j}\n"
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "f.txt").write_bytes(original.encode())
        result = apply_edits([EditBlock(1, "f.txt", search, replace)], root)
        assert result.ok, result.failed
        crlf = sum(e == "\r\n" for e in ends)
        nl = "\r\n" if crlf and crlf * 2 >= sum(e != "" for e in ends) else "\n"
        want = []
        for k, (x, e) in enumerate(zip(lines, ends, strict=True)):
            if k in (i, j):
                want.append(f"NEW{k}" + (nl if e else ""))
            else:
                want.append(x + e)
        assert (root / "f.txt").read_bytes() == "".join(want).encode()
