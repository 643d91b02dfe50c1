"""Repo map on a small real multi-language git repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hrmcli.agent.repomap import RepoMap, estimate_tokens, extract_tags, language_for, pagerank

SOURCES: dict[str, str] = {
    "py/geometry.py": "class Shape:\n    def area(self):\n        return 0\n\n"
                      "def make_square(side):\n    return Shape()\n",
    "py/app.py": "from geometry import make_square\n\n"
                 "def main():\n    s = make_square(2)\n    return s.area()\n",
    "js/util.js": "function formatPrice(x) { return '$' + x; }\n"
                  "class Cart { total() { return 1; } }\nmodule.exports = { formatPrice, Cart };\n",
    "js/index.js": "const { formatPrice, Cart } = require('./util');\n"
                   "console.log(formatPrice(new Cart().total()));\n",
    "ts/types.ts": "export interface Invoice { id: number }\n"
                   "export function totalOf(inv: Invoice): number { return inv.id; }\n",
    "ts/view.tsx": "import { totalOf, Invoice } from './types';\n"
                   "export function Row(p: { inv: Invoice }) { return <b>{totalOf(p.inv)}</b>; }\n",
    "go/store.go": "package store\n\ntype Store struct{ n int }\n\n"
                   "func NewStore() *Store { return &Store{} }\n\n"
                   "func (s *Store) Count() int { return s.n }\n",
    "go/main.go": "package main\n\nfunc run() int { s := NewStore(); return s.Count() }\n",
    "rs/lib.rs": "pub struct Parser { pos: usize }\n\npub trait Tokenize { fn next_token(&self); }\n\n"
                 "pub fn parse_all(p: &Parser) -> usize { p.pos }\n",
    "rs/main.rs": "fn main() { let p = Parser { pos: 0 }; parse_all(&p); }\n",
    "java/Account.java": "public class Account {\n  public int balance() { return 0; }\n}\n",
    "java/Bank.java": "public class Bank {\n  int sum(Account a) { return a.balance(); }\n}\n",
    "cpp/matrix.hpp": "namespace linalg {\nclass Matrix {\n public:\n  int rows() const;\n};\n"
                      "int det(const Matrix& m);\n}\n",
    "cpp/matrix.cpp": "#include \"matrix.hpp\"\nint linalg::Matrix::rows() const { return 2; }\n"
                      "int linalg::det(const Matrix& m) { return m.rows(); }\n",
}

EXPECTED_DEFS: dict[str, set[str]] = {
    "py/geometry.py": {"Shape", "area", "make_square"},
    "js/util.js": {"formatPrice", "Cart", "total"},
    "ts/types.ts": {"Invoice", "totalOf"},
    "ts/view.tsx": {"Row"},
    "go/store.go": {"Store", "NewStore", "Count"},
    "rs/lib.rs": {"Parser", "Tokenize", "next_token", "parse_all"},
    "java/Account.java": {"Account", "balance"},
    "cpp/matrix.hpp": {"linalg", "Matrix", "rows", "det"},
    "cpp/matrix.cpp": {"rows", "det"},
}
EXPECTED_REFS: dict[str, set[str]] = {
    "py/app.py": {"make_square", "area"},
    "js/index.js": {"formatPrice", "Cart", "total"},
    "ts/view.tsx": {"totalOf", "Invoice"},
    "go/main.go": {"NewStore", "Count"},
    "rs/main.rs": {"Parser", "parse_all"},
    "java/Bank.java": {"Account", "balance"},
    "cpp/matrix.cpp": {"Matrix", "rows"},
}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, text in SOURCES.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return root


def test_defs_and_refs_for_every_language(repo: Path, tmp_path: Path) -> None:
    rm = RepoMap(repo, cache_dir=tmp_path / "cache")
    tags = rm.all_tags()
    assert set(tags) == set(SOURCES)
    langs = {t.lang for t in tags.values()}
    assert langs == {"python", "javascript", "typescript", "tsx", "go", "rust", "java", "cpp"}
    for path, names in EXPECTED_DEFS.items():
        assert names <= {d.name for d in tags[path].defs}, path
    for path, names in EXPECTED_REFS.items():
        assert names <= set(tags[path].refs), path
    # a definition's own name is not counted as a reference to itself
    assert "make_square" not in tags["py/geometry.py"].refs


def test_definition_lines_point_at_source() -> None:
    tags = extract_tags(SOURCES["go/store.go"].encode(), "go")
    by_name = {d.name: d for d in tags.defs}
    assert by_name["NewStore"].line == 5
    assert by_name["NewStore"].text.startswith("func NewStore()")
    assert language_for("a/b.HPP") == "cpp" and language_for("README.md") is None


def test_ranking_puts_personalised_files_neighbours_first(repo: Path, tmp_path: Path) -> None:
    rm = RepoMap(repo, cache_dir=tmp_path / "cache")
    for chat, neighbour in [("py/app.py", "py/geometry.py"), ("rs/main.rs", "rs/lib.rs"),
                            ("java/Bank.java", "java/Account.java")]:
        files = rm.ranked_files(chat_files=[chat])
        assert chat not in files  # files in the chat are already in context
        assert files[0] == neighbour, (chat, files[:3])
    # mentioning an identifier pulls its definition to the top
    top = rm.ranked_defs(mentioned={"NewStore"})[0]
    assert (top.path, top.name) == ("go/store.go", "NewStore")


def test_related_files_walk_references_both_ways(repo: Path, tmp_path: Path) -> None:
    rm = RepoMap(repo, cache_dir=tmp_path / "cache")
    # From a definition file, its callers: the one-way ranking cannot reach them.
    for definer, caller in [("go/store.go", "go/main.go"), ("js/util.js", "js/index.js"),
                            ("java/Account.java", "java/Bank.java")]:
        related = [f for f, _ in rm.related_files(chat_files=[definer])]
        assert related == [caller], (definer, related)  # no edge to anything else
        assert caller not in rm.ranked_files(chat_files=[definer])[:1]
    # From a caller, what it uses; from a mentioned name alone, its definer and its users.
    assert [f for f, _ in rm.related_files(chat_files=["py/app.py"])] == ["py/geometry.py"]
    by_name = dict(rm.related_files(mentioned={"totalOf"}))
    assert set(by_name) == {"ts/types.ts", "ts/view.tsx"} and min(by_name.values()) > 0
    assert rm.related_files() == []  # nothing to start from


def test_render_respects_token_budget(repo: Path, tmp_path: Path) -> None:
    rm = RepoMap(repo, cache_dir=tmp_path / "cache")
    full = rm.render(budget=100_000)
    assert "py/geometry.py:" in full and "def make_square(side):" in full
    for budget in (10, 40, 80, 160):
        text = rm.render(chat_files=["py/app.py"], budget=budget)
        assert estimate_tokens(text) <= budget
        assert len(text) < len(full)
    small = rm.render(chat_files=["py/app.py"], budget=40)
    assert small.startswith("py/geometry.py:")
    # a custom tokenizer is honoured: one token per word
    rm_words = RepoMap(repo, cache_dir=tmp_path / "cache", count_tokens=lambda s: len(s.split()))
    text = rm_words.render(budget=30)
    assert 0 < len(text.split()) <= 30


def test_cache_hit_on_unchanged_mtime(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = RepoMap(repo, cache_dir=cache)
    first.all_tags()
    assert first.cache_misses == len(SOURCES) and first.cache_hits == 0
    second = RepoMap(repo, cache_dir=cache)  # a new process would start like this
    second.all_tags()
    assert second.cache_hits == len(SOURCES) and second.cache_misses == 0
    f = repo / "py/geometry.py"
    f.write_text(f.read_text() + "\ndef cube(side):\n    return side ** 3\n")
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    third = RepoMap(repo, cache_dir=cache)
    tags = third.all_tags()
    assert third.cache_misses == 1 and third.cache_hits == len(SOURCES) - 1
    assert "cube" in {d.name for d in tags["py/geometry.py"].defs}


def test_corrupt_cache_is_rebuilt(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    rm = RepoMap(repo, cache_dir=cache)
    rm.all_tags()
    rm.cache_file.write_bytes(b"\xff\x00 not json")
    again = RepoMap(repo, cache_dir=cache)
    assert set(again.all_tags()) == set(SOURCES)
    assert again.cache_misses == len(SOURCES)


def test_pagerank_matches_hand_computed_chain() -> None:
    # a -> b -> c, teleport only to a: stationary mass flows down the chain
    r = pagerank(["a", "b", "c"], {("a", "b"): 1.0, ("b", "c"): 1.0}, {"a": 1.0})
    assert abs(sum(r.values()) - 1.0) < 1e-6
    d = 0.85
    # with dangling c returning to a: r_a = (1-d) + d*r_c, r_b = d*r_a, r_c = d*r_b
    ra = (1 - d) / (1 - d ** 3)
    assert abs(r["a"] - ra) < 1e-6 and abs(r["b"] - d * ra) < 1e-6
