"""The edit an editor applies: the changed lines between the text it holds and the proposal.

Whole lines are replaced (never part of one), so the only column ever sent is the end of
a last line without a newline, measured in the client's position units. Small edits
instead of one whole-document replace keep the editor's cursor, folds and marks where the
model changed nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from lsprotocol import types

# LSP ends lines at \n, \r\n or \r only (str.splitlines also splits at \f, \v, U+2028...).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lsp_lines(text: str) -> list[str]:
    """The text's lines as an LSP client numbers them, each with its own ending."""
    return _LINE.findall(text)


def _utf16_units(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _position(lines: list[str], index: int, units: Callable[[str], int]) -> types.Position:
    """Where line `index` starts, or the very end of the text for index == len(lines)."""
    if index < len(lines):
        return types.Position(line=index, character=0)
    if lines and not lines[-1].endswith(("\n", "\r")):
        last = lines[-1]
        return types.Position(line=len(lines) - 1, character=units(last))
    return types.Position(line=len(lines), character=0)


def line_edits(old: str, new: str,
               units: Callable[[str], int] = _utf16_units) -> list[types.TextEdit]:
    """TextEdits that turn `old` into `new`, one per run of changed lines, in document
    order and not overlapping (as LSP wants them). `units` counts a string in the client's
    position encoding (UTF-16 unless the client chose another)."""
    a, b = lsp_lines(old), lsp_lines(new)
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        edits.append(types.TextEdit(
            range=types.Range(start=_position(a, i1, units), end=_position(a, i2, units)),
            new_text="".join(b[j1:j2]),
        ))
    return edits
