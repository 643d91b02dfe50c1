"""Language detection by file extension and tree-sitter parsers for our six languages.

Grammars come from the per-language wheels in our dependencies, so nothing is downloaded
at run time. Parsers are cached per language because building one costs more than
parsing a typical file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import PurePath

import tree_sitter as ts

# Extension -> language key. "ts" covers .ts and .tsx (tsx gets its own grammar below).
EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".ipp": "cpp", ".inl": "cpp",
}
LANGUAGES: tuple[str, ...] = ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp")
# The six language families of the corpus report (JS/TS and C/C++ count together).
FAMILY: dict[str, str] = {
    "python": "python", "javascript": "js_ts", "typescript": "js_ts", "go": "go",
    "rust": "rust", "java": "java", "c": "c_cpp", "cpp": "c_cpp",
}


def detect_language(path: str | PurePath) -> str | None:
    """Language key for a path, or None when the extension is not one we train on."""
    return EXTENSIONS.get(PurePath(path).suffix.lower())


def _grammar(lang: str, tsx: bool) -> object:
    if lang == "python":
        import tree_sitter_python as m
        return m.language()
    if lang == "javascript":
        import tree_sitter_javascript as m
        return m.language()
    if lang == "typescript":
        import tree_sitter_typescript as m
        return m.language_tsx() if tsx else m.language_typescript()
    if lang == "go":
        import tree_sitter_go as m
        return m.language()
    if lang == "rust":
        import tree_sitter_rust as m
        return m.language()
    if lang == "java":
        import tree_sitter_java as m
        return m.language()
    if lang == "c":
        import tree_sitter_c as m
        return m.language()
    if lang == "cpp":
        import tree_sitter_cpp as m
        return m.language()
    raise KeyError(f"no grammar for {lang!r}; known: {', '.join(LANGUAGES)}")


@cache
def parser_for(lang: str, tsx: bool = False) -> ts.Parser:
    return ts.Parser(ts.Language(_grammar(lang, tsx)))


def parse(source: str, lang: str, path: str | PurePath = "") -> ts.Tree:
    tsx = lang == "typescript" and PurePath(path).suffix.lower() == ".tsx"
    return parser_for(lang, tsx).parse(source.encode("utf-8"))


def walk(node: ts.Node) -> Iterator[ts.Node]:
    """Every node under `node` in document order (iterative: real files nest deeply)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


@dataclass(frozen=True)
class Source:
    """A parsed file. Offsets from tree-sitter are byte offsets into `data`."""

    text: str
    lang: str
    tree: ts.Tree

    @property
    def data(self) -> bytes:
        return self._data

    def __post_init__(self) -> None:
        object.__setattr__(self, "_data", self.text.encode("utf-8"))

    def node_text(self, node: ts.Node) -> str:
        return self._data[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def replace_spans(self, spans: list[tuple[int, int, str]]) -> str:
        """Text with byte spans [(start, end, new_text)] replaced; spans must not overlap."""
        out, pos = [], 0
        for start, end, new in sorted(spans):
            if start < pos:
                raise ValueError("overlapping spans")
            out.append(self._data[pos:start])
            out.append(new.encode("utf-8"))
            pos = end
        out.append(self._data[pos:])
        return b"".join(out).decode("utf-8")


def load(text: str, lang: str, path: str | PurePath = "") -> Source:
    return Source(text, lang, parse(text, lang, path))
