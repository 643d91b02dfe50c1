"""Parse SEARCH/REPLACE edit blocks out of model output (docs/edit-format.md).

Parsing is kept apart from applying (hrmcli.agent.apply) so that benchmarks and data
generators can inspect blocks without touching files. The parser is driven by the
markers, not by code fences: fences only matter for finding the file path, so SEARCH
and REPLACE text may itself contain ``` lines. Model output is untrusted, so a malformed
block becomes a `BlockFailure` with a reason instead of an exception, and parsing goes
on with the next block.

A line of ======= can also be content (an rst heading underline, a banner comment), so a
block whose body holds several divider-like lines is not split at the first one: the
parser keeps every possible reading in `EditBlock.splits`, and the applier takes the one
whose SEARCH matches the file (refusing when none or several do).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SEARCH_RE = re.compile(r"^<{5,9} ?SEARCH$")
DIVIDER_RE = re.compile(r"^={5,9}$")
REPLACE_RE = re.compile(r"^>{5,9} ?REPLACE$")
FENCE_RE = re.compile(r"^(`{3,}|~{3,})\s*(.*)$")
# HRM-Code's control tokens (<|assistant|> ...) may survive in raw decoded text.
_CONTROL_TOKEN_RE = re.compile(r"<\|[^|>\s]*\|>")
# Extensionless names common enough to accept as a path without a '.' or '/'.
_BARE_NAMES = frozenset(
    {"Makefile", "makefile", "GNUmakefile", "Dockerfile", "Containerfile", "Jenkinsfile",
     "Gemfile", "Rakefile", "Procfile", "Vagrantfile", "LICENSE", "README", "CODEOWNERS"}
)


@dataclass(frozen=True)
class EditBlock:
    """One edit. `index` is the 1-based position of the block in the text, the same
    number failure messages show. `search` and `replace` use LF line endings and end
    with a newline unless empty.

    `splits` is empty when the block has one divider line. When its body holds several
    lines that look like the divider, each of them could be the real one: `splits` then
    lists every (search, replace) reading, one per candidate divider in order, and
    `divider_lines` where each sits (1 = the first line after the SEARCH marker).
    `search`/`replace` hold the first reading only; the applier picks among `splits`
    against the file (see hrmcli.agent.apply), so code that needs the block's meaning
    without the file must check `ambiguous_divider`."""

    index: int
    path: str
    search: str
    replace: str
    splits: tuple[tuple[str, str], ...] = ()
    divider_lines: tuple[int, ...] = ()

    @property
    def ambiguous_divider(self) -> bool:
        return len(self.splits) > 1


@dataclass(frozen=True)
class BlockFailure:
    """Why a block could not be parsed or applied; `block` is the block's 1-based index
    (0 when the failure is not tied to one block)."""

    block: int
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"block {self.block}" if self.block else "edits"
        if self.path:
            where += f" ({self.path})"
        return f"{where}: {self.reason}"


@dataclass
class ParseResult:
    blocks: list[EditBlock] = field(default_factory=list)
    errors: list[BlockFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def clean_path_line(line: str) -> str | None:
    """Return the file path a line names, or None when the line is not a path line.

    Tolerates decorations models add around paths: `#`, trailing `:`, backticks, `*`.
    A path with spaces is accepted only inside backticks; otherwise a single word needs
    a '.' or '/' (or a well-known name like Makefile), so that prose such as "Change:"
    is never taken for a file name.
    """
    s = _CONTROL_TOKEN_RE.sub("", line).strip()
    if not s or FENCE_RE.match(s) or _is_marker(s):
        return None
    s = s.lstrip("#").strip().rstrip(":").strip()
    quoted = s.startswith("`") and s.endswith("`") and len(s) > 1
    s = s.strip("*").strip("`").strip("*").strip().rstrip(":").strip()
    if not s or any(c in s for c in "`<>|\"'(){};=,"):
        return None
    if not quoted and any(c.isspace() for c in s):
        return None
    if "." not in s and "/" not in s and s not in _BARE_NAMES:
        return None
    return s


def _is_marker(stripped: str) -> bool:
    return bool(
        SEARCH_RE.match(stripped) or DIVIDER_RE.match(stripped) or REPLACE_RE.match(stripped)
    )


def fence_path(info: str) -> str | None:
    """Path given on a fence line itself: ```python src/a.py, or ```src/a.py."""
    words = info.split()
    if len(words) == 2:
        return clean_path_line(words[1])
    if len(words) == 1 and ("/" in words[0] or "." in words[0]):
        return clean_path_line(words[0])
    return None


def path_before(lines: list[str], i: int) -> str | None:
    """Find the path for a block whose opening line (fence or SEARCH marker) is line i.

    The path is on the line just before a fence, on the fence line itself, or on the
    line just before a SEARCH marker when there is no fence (HRM-Code's form).
    """
    j = i - 1
    if j < 0:
        return None
    prev = lines[j].strip()
    fence = FENCE_RE.match(prev)
    if fence and fence.group(2).strip():  # an opening fence with info: maybe `lang path`
        found = fence_path(fence.group(2))
        if found:
            return found
        return clean_path_line(lines[j - 1]) if j >= 1 else None
    if fence:  # a bare ``` just before SEARCH: an opening fence, or the close of the last block
        return clean_path_line(lines[j - 1]) if j >= 1 else None
    return clean_path_line(lines[j])


def _section(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def parse_edits(text: str) -> ParseResult:
    """Parse every SEARCH/REPLACE block in `text`; prose around the blocks is ignored."""
    lines = [ln.rstrip("\r") for ln in text.replace("\r\n", "\n").split("\n")]
    result = ParseResult()
    last_path = ""
    index = 0
    i = 0
    n = len(lines)
    while i < n:
        stripped = lines[i].strip()
        if REPLACE_RE.match(stripped):
            index += 1
            result.errors.append(
                BlockFailure(index, last_path, f"'{stripped}' on line {i + 1} has no SEARCH marker before it")
            )
            i += 1
            continue
        if not SEARCH_RE.match(stripped):
            i += 1
            continue
        index += 1
        path = path_before(lines, i) or last_path
        start = i
        dividers: list[int] = []
        replace_end = None
        j = i + 1
        while j < n:
            s = lines[j].strip()
            if SEARCH_RE.match(s):
                break
            if DIVIDER_RE.match(s):
                dividers.append(j)
            elif dividers and REPLACE_RE.match(s):
                replace_end = j
                break
            j += 1
        divider = dividers[0] if dividers else None
        if not path:
            result.errors.append(
                BlockFailure(index, "", "no file path: put the path on its own line before the block")
            )
        elif divider is None:
            result.errors.append(
                BlockFailure(index, path, f"SEARCH on line {start + 1} has no ======= divider after it")
            )
        elif replace_end is None:
            result.errors.append(
                BlockFailure(index, path, f"SEARCH on line {start + 1} has no >>>>>>> REPLACE marker after it")
            )
        else:
            splits = tuple(
                (_section(lines[start + 1 : d]), _section(lines[d + 1 : replace_end]))
                for d in dividers
            )
            several = len(splits) > 1
            result.blocks.append(
                EditBlock(
                    index=index,
                    path=path,
                    search=splits[0][0],
                    replace=splits[0][1],
                    splits=splits if several else (),
                    divider_lines=tuple(d - start for d in dividers) if several else (),
                )
            )
        if path:
            last_path = path
        i = replace_end + 1 if replace_end is not None else j
    return result
