"""The one language table: the repo map and the training data agree on every extension, and
every grammar it names parses real code."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrmcli.agent.repomap import RepoMap, extract_tags
from hrmcli.languages import (
    EXTENSIONS,
    FAMILY,
    GRAMMARS,
    LANGUAGES,
    grammar_for,
    language_for,
    parser,
)
from trainer.data import treesitter

HEADER = "struct point { int x; int y; };\nint distance(struct point a, struct point b);\n"
SAMPLES = {
    "python": b"def f(x):\n    return x\n",
    "javascript": b"function f(x) { return x; }\n",
    "typescript": b"function f(x: number): number { return x; }\n",
    "tsx": b"export const A = () => <b>{1}</b>;\n",
    "go": b"package p\n\nfunc F() int { return 1 }\n",
    "rust": b"fn f() -> i32 { 1 }\n",
    "java": b"class A { int f() { return 1; } }\n",
    "c": HEADER.encode(),
    "cpp": b"namespace n { class A { public: int f(); }; }\n",
}


@pytest.mark.parametrize("grammar", sorted(GRAMMARS))
def test_every_grammar_parses_its_language(grammar: str) -> None:
    tree = parser(grammar).parse(SAMPLES[grammar])
    assert not tree.root_node.has_error


def test_the_training_data_and_the_repo_map_read_the_same_table() -> None:
    for ext, lang in EXTENSIONS.items():
        path = f"src/file{ext}"
        assert treesitter.detect_language(path) == language_for(path) == lang.name
        assert grammar_for(path) == lang.grammar in GRAMMARS
        assert treesitter.FAMILY[lang.name] == FAMILY[lang.name] == lang.family
    assert set(treesitter.LANGUAGES) == {lang.name for lang in EXTENSIONS.values()} == set(LANGUAGES)
    assert language_for("README.md") is None and grammar_for("Makefile") is None


def test_dot_h_is_c_everywhere_unless_the_caller_knows_better() -> None:
    assert language_for("include/point.H") == "c" == treesitter.detect_language("point.h")
    assert FAMILY["c"] == "c_cpp"
    assert grammar_for("point.h") == "c" and grammar_for("point.h", prefer="cpp") == "cpp"
    assert grammar_for("view.tsx") == "tsx" and language_for("view.tsx") == "typescript"
    # the training data parses a .h with the C grammar, as the repo map does
    src = treesitter.load(HEADER, "c", "point.h")
    assert not src.tree.root_node.has_error


def test_repo_map_reads_a_c_header(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "point.h").write_text(HEADER)
    (root / "main.c").write_text('#include "point.h"\nint main(void) { struct point p; '
                                 "return distance(p, p); }\n")
    tags = RepoMap(root, cache_dir=tmp_path / "cache").all_tags()
    assert tags["point.h"].lang == "c"
    assert {"point", "distance"} <= {d.name for d in tags["point.h"].defs}
    assert "distance" in tags["main.c"].refs
    assert {d.name for d in extract_tags(HEADER.encode(), "c").defs} == {"point", "distance"}
