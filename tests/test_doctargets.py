"""Which functions `hrm doc` documents, per language, and the styles it can write them in."""

from __future__ import annotations

import pytest

from hrmcli.agent import prompts
from hrmcli.agent.doctargets import DocTarget, SymbolNotFound, find_targets, select
from hrmcli.commands.doc import STYLES, doc_task, style_for
from hrmcli.languages import DOC_STYLES, LANGUAGES

SOURCES = {
    "python": (
        '"""Module."""\nimport os\n\n\ndef a():\n    """Doc."""\n\n    def inner():\n'
        "        pass\n\n\n@dec\ndef b():\n    pass\n\n\nclass C:\n    # note\n"
        '    """C doc."""\n\n    def m(self):\n        # a comment is not a docstring\n'
        "        return 1\n",
        [DocTarget("a", 5, True), DocTarget("b", 12, False), DocTarget("C.m", 21, False)],
    ),
    "javascript": (
        "/** Doc. */\nexport function f(a) { return 1 }\n// plain comment\n"
        "const g = (x) => x;\nclass C {\n  /** M. */\n  m() {}\n  n() { function q() {} }\n}\n",
        [DocTarget("f", 2, True), DocTarget("g", 4, False), DocTarget("C.m", 7, True),
         DocTarget("C.n", 8, False)],
    ),
    "go": (
        "package m\n\n// F does.\nfunc F() {}\n\n// a comment with a blank line after\n\n"
        "func G() {}\n\nfunc (s *S) M() {}\n",
        [DocTarget("F", 4, True), DocTarget("G", 8, False), DocTarget("S.M", 10, False)],
    ),
    "rust": (
        "/// Doc.\n#[inline]\npub fn f() {}\n// plain\nfn h() {}\n"
        "impl<T> Foo<T> {\n    fn g(&self) {}\n}\ntrait Tr {\n    fn s(&self);\n}\n",
        [DocTarget("f", 3, True), DocTarget("h", 5, False), DocTarget("Foo.g", 7, False),
         DocTarget("Tr.s", 10, False)],
    ),
    "java": (
        "class A {\n  /** Doc. */\n  @Override\n  public String toString() { return \"\"; }\n"
        "  A() {}\n  // plain\n  void m() {}\n}\n",
        [DocTarget("A.toString", 3, True), DocTarget("A.A", 5, False),
         DocTarget("A.m", 7, False)],
    ),
    "cpp": (
        "// Adds.\nint add(int a, int b) { return a + b; }\n"
        "template <typename T> T id(T x) { return x; }\n"
        "class K {\n public:\n  int get() const { return 1; }\n};\nint K::put() { return 2; }\n",
        [DocTarget("add", 2, True), DocTarget("id", 3, False), DocTarget("K.get", 6, False),
         DocTarget("K.put", 8, False)],
    ),
}


@pytest.mark.parametrize("grammar", list(SOURCES))
def test_functions_and_whether_they_are_documented(grammar: str) -> None:
    source, expected = SOURCES[grammar]
    assert find_targets(source, grammar) == expected


def test_symbol_selects_by_qualified_or_unique_bare_name() -> None:
    targets = [DocTarget("area", 1, True), DocTarget("Sq.side", 5, False),
               DocTarget("Sq.grow", 9, False), DocTarget("Circle.grow", 14, False)]
    assert select(targets, "area") == [targets[0]]
    assert select(targets, "side") == [targets[1]]
    assert select(targets, "Circle.grow") == [targets[3]]
    with pytest.raises(SymbolNotFound, match=r"grow is ambiguous: Sq.grow \(line 9\), "
                                             r"Circle.grow \(line 14\)"):
        select(targets, "grow")
    with pytest.raises(SymbolNotFound, match="no function named nope"):
        select(targets, "nope")


def test_every_language_has_a_default_style_it_can_write() -> None:
    guides = prompts.sections("doc_styles.md")
    assert set(guides) == {s.upper() for s in STYLES}
    for lang in LANGUAGES:
        assert style_for(lang, "") == DOC_STYLES[lang]
    assert style_for("python", "numpy") == "numpy"
    with pytest.raises(ValueError, match="google style does not fit go"):
        style_for("go", "google")


def test_the_task_names_the_functions_and_carries_the_style_guide() -> None:
    task = doc_task("geo.rs", [DocTarget("area", 3, False)], "rustdoc", None)
    assert task.startswith("Document these functions, which have no documentation, in geo.rs "
                           "in Rustdoc style:\n- area (line 3)\n\nRustdoc style: `///`")
    assert "refused if the file's syntax tree changes" in task
    jsdoc = doc_task("u.js", [DocTarget("f", 1, True)], "jsdoc", "f")
    assert jsdoc.startswith("Document the function f in u.js in JSDoc style:")
    assert "@param {number[]} xs" in jsdoc  # braces of the guide survive the template
