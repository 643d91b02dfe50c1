"""Parse the whole-file edit format: a path line, then a fence holding the file's full text.

Small models sometimes do better rewriting a short file than writing SEARCH blocks; the
result goes through the same all-or-nothing writer as SEARCH/REPLACE edits
(hrmcli.agent.apply.apply_whole_files). Fences without a path are prose (shell commands,
examples) and are skipped. A fence that never closes means the output was cut off:
writing it would truncate the file, so it is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from hrmcli.agent.editblocks import FENCE_RE, clean_path_line, fence_path


@dataclass(frozen=True)
class WholeFile:
    path: str
    content: str


class MalformedWholeFile(ValueError):
    """The text has a whole-file block that cannot be used (e.g. cut off mid-file)."""


def parse_whole_files(text: str) -> list[WholeFile]:
    lines = [ln.rstrip("\r") for ln in text.replace("\r\n", "\n").split("\n")]
    files: list[WholeFile] = []
    i = 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i].strip())
        if not m:
            i += 1
            continue
        fence = m.group(1)
        path = fence_path(m.group(2)) if m.group(2).strip() else None
        if path is None and i > 0:
            path = clean_path_line(lines[i - 1])
        end = i + 1
        while end < len(lines):
            s = lines[end].strip()
            if s.startswith(fence[0] * len(fence)) and not s.strip(fence[0]):
                break
            end += 1
        if end == len(lines):
            if path:
                raise MalformedWholeFile(
                    f"the fenced content for {path} (line {i + 1}) never closes; "
                    "the output looks cut off"
                )
            break
        if path:
            files.append(WholeFile(path, "".join(ln + "\n" for ln in lines[i + 1 : end])))
        i = end + 1
    return files
