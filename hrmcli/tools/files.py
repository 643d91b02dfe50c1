"""Read-only file tools: confined reads, the repo's file list, and regex search.

Everything is confined to the repository root (hrmcli.tools.paths, the one rule every tool
shares) so a model cannot read secrets elsewhere on the machine, and binary or non-UTF-8 files are refused rather than fed to the model as noise.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hrmcli.tools.errors import ToolError
from hrmcli.tools.paths import Refused, resolve_in_root

# Directories that are never source in any toolchain we support; skipped outside git repos.
JUNK_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", "target", "build", "dist", ".gradle",
        ".idea", ".vscode", ".cache", ".eggs",
    }
)
_SNIFF_BYTES = 8192
_MAX_MATCH_LINE = 500


@dataclass(frozen=True)
class Match:
    path: str
    line_no: int
    line: str


def _looks_binary(head: bytes) -> bool:
    return b"\0" in head


def read_file(root: str | Path, path: str | Path, start: int | None = None,
              end: int | None = None) -> str:
    """Lines `start`..`end` (1-based, inclusive) numbered like `cat -n`, so the model can cite them."""
    real = resolve_in_root(root, path)[1]
    if not real.exists():
        raise ToolError(f"{path} does not exist; use list_files to see what is there.")
    if not real.is_file():
        raise ToolError(f"{path} is not a regular file.")
    data = real.read_bytes()
    if _looks_binary(data[:_SNIFF_BYTES]):
        raise ToolError(f"{path} is a binary file ({len(data)} bytes); only text files can be read.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ToolError(
            f"{path} is not valid UTF-8 (bad byte at offset {e.start}); it cannot be read as text."
        ) from e
    lines = text.splitlines()
    first = 1 if start is None else start
    last = len(lines) if end is None else min(end, len(lines))
    if first < 1 or (end is not None and end < first):
        raise ToolError(f"bad line range {start}..{end}: lines are numbered from 1 and end >= start.")
    if lines and first > len(lines):
        raise ToolError(f"{path} has only {len(lines)} lines; start={first} is past the end.")
    return "".join(f"{n:6}\t{lines[n - 1]}\n" for n in range(first, last + 1))


def _git_files(root: Path) -> list[str] | None:
    """Tracked plus untracked-but-not-ignored files, or None when root is not in a git work tree."""
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, timeout=60,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    names = {n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n}
    # Files deleted in the work tree but still in the index are not there to read.
    return sorted(n for n in names if (root / n).is_file())


@dataclass(frozen=True)
class _IgnoreRule:
    base: str  # directory of the .gitignore, relative to root ("" for the root)
    pattern: str
    negate: bool
    dir_only: bool
    anchored: bool

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if self.base:
            if not rel.startswith(self.base + "/"):
                return False
            rel = rel[len(self.base) + 1:]
        if self.anchored:
            return fnmatch.fnmatchcase(rel, self.pattern)
        return fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], self.pattern)


def _parse_gitignore(file: Path, base: str) -> list[_IgnoreRule]:
    rules = []
    for raw in file.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line[1:] if negate else line
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        line = line.lstrip("/").removeprefix("**/")
        if line:
            rules.append(_IgnoreRule(base, line, negate, dir_only, anchored))
    return rules


def _ignored(rules: list[_IgnoreRule], rel: str, is_dir: bool) -> bool:
    verdict = False
    for rule in rules:  # last match wins, as in git
        if rule.matches(rel, is_dir):
            verdict = not rule.negate
    return verdict


def _walk_files(root: Path) -> list[str]:
    """Outside git: a walk that skips junk dirs and applies .gitignore files in a simple way."""
    out: list[str] = []
    rules: list[_IgnoreRule] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        if ".gitignore" in filenames:
            rules = rules + _parse_gitignore(here / ".gitignore", rel_dir)
        prefix = f"{rel_dir}/" if rel_dir else ""
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in JUNK_DIRS and not _ignored(rules, prefix + d, True)
            and not (here / d).is_symlink()
        )
        out.extend(prefix + f for f in filenames if not _ignored(rules, prefix + f, False))
    return sorted(out)


def list_files(root: str | Path) -> list[str]:
    """Repository files as sorted POSIX paths relative to root, honouring .gitignore."""
    real_root = Path(root).resolve()
    if not real_root.is_dir():
        raise ToolError(f"{root} is not a directory.")
    files = _git_files(real_root)
    return files if files is not None else _walk_files(real_root)


def _glob_matches(rel: str, glob: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(rel, glob) or ("/" not in glob and fnmatch.fnmatchcase(name, glob))


def grep(root: str | Path, pattern: str, glob: str | None = None,
         max_results: int = 200) -> list[Match]:
    """Regex search over list_files(root); binary files are skipped, long lines shortened."""
    try:
        regex = re.compile(pattern)
    except re.error as e:
        raise ToolError(f"bad regular expression {pattern!r}: {e}") from e
    real_root = Path(root).resolve()
    found: list[Match] = []
    for rel in list_files(real_root):
        if glob and not _glob_matches(rel, glob):
            continue
        try:
            data = resolve_in_root(real_root, rel)[1].read_bytes()
        except (Refused, OSError):
            continue  # a symlink out of the repository, or gone since it was listed
        if _looks_binary(data[:_SNIFF_BYTES]):
            continue
        for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if regex.search(line):
                found.append(Match(rel, n, line[:_MAX_MATCH_LINE]))
                if len(found) >= max_results:
                    return found
    return found
