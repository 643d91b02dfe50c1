"""Language detection and tree-sitter parsers for the training data.

The table itself (extension -> language, family, grammar) is hrmcli.languages, shared with
the agent's repo map so that a file is the same language in training and at inference;
this module re-exports what the data builders use and adds the parsed-source helpers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

import tree_sitter as ts

from hrmcli.languages import FAMILY, LANGUAGES, language_for, parser

__all__ = ["FAMILY", "LANGUAGES", "Source", "detect_language", "load", "parse", "parser_for",
           "walk"]


def detect_language(path: str | PurePath) -> str | None:
    """Language key for a path, or None when the extension is not one we train on."""
    return language_for(path)


def parser_for(lang: str, tsx: bool = False) -> ts.Parser:
    """The parser for a language key (tsx: TypeScript's TSX grammar)."""
    return parser("tsx" if tsx and lang == "typescript" else lang)


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
