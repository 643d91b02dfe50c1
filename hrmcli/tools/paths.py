"""The one place that decides whether a path may be used: inside the project root, or refused.

Paths come from a model or a user, and every tool that touches the disk (the edit engine,
file reads, the shell's working directory, snapshots, the chat's /add) goes through
`resolve_in_root`, so there is one rule, the strict one:

- `..` may not climb above the root, even when the result would resolve back inside;
- an absolute path must lie inside the root;
- `.git` is git's, never hrm's: refusing it keeps hrm from reading or rewriting repository
  internals (hooks, config with credentials);
- symlinks are resolved before the check, so a link inside the repository cannot point a
  tool at a file outside it;
- the root itself is a directory, not a file: it is refused unless the caller asks for a
  directory (allow_root, for a working directory).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from hrmcli.tools.errors import ToolError


class Refused(ToolError):
    """A path or file hrm will not touch; the message is the user-facing reason."""


def resolve_in_root(root: str | Path, path: str | Path, *,
                    allow_root: bool = False) -> tuple[str, Path]:
    """Map a path (relative to root, or absolute) to (normalized POSIX path relative to the
    root, real path inside the root); raise Refused with the reason otherwise. The relative
    path of the root itself is "." (only with allow_root)."""
    real_root = Path(root).resolve()
    text = str(path)
    if not text.strip():
        raise Refused("empty file path")
    p = PurePosixPath(text.replace("\\", "/"))
    if p.is_absolute():
        try:
            p = PurePosixPath(Path(p).resolve().relative_to(real_root).as_posix())
        except ValueError:
            raise Refused(f"{path} is an absolute path outside the project root {root}") from None
    parts: list[str] = []
    for part in p.parts:
        if part == "..":
            if not parts:
                raise Refused(f"{path} points outside the project root ('..')")
            parts.pop()
        elif part != ".":
            parts.append(part)
    if not parts:
        if allow_root:
            return ".", real_root
        raise Refused(f"{path} is the project root, not a file")
    if parts[0] == ".git":
        raise Refused(f"{path} is inside .git; hrm leaves git's own files alone")
    rel = "/".join(parts)
    real = (real_root / rel).resolve()
    try:
        real.relative_to(real_root)
    except ValueError:
        raise Refused(f"{rel} is a symlink that points outside the project root") from None
    return rel, real
