"""The one language table: file extension -> language, corpus family and tree-sitter grammar.

The repo map (hrmcli.agent.repomap) and the training data (trainer.data) both read this
table, so a file is the same language when the model is trained on it and when the agent
maps a repository.

`.h` is C. A header alone does not say whether it is C or C++; C++ projects mostly name
theirs .hpp/.hh/.hxx, and the C grammar parses the declarations both languages share
(prototypes, structs, enums, macros). In a C++ project's .h a class body does not parse as
C, so the repo map misses those classes; a caller that knows the project is C++ passes
prefer="cpp" to grammar_for.

Grammars come from the per-language wheels in our dependencies (nothing is downloaded at
run time) and are imported only when a file of that language is parsed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import PurePath
from typing import Any


@dataclass(frozen=True)
class Language:
    name: str  # the language key: python, javascript, typescript, go, rust, java, c, cpp
    family: str  # the corpus report's family (JS/TS and C/C++ count together)
    grammar: str  # the tree-sitter grammar key; only .tsx differs from the language


def _lang(name: str, family: str, grammar: str = "") -> Language:
    return Language(name, family, grammar or name)


PYTHON = _lang("python", "python")
JAVASCRIPT = _lang("javascript", "js_ts")
TYPESCRIPT = _lang("typescript", "js_ts")
TSX = _lang("typescript", "js_ts", "tsx")
GO = _lang("go", "go")
RUST = _lang("rust", "rust")
JAVA = _lang("java", "java")
C = _lang("c", "c_cpp")
CPP = _lang("cpp", "c_cpp")

EXTENSIONS: dict[str, Language] = {
    ".py": PYTHON, ".pyi": PYTHON,
    ".js": JAVASCRIPT, ".mjs": JAVASCRIPT, ".cjs": JAVASCRIPT, ".jsx": JAVASCRIPT,
    ".ts": TYPESCRIPT, ".mts": TYPESCRIPT, ".cts": TYPESCRIPT, ".tsx": TSX,
    ".go": GO,
    ".rs": RUST,
    ".java": JAVA,
    ".c": C, ".h": C,  # see the module docstring for .h
    ".cc": CPP, ".cpp": CPP, ".cxx": CPP, ".c++": CPP,
    ".hh": CPP, ".hpp": CPP, ".hxx": CPP, ".ipp": CPP, ".inl": CPP,
}
LANGUAGES: tuple[str, ...] = ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp")
FAMILY: dict[str, str] = {lang.name: lang.family for lang in EXTENSIONS.values()}
# The documentation style `hrm doc` writes unless told otherwise: the one each language's own
# tools read (C and C++ get javadoc-style /** */ comments, which Doxygen reads).
DOC_STYLES: dict[str, str] = {
    "python": "google", "javascript": "jsdoc", "typescript": "jsdoc", "go": "godoc",
    "rust": "rustdoc", "java": "javadoc", "c": "javadoc", "cpp": "javadoc",
}

# Grammar key -> (wheel module, function that returns the language pointer).
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}


def language_of(path: str | PurePath) -> Language | None:
    """The table's row for a path, or None when its extension is not a language we know."""
    return EXTENSIONS.get(PurePath(path).suffix.lower())


def language_for(path: str | PurePath) -> str | None:
    """The language key for a path (".tsx" is typescript), or None."""
    lang = language_of(path)
    return lang.name if lang else None


def grammar_for(path: str | PurePath, prefer: str | None = None) -> str | None:
    """The tree-sitter grammar key for a path, or None. prefer="cpp" reads .h as C++ (for a
    caller that knows the project is C++)."""
    if prefer == "cpp" and PurePath(path).suffix.lower() == ".h":
        return "cpp"
    lang = language_of(path)
    return lang.grammar if lang else None


@cache
def parser(grammar: str) -> Any:
    """A tree-sitter parser for a grammar key, built once: building one costs more than
    parsing a typical file."""
    import tree_sitter

    if grammar not in GRAMMARS:
        raise KeyError(f"no grammar {grammar!r}; known: {', '.join(GRAMMARS)}")
    module, func = GRAMMARS[grammar]
    pointer = getattr(importlib.import_module(module), func)()
    return tree_sitter.Parser(tree_sitter.Language(pointer))
