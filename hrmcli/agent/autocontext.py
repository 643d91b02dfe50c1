"""Which files to add to an edit on their own (`hrm edit --auto-context`): the ones the repo
map ranks highest for the given files and the task, as long as they fit a token budget.

A rename or a signature change is only done when every caller follows, and users name the
file they are thinking of, not its callers. The repo map (hrmcli.agent.repomap) knows who
uses what; this picks from its ranking whole files that the coder can read and that fit,
so the model can edit them in the same all-or-nothing transaction. Files that rank but do
not fit are reported too, so the user sees what was left out and can raise the budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hrmcli.agent.repomap import RepoMap
from hrmcli.agent.window import CHARS_PER_TOKEN, task_names

DEFAULT_CONTEXT_TOKENS = 2048
MAX_CANDIDATES = 20  # ranked files looked at; further down the ranking is noise
MAX_FILE_BYTES = 1_000_000  # what the coder reads (hrmcli.agent.coder)


@dataclass(frozen=True)
class ContextFile:
    path: str  # relative to the repository root
    tokens: int  # estimated, at the coder's characters per token
    score: float  # repo-map rank; higher is more related


@dataclass
class AutoContext:
    budget: int
    added: list[ContextFile] = field(default_factory=list)
    skipped: list[ContextFile] = field(default_factory=list)  # ranked, but over the budget

    @property
    def tokens(self) -> int:
        return sum(f.tokens for f in self.added)

    def to_json(self) -> dict:
        return {"budget": self.budget, "tokens": self.tokens,
                "added": [_rounded(f) for f in self.added],
                "skipped": [_rounded(f) for f in self.skipped]}


def _rounded(f: ContextFile) -> dict:
    return {**asdict(f), "score": round(f.score, 6)}


def estimate_tokens(text: str) -> int:
    """Tokens a file costs in the prompt, at the rate the coder fits files by
    (hrmcli.agent.window), so the budget means the same in both places."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _readable_text(path: Path) -> str | None:
    """The file's text when the coder would accept it (small, not binary, UTF-8)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES or b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def pick_context(root: Path | str, given: Sequence[str], task: str,
                 budget: int = DEFAULT_CONTEXT_TOKENS,
                 repomap: RepoMap | None = None) -> AutoContext:
    """Files related to `given` (root-relative paths) and `task`, best first, added while
    their estimated tokens fit `budget`; a file that does not fit is skipped and smaller
    ones further down may still be added."""
    rmap = repomap or RepoMap(root)
    out = AutoContext(budget)
    left = budget
    for rel, score in rmap.related_files(given, task_names(task))[:MAX_CANDIDATES]:
        text = _readable_text(rmap.root / rel)
        if text is None:
            continue
        f = ContextFile(rel, estimate_tokens(text), score)
        if f.tokens <= left:
            out.added.append(f)
            left -= f.tokens
        else:
            out.skipped.append(f)
    return out
