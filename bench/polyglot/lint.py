"""Lint after each applied edit: errors go back to the model as an in-try repair."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

# flake8's fatal codes: syntax errors and names that cannot exist
FLAKE8_FATAL = "E9,F821,F823,F831,F406,F407,F701,F702,F704,F706"
_GRAMMARS = {".js": ("tree_sitter_javascript", "language"), ".mjs": ("tree_sitter_javascript", "language"),
             ".rs": ("tree_sitter_rust", "language"), ".go": ("tree_sitter_go", "language"),
             ".java": ("tree_sitter_java", "language"), ".cpp": ("tree_sitter_cpp", "language"),
             ".cc": ("tree_sitter_cpp", "language"), ".h": ("tree_sitter_cpp", "language"),
             ".hpp": ("tree_sitter_cpp", "language")}


def lint_file(path: Path, rel: str) -> str:
    """'' when clean, else a report naming the file and lines."""
    if path.suffix == ".py":
        return _lint_python(path, rel)
    if path.suffix in _GRAMMARS:
        return _parse_errors(path, rel)
    return ""


def _lint_python(path: Path, rel: str) -> str:
    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        compile(source, rel, "exec")
    except SyntaxError as e:  # IndentationError is a SyntaxError
        return f"{rel}:{e.lineno}: {type(e).__name__}: {e.msg}"
    if importlib.util.find_spec("flake8") is None:
        return ""
    r = subprocess.run([sys.executable, "-m", "flake8", f"--select={FLAKE8_FATAL}",
                        "--show-source", "--isolated", str(path)], capture_output=True, text=True)
    return r.stdout.replace(str(path), rel).strip()


def _parse_errors(path: Path, rel: str) -> str:
    import tree_sitter

    mod_name, attr = _GRAMMARS[path.suffix]
    mod = importlib.import_module(mod_name)
    parser = tree_sitter.Parser(tree_sitter.Language(getattr(mod, attr)()))
    tree = parser.parse(path.read_bytes())
    if not tree.root_node.has_error:
        return ""
    lines, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            lines.append(node.start_point[0] + 1)
        elif node.has_error:
            stack.extend(node.children)
    return f"{rel}: syntax errors at line(s) {', '.join(map(str, sorted(set(lines))))}"
