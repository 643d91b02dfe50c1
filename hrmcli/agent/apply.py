"""Apply parsed edits to files: all or nothing, atomically, keeping each file's format.

Why it is built this way:
- Everything is computed in memory first. If any block fails, nothing is written, so a
  half-applied edit never leaves the project in a state nobody asked for.
- Files are kept as lines that carry their own line endings. Matching ignores the endings
  (CRLF files match LF edits), untouched lines are written back byte for byte, and new
  lines get the file's dominant ending. BOM, final-newline state and mode are kept.
- Matching is strict (exact lines, then one uniform indentation offset, then without a
  spurious blank first line, then `...` elision). A wrong edit is worse than a failure
  the model can retry, so there is no other fuzzy matching; failures carry a "did you
  mean" snippet instead.
- A SEARCH that matches several places is refused with the line numbers of each, never
  applied to the first. A block with several divider-like lines (content can hold a line
  of =======) is applied only when exactly one reading's SEARCH matches the file.
- Paths come from a model: anything outside the root, binary, undecodable or too big
  is refused with a reason.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hrmcli.agent.editblocks import DIVIDER_RE, BlockFailure, EditBlock
from hrmcli.agent.wholefile import WholeFile
from hrmcli.tools.paths import Refused, resolve_in_root

DEFAULT_MAX_FILE_BYTES = 1_000_000
BOM = b"\xef\xbb\xbf"
_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+$")
_SIMILARITY_THRESHOLD = 0.6


@dataclass
class ApplyResult:
    """What was written (or, with dry_run, would be). On failure nothing is written and
    `applied`, `diff` and `new_contents` are empty. `applied` lists files whose content
    changed, as paths relative to the root."""

    applied: list[str] = field(default_factory=list)
    failed: list[BlockFailure] = field(default_factory=list)
    diff: str = ""
    new_contents: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


# ---------------------------------------------------------------- files and paths
# Refused and resolve_in_root live in hrmcli.tools.paths: one confinement rule for the edit
# engine and every other tool. They are imported above and stay importable from here.


@dataclass
class _Doc:
    """A text file as lines that keep their own endings."""

    rel: str
    real: Path
    lines: list[str]
    original: bytes | None  # None: the file does not exist yet
    newline: str = "\n"
    bom: bool = False
    final_newline: bool = True
    mode: int | None = None
    changed: bool = False  # an earlier block already edited it (line numbers moved)


def _split(text: str) -> list[str]:
    return _LINE_RE.findall(text)


def _key(line: str) -> str:
    if line.endswith("\n"):
        line = line[:-1]
    return line[:-1] if line.endswith("\r") else line


def _load(rel: str, real: Path, max_bytes: int) -> _Doc:
    if not real.exists():
        return _Doc(rel, real, [], None)
    try:
        return _read(rel, real, max_bytes)
    except OSError as e:
        raise Refused(f"cannot read {rel}: {e.strerror or e}") from None


def _read(rel: str, real: Path, max_bytes: int) -> _Doc:
    st = real.stat()
    if stat.S_ISDIR(st.st_mode):
        raise Refused(f"{rel} is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"{rel} is not a regular file")
    if st.st_size > max_bytes:
        raise Refused(f"{rel} is {st.st_size} bytes, over the {max_bytes}-byte limit for edits")
    data = real.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Refused(f"{rel} is UTF-16; hrm edits UTF-8 text files only")
    if b"\x00" in data:
        raise Refused(f"{rel} looks binary (it contains NUL bytes); hrm edits text files only")
    bom = data.startswith(BOM)
    try:
        text = data[len(BOM) if bom else 0 :].decode("utf-8")
    except UnicodeDecodeError as e:
        raise Refused(
            f"{rel} is not valid UTF-8 (byte {e.start}); convert it to UTF-8 to edit it"
        ) from None
    crlf = text.count("\r\n")
    return _Doc(
        rel, real, _split(text), data,
        newline="\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n",
        bom=bom,
        final_newline=text.endswith("\n") or not text,
        mode=stat.S_IMODE(st.st_mode),
    )


def _render(doc: _Doc) -> str:
    lines = list(doc.lines)
    if lines:
        if doc.final_newline and not lines[-1].endswith("\n"):
            lines[-1] += doc.newline
        elif not doc.final_newline:
            lines[-1] = _key(lines[-1])
    return "".join(lines)


def _encode(doc: _Doc, text: str) -> bytes:
    return (BOM if doc.bom else b"") + text.encode("utf-8")


class _Docs:
    """Loads each file once (keyed by its real path, so symlinked names share state)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root, self.max_bytes = root, max_bytes
        self.docs: dict[Path, _Doc] = {}
        self.first_block: dict[Path, int] = {}

    def get(self, path: str, block: int) -> _Doc:
        rel, real = resolve_in_root(self.root, path)
        if real not in self.docs:
            self.docs[real] = _load(rel, real, self.max_bytes)
            self.first_block[real] = block
        return self.docs[real]


# ---------------------------------------------------------------- matching


def _lines_of(section: str) -> list[str]:
    if not section:
        return []
    return [_key(ln) for ln in _split(section)]


def _find_exact(keys: list[str], search: list[str]) -> int | None:
    hits = _exact_hits(keys, search)
    return hits[0] if hits else None


def _exact_hits(keys: list[str], search: list[str]) -> list[int]:
    """Every line index where search occurs exactly (overlapping occurrences included)."""
    n = len(search)
    first = search[0]
    return [i for i in range(len(keys) - n + 1) if keys[i] == first and keys[i : i + n] == search]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _offset_at(keys: list[str], search: list[str], i: int) -> tuple[int, str] | None:
    """The one indentation offset that makes search match at i: (+1, P) when the file is
    indented P more than SEARCH, (-1, P) when less. None when there is no uniform one."""
    offset: tuple[int, str] | None = None
    for f, s in zip(keys[i : i + len(search)], search, strict=True):
        if not s.strip():
            if f.strip():
                return None
            continue
        if f.lstrip() != s.lstrip():
            return None
        fi, si = _indent(f), _indent(s)
        if len(fi) >= len(si):
            if not fi.endswith(si):
                return None
            this = (1, fi[: len(fi) - len(si)])
        else:
            if not si.endswith(fi):
                return None
            this = (-1, si[: len(si) - len(fi)])
        if not this[1]:
            this = (1, "")
        if offset is None:
            offset = this
        elif offset != this:
            return None
    return offset


def _reindent(replace: list[str], offset: tuple[int, str]) -> list[str]:
    sign, prefix = offset
    if not prefix:
        return replace
    out = []
    for i, line in enumerate(replace, 1):
        if not line.strip():
            out.append(line)
        elif sign > 0:
            out.append(prefix + line)
        elif line.startswith(prefix):
            out.append(line[len(prefix) :])
        else:
            raise _NoMatch(
                f"SEARCH matched with {len(prefix)} fewer indentation characters, but "
                f"REPLACE line {i} is indented less than that, so it cannot be re-indented"
            )
    return out


class _NoMatch(Exception):
    pass


@dataclass(frozen=True)
class _Found:
    """Where one matching rule found SEARCH: every place it matched, (start, end) line
    indexes. More than one place is ambiguous and is refused, never applied to the first."""

    spans: list[tuple[int, int]]
    replace: list[str]
    offsets: list[tuple[int, str] | None]
    how: str  # how the match was made, for messages ("" for an exact match)

    def single(self) -> tuple[int, int, list[str]]:
        (start, end), offset = self.spans[0], self.offsets[0]
        return start, end, _reindent(self.replace, offset) if offset else self.replace


def _find(keys: list[str], search: list[str], replace: list[str]) -> _Found | None:
    """All matches under the first rule that finds any: exact lines, then one uniform
    indentation offset; each again without a spurious blank first SEARCH line. A rule
    that matches somewhere is final: an exact match is never passed over for a
    re-indented one elsewhere, and several matches under it make the edit ambiguous."""
    tries = [(search, replace, "")]
    if len(search) > 1 and not search[0].strip():
        stripped_replace = replace[1:] if replace and not replace[0].strip() else replace
        tries.append((search[1:], stripped_replace, " (leaving out its blank first line)"))
    for s, r, note in tries:
        n = len(s)
        hits = _exact_hits(keys, s)
        if hits:
            return _Found([(i, i + n) for i in hits], r, [None] * len(hits), note)
        if not any(x.strip() for x in s):
            continue
        offs = [(i, o) for i in range(len(keys) - n + 1) if (o := _offset_at(keys, s, i)) is not None]
        if offs:
            return _Found([(i, i + n) for i, _ in offs], r, [o for _, o in offs],
                          note + " once indentation is adjusted")
    return None


_MAX_PLACES = 50


def _places(spans: Sequence[tuple[int, int]]) -> str:
    """1-based line numbers of each span: '3, 7-9, 12'."""
    shown = [f"{s + 1}" if e - s == 1 else f"{s + 1}-{e}" for s, e in spans[:_MAX_PLACES]]
    more = len(spans) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def _ambiguous(doc: _Doc, found: _Found) -> str:
    reason = (
        f"SEARCH matches {len(found.spans)} places in {doc.rel}{found.how}, at lines "
        f"{_places(found.spans)}; hrm never guesses which one is meant. Add more of the "
        "unchanged lines around the change to both SEARCH and REPLACE, so that SEARCH "
        "matches exactly one place."
    )
    if doc.changed:
        reason += " Line numbers count the changes of the blocks above."
    return reason


def _is_elision(line: str) -> bool:
    return line.strip() == "..."


def _pieces(lines: list[str]) -> list[list[str]]:
    pieces: list[list[str]] = [[]]
    for line in lines:
        if _is_elision(line):
            pieces.append([])
        else:
            pieces[-1].append(line)
    return pieces


def _match_elided(
    keys: list[str], search: list[str], replace: list[str]
) -> list[tuple[int, int, list[str]]]:
    """Spans (start, end, replacement) of a block whose SEARCH skips lines with `...`;
    each piece must occur exactly once, in order. Lines between pieces are not touched."""
    s_pieces, r_pieces = _pieces(search), _pieces(replace)
    if len(s_pieces) != len(r_pieces):
        raise _NoMatch(
            f"SEARCH has {len(s_pieces) - 1} '...' lines but REPLACE has {len(r_pieces) - 1}; "
            "they must line up"
        )
    spans: list[tuple[int, int, list[str]]] = []
    for k, (sp, rp) in enumerate(zip(s_pieces, r_pieces, strict=True), 1):
        if not sp:
            if rp:
                raise _NoMatch(f"piece {k} around '...' has an empty SEARCH but a non-empty REPLACE")
            continue
        hits = _exact_hits(keys, sp)
        if len(hits) != 1:
            where = f" (lines {_places([(i, i + len(sp)) for i in hits])})" if hits else ""
            raise _NoMatch(
                f"with '...' elision, piece {k} of SEARCH must occur exactly once "
                f"but occurs {len(hits)} times{where}; add more unchanged lines to it"
            )
        if spans and hits[0] < spans[-1][1]:
            raise _NoMatch(f"with '...' elision, piece {k} of SEARCH comes before the piece above it")
        spans.append((hits[0], hits[0] + len(sp), rp))
    return spans


def _elided_pieces_present(keys: list[str], search: list[str]) -> bool:
    return all(not sp or _exact_hits(keys, sp) for sp in _pieces(search))


def _with_endings(lines: list[str], newline: str) -> list[str]:
    return [ln + newline for ln in lines]


def _is_empty(search: list[str]) -> bool:
    return not any(s.strip() for s in search)


def _could_match(doc: _Doc, keys: list[str], search: list[str], replace: list[str]) -> bool:
    """Whether SEARCH matches doc somewhere, by any rule (once or several times)."""
    if _is_empty(search):
        return True
    if doc.original is None and not doc.lines:
        return False
    if _find(keys, search, replace) is not None:
        return True
    return any(_is_elision(s) for s in search) and _elided_pieces_present(keys, search)


def _check_lone_reading(doc: _Doc, keys: list[str], block: EditBlock, k: int, head: str) -> None:
    """Refuse the one matching reading when it most likely comes from a SEARCH that holds
    a ======= line of the file and was miscopied after it.

    A SEARCH that is a prefix of another reading's SEARCH matches wherever that one does,
    so when only one reading matches it is usually the first, and the others failed. That
    is right when the extra divider-like lines are new content in REPLACE, and wrong when
    the block copied a ======= line of the file into SEARCH and got a later line wrong:
    then the file has that ======= line right after the match (or, for an empty SEARCH,
    the block would append to an existing file). Both are refused; neither is needed to
    add divider-like lines with an edit that quotes the lines before them."""
    search, replace = (_lines_of(x) for x in block.splits[k])
    if _is_empty(search):
        if doc.lines:
            raise _NoMatch(
                f"{head}. Only with line {block.divider_lines[k]} as the divider does SEARCH "
                f"match, and then SEARCH is empty, which would append to {doc.rel}; hrm does "
                "not guess that. To add lines to an existing file, copy the lines they go "
                "after into SEARCH and repeat them in REPLACE."
            )
        return
    found = _find(keys, search, replace)
    if found is None or len(found.spans) != 1:
        return  # elided or ambiguous: _apply_block explains or refuses it
    start, end = found.spans[0]
    if end < len(keys) and DIVIDER_RE.match(keys[end].strip()):
        where = f"line{'s' if end - start > 1 else ''} {_places(found.spans)} of {doc.rel}"
        raise _NoMatch(
            f"{head}. Only with line {block.divider_lines[k]} as the divider does SEARCH match "
            f"({where}), but the file's next line, {end + 1}, "
            "looks like a divider too, so SEARCH was probably meant to go on past it and does "
            "not match as written. Copy SEARCH exactly, and start or end it so that it "
            "holds no line like =======."
        )


_CONFLICT_START = re.compile(r"^<{7}(?: .*)?$")
_CONFLICT_BASE = re.compile(r"^\|{7}(?: .*)?$")
_CONFLICT_END = re.compile(r"^>{7}(?: .*)?$")


def _quotes_whole_conflicts(search: str) -> bool:
    """Whether SEARCH holds git conflict regions, each whole (<<<<<<< ... ======= ...
    >>>>>>>), and no divider-like line outside them."""
    part, regions = "", 0
    for line in _lines_of(search):
        s = line.strip()
        if _CONFLICT_START.match(s) and not part:
            part = "ours"
        elif _CONFLICT_BASE.match(s) and part == "ours":
            part = "base"
        elif DIVIDER_RE.match(s):
            if s != "=======" or part not in ("ours", "base"):
                return False
            part = "theirs"
        elif _CONFLICT_END.match(s) and part == "theirs":
            part, regions = "", regions + 1
        elif _CONFLICT_START.match(s) or _CONFLICT_END.match(s):
            return False
    return regions > 0 and not part


def _choose_split(doc: _Doc, block: EditBlock, conflicted: bool = False) -> tuple[str, str]:
    """For a block with several divider-like lines: the one reading whose SEARCH matches
    the file (an empty SEARCH counts as matching); none or several are refused.

    In a file git left conflicted (`conflicted`), a SEARCH that quotes whole conflict
    regions holds their ======= lines, so the same text also reads with SEARCH cut at the
    first of them. There the one reading that quotes whole regions is taken. Only there:
    elsewhere such content is as ambiguous as any other."""
    keys = [_key(ln) for ln in doc.lines]
    fits = [
        k for k, (s, r) in enumerate(block.splits)
        if _could_match(doc, keys, _lines_of(s), _lines_of(r))
    ]
    if conflicted and len(fits) > 1:
        whole = [k for k in fits if _quotes_whole_conflicts(block.splits[k][0])]
        if len(whole) == 1:
            return block.splits[whole[0]]
    lines = block.divider_lines
    head = (
        f"this block has {len(lines)} lines that look like the ======= divider (lines "
        f"{', '.join(map(str, lines))} after <<<<<<< SEARCH)"
    )
    if len(fits) == 1:
        _check_lone_reading(doc, keys, block, fits[0], head)
        return block.splits[fits[0]]
    if not fits:
        first_s, first_r = block.splits[0]
        miss = _explain_miss(doc.rel, keys, _lines_of(first_s), _lines_of(first_r))
        raise _NoMatch(
            f"{head}, and SEARCH matches {doc.rel} with none of them as the divider. "
            f"Taking line {lines[0]} as the divider: {miss}"
        )
    readings = ", ".join(str(lines[k]) for k in fits)
    raise _NoMatch(
        f"{head}, and SEARCH matches {doc.rel} with more than one of them as the divider "
        f"(lines {readings}), so hrm cannot tell which is the divider and which is content. "
        "Write the block so that only one reading matches: start or end SEARCH so that it "
        "holds no line like =======, or add more unchanged lines to it."
    )


def _apply_block(doc: _Doc, block: EditBlock, conflicted: bool = False) -> None:
    """Apply one block to doc.lines in memory, or raise _NoMatch with the reason."""
    search_text, replace_text = block.search, block.replace
    if block.ambiguous_divider:
        search_text, replace_text = _choose_split(doc, block, conflicted)
    search, replace = _lines_of(search_text), _lines_of(replace_text)
    nl = doc.newline
    if _is_empty(search):
        if doc.lines and not doc.lines[-1].endswith("\n"):
            doc.lines[-1] += nl
        doc.lines.extend(_with_endings(replace, nl))
        doc.changed = True
        return
    if doc.original is None and not doc.lines:
        raise _NoMatch(
            f"{doc.rel} does not exist; to create it, leave the SEARCH section empty"
        )
    keys = [_key(ln) for ln in doc.lines]
    found = _find(keys, search, replace)
    if found is not None:
        if len(found.spans) > 1:
            raise _NoMatch(_ambiguous(doc, found))
        start, end, new = found.single()
        doc.lines[start:end] = _with_endings(new, nl)
        doc.changed = True
        return
    if any(_is_elision(s) for s in search):
        # Only the matched pieces are replaced: the skipped lines keep their own endings.
        for start, end, new in reversed(_match_elided(keys, search, replace)):
            doc.lines[start:end] = _with_endings(new, nl)
        doc.changed = True
        return
    raise _NoMatch(_explain_miss(doc.rel, keys, search, replace))


def _explain_miss(rel: str, keys: list[str], search: list[str], replace: list[str]) -> str:
    reason = f"SEARCH does not match any lines in {rel}"
    near = _most_similar(keys, search)
    if near:
        start, end = near
        snippet = "\n".join(keys[start:end])
        reason += f"\nDid you mean these lines ({start + 1}-{end})?\n{snippet}"
    if any(r.strip() for r in replace) and _find_exact(keys, [r for r in replace]) is not None:
        reason += f"\nNote: the REPLACE text is already in {rel}; this edit may already be applied."
    return reason


def _most_similar(keys: list[str], search: list[str]) -> tuple[int, int] | None:
    """The window of the file most like SEARCH, when it is similar enough to be useful.

    quick_ratio() is a cheap upper bound, so the full ratio() runs only on the best few
    windows; that keeps this fast on large files."""
    n = len(search)
    if not keys or not n:
        return None
    n = min(n, len(keys))
    target = "\n".join(search)
    sm = difflib.SequenceMatcher(autojunk=False)
    sm.set_seq2(target)
    bounds = []
    for i in range(len(keys) - n + 1):
        sm.set_seq1("\n".join(keys[i : i + n]))
        bounds.append((sm.quick_ratio(), i))
    bounds.sort(key=lambda b: (-b[0], b[1]))
    best: tuple[float, int] | None = None
    for bound, i in bounds[:12]:
        if bound < _SIMILARITY_THRESHOLD or (best and bound <= best[0]):
            break
        sm.set_seq1("\n".join(keys[i : i + n]))
        r = sm.ratio()
        if r >= _SIMILARITY_THRESHOLD and (best is None or r > best[0]):
            best = (r, i)
    return (best[1], best[1] + n) if best else None


# ---------------------------------------------------------------- diff and writing


def _diff_lines(text: str | None) -> list[str]:
    if not text:
        return []
    lines = [_key(ln) + "\n" for ln in _split(text)]
    if not text.endswith("\n"):
        lines[-1] += "\\ No newline at end of file\n"
    return lines


def unified_diff(rel: str, old: str | None, new: str) -> str:
    """A git-style diff of one file (line endings normalized so CRLF files read cleanly)."""
    head = f"diff --git a/{rel} b/{rel}\n"
    if old is None:
        head += "new file mode 100644\n"
    body = "".join(
        difflib.unified_diff(
            _diff_lines(old), _diff_lines(new),
            fromfile="/dev/null" if old is None else f"a/{rel}", tofile=f"b/{rel}",
        )
    )
    return head + body if body else ""


@dataclass(frozen=True)
class FileWrite:
    """A planned write: `original` is what the file held when planned (None: new file)."""

    rel: str
    real: Path
    data: bytes
    original: bytes | None
    mode: int | None


class WriteFailed(Exception):
    def __init__(self, rel: str, reason: str) -> None:
        super().__init__(reason)
        self.rel = rel


def _default_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _place(real: Path, data: bytes, mode: int) -> Path:
    """Write data to a temp file next to `real` (same filesystem, so rename is atomic)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".hrm-tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)


def write_all_or_nothing(writes: Sequence[FileWrite]) -> None:
    """Write every file or none: stage temp files, check nothing changed on disk since it
    was read, then rename each into place; if a rename fails, put the earlier ones back."""
    staged: list[tuple[FileWrite, Path]] = []
    made_dirs: list[Path] = []
    try:
        for w in writes:
            current = w.real.read_bytes() if w.real.exists() else None
            if current != w.original:
                raise WriteFailed(w.rel, f"{w.rel} changed on disk while the edit was prepared")
            missing = [p for p in [w.real.parent, *w.real.parent.parents] if not p.exists()]
            for d in reversed(missing):
                d.mkdir()
                made_dirs.append(d)
            mode = w.mode if w.mode is not None else _default_mode()
            staged.append((w, _place(w.real, w.data, mode)))
    except OSError as e:
        _discard(staged, made_dirs)
        raise WriteFailed(writes[len(staged)].rel, f"could not write: {e}") from e
    except BaseException:
        _discard(staged, made_dirs)
        raise
    done: list[FileWrite] = []
    for w, tmp in staged:
        try:
            os.replace(tmp, w.real)
        except OSError as e:
            _discard(staged[len(done) :], [])
            _restore(done)
            _discard([], made_dirs)
            raise WriteFailed(w.rel, f"could not write: {e}") from e
        done.append(w)


def _discard(staged: list[tuple[FileWrite, Path]], made_dirs: list[Path]) -> None:
    for _, tmp in staged:
        tmp.unlink(missing_ok=True)
    for d in reversed(made_dirs):
        try:
            d.rmdir()
        except OSError:
            pass


def _restore(done: list[FileWrite]) -> None:
    for w in reversed(done):
        if w.original is None:
            w.real.unlink(missing_ok=True)
        else:
            os.replace(_place(w.real, w.original, w.mode or _default_mode()), w.real)


# ---------------------------------------------------------------- entry points

BeforeWrite = Callable[[list[str]], None]


def apply_edits(
    blocks: Sequence[EditBlock],
    root: Path,
    *,
    dry_run: bool = False,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    before_write: BeforeWrite | None = None,
    conflicted: Collection[str] = (),
) -> ApplyResult:
    """Apply SEARCH/REPLACE blocks in order (several on one file see each other's result).

    `before_write(paths)` runs after every block matched and before anything is written
    (hrm apply uses it to commit the user's pending changes); if it raises, nothing is
    written and the exception propagates. `conflicted`: root-relative paths git left with
    conflict markers in a merge, where a SEARCH may quote whole conflict regions.
    """
    docs = _Docs(Path(root), max_file_bytes)
    failed: list[BlockFailure] = []
    for block in blocks:
        try:
            doc = docs.get(block.path, block.index)
            _apply_block(doc, block, doc.rel in conflicted)
        except (Refused, _NoMatch) as e:
            failed.append(BlockFailure(block.index, block.path, str(e)))
    return _finish(docs, failed, dry_run, before_write)


def apply_whole_files(
    files: Sequence[WholeFile],
    root: Path,
    *,
    dry_run: bool = False,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    before_write: BeforeWrite | None = None,
) -> ApplyResult:
    """Replace (or create) each file with the given content; `block` numbers are 1-based."""
    docs = _Docs(Path(root), max_file_bytes)
    failed: list[BlockFailure] = []
    for i, wf in enumerate(files, 1):
        try:
            doc = docs.get(wf.path, i)
        except Refused as e:
            failed.append(BlockFailure(i, wf.path, str(e)))
            continue
        doc.lines = _with_endings(_lines_of(wf.content), doc.newline)
    return _finish(docs, failed, dry_run, before_write)


def _finish(
    docs: _Docs, failed: list[BlockFailure], dry_run: bool, before_write: BeforeWrite | None
) -> ApplyResult:
    if failed:
        return ApplyResult(failed=failed)
    result = ApplyResult()
    writes: list[FileWrite] = []
    for real, doc in docs.docs.items():
        new_text = _render(doc)
        data = _encode(doc, new_text)
        if data == doc.original:
            continue
        old_text = None if doc.original is None else doc.original[3 if doc.bom else 0 :].decode()
        result.applied.append(doc.rel)
        result.new_contents[doc.rel] = new_text
        result.diff += unified_diff(doc.rel, old_text, new_text)
        writes.append(FileWrite(doc.rel, real, data, doc.original, doc.mode))
    if dry_run or not writes:
        return result
    if before_write:
        before_write(list(result.applied))
    try:
        write_all_or_nothing(writes)
    except WriteFailed as e:
        block = next(docs.first_block[w.real] for w in writes if w.rel == e.rel)
        return ApplyResult(failed=[BlockFailure(block, e.rel, str(e))])
    return result
