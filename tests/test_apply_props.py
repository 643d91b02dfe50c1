"""Property tests: random valid edit sets round-trip; one bad block writes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hrmcli.agent.apply import apply_edits
from hrmcli.agent.editblocks import EditBlock, parse_edits

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
