"""Fit files into a model's context: a file too long for the prompt is shown as a window of
whole lines around what the task names, not refused.

A small model holds 2k tokens; users still point it at 800-line files. The window is
centred on the first line that defines a name the task mentions (`def name`, `function
name`, `func name`, `fn name`, `class name`, ...), or failing that on the first line that
mentions it, and grows in both directions to the budget, ending on blank lines where it
can. The model sees the window under the file's own path, the layout the tuning data uses
for windows; edits are still applied to (and SEARCH constrained by) the whole file, so a
SEARCH copied from the window finds its place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

CHARS_PER_TOKEN = 3.0  # code through a GPT-2-style BPE: measured 3.2-3.6 chars per token
_NAME_RE = re.compile(r"`([^`\s]+)`|\b([A-Za-z_][A-Za-z0-9_]{2,})\b")
_STOP = frozenset("""the and for with from that this into are was were has have not but all any
its our your you can should would could please make change rename remove delete add fix
function method variable class file parameter argument value default return returns instead
when then there use uses used bug wrong last first one two new old error line lines code""".split())


def task_names(task: str) -> list[str]:
    """Names the task mentions, backticked ones first (users quote identifiers)."""
    quoted, words = [], []
    for m in _NAME_RE.finditer(task):
        if m.group(1):
            name = m.group(1).strip("()")
            quoted += [p for p in re.split(r"[.:]", name) if p]
        elif m.group(2).lower() not in _STOP:
            words.append(m.group(2))
    seen, out = set(), []
    for n in quoted + words:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def anchor_line(lines: Sequence[str], names: Sequence[str]) -> int:
    """Index of the line to centre on: a definition of a named thing, else a mention, else 0."""
    for name in names:
        pat = re.compile(rf"\b(def|function|func|fn|class|struct|interface|const|let|var|type)"
                         rf"\s+(\([^)]*\)\s*)?{re.escape(name)}\b")
        for i, line in enumerate(lines):
            if pat.search(line):
                return i
    for name in names:
        pat = re.compile(rf"\b{re.escape(name)}\b")
        for i, line in enumerate(lines):
            if pat.search(line):
                return i
    return 0


def window(content: str, task: str, max_chars: int) -> str:
    """`content` itself when it fits, else whole lines around the task's anchor."""
    if len(content) <= max_chars:
        return content
    lines = content.splitlines(keepends=True)
    a = anchor_line(lines, task_names(task))
    lo, hi, size = a, a + 1, len(lines[a])
    grew = True
    while grew:
        grew = False
        # Twice as much context after the anchor as before it: bodies follow their heads.
        for step in ("after", "after", "before"):
            if step == "after" and hi < len(lines) and size + len(lines[hi]) <= max_chars:
                size += len(lines[hi])
                hi += 1
                grew = True
            elif step == "before" and lo > 0 and size + len(lines[lo - 1]) <= max_chars:
                lo -= 1
                size += len(lines[lo])
                grew = True
    # Prefer to end on a blank line (the end of a definition) when one is near.
    for j in range(hi, max(lo + 1, hi - 8), -1):
        if not lines[j - 1].strip():
            hi = j
            break
    return "".join(lines[lo:hi])


def fit_files(files: Sequence[tuple[str, str]], task: str, context_tokens: int,
              reserve_tokens: int) -> list[tuple[str, str]]:
    """The files as the prompt should show them: unchanged when they fit the context less
    `reserve_tokens` (system prompt, task, answer), else the longest ones windowed."""
    budget = int(max(context_tokens - reserve_tokens, 256) * CHARS_PER_TOKEN)
    total = sum(len(c) for _, c in files)
    if total <= budget:
        return list(files)
    share = budget // max(len(files), 1)
    small = sum(len(c) for _, c in files if len(c) <= share)
    big = [p for p, c in files if len(c) > share]
    per_big = max((budget - small) // max(len(big), 1), 400)
    return [(p, window(c, task, per_big) if p in big else c) for p, c in files]
