"""The docs-only guard on real tree-sitter grammars: documentation may change, code may not,
and a refusal names the first place that differs."""

from __future__ import annotations

import pytest

from hrmcli.agent.docguard import CodeChanged, check_docs_only

# grammar -> (original, docs added, renamed variable, changed literal, changed string that
# is not documentation, added statement)
CASES: dict[str, tuple[str, ...]] = {
    "python": (
        'def area(w, h):\n    label = "rect"\n    return w * h * 1\n',
        '"""Shapes."""\n\n\ndef area(w, h):\n    """Return the area.\n\n    Args:\n'
        '        w: Width.\n    """\n    # the label is unused\n    label = "rect"\n'
        '    return w * h * 1  # plain product\n',
        'def area(width, h):\n    label = "rect"\n    return width * h * 1\n',
        'def area(w, h):\n    label = "rect"\n    return w * h * 2\n',
        'def area(w, h):\n    label = "square"\n    return w * h * 1\n',
        'def area(w, h):\n    label = "rect"\n    print(label)\n    return w * h * 1\n',
    ),
    "javascript": (
        'function area(w, h) {\n  const label = "rect";\n  return w * h * 1;\n}\n',
        '/**\n * Return the area.\n * @param {number} w Width.\n */\nfunction area(w, h) {\n'
        '  // unused\n  const label = "rect";\n  return w * h * 1; /* product */\n}\n',
        'function area(width, h) {\n  const label = "rect";\n  return width * h * 1;\n}\n',
        'function area(w, h) {\n  const label = "rect";\n  return w * h * 2;\n}\n',
        'function area(w, h) {\n  const label = "square";\n  return w * h * 1;\n}\n',
        'function area(w, h) {\n  const label = "rect";\n  log(label);\n  return w * h * 1;\n}\n',
    ),
    "go": (
        'package shapes\n\nfunc Area(w, h int) int {\n\tlabel := "rect"\n\t_ = label\n'
        '\treturn w * h * 1\n}\n',
        '// Package shapes measures shapes.\npackage shapes\n\n// Area returns the area.\n'
        'func Area(w, h int) int {\n\tlabel := "rect" // unused\n\t_ = label\n'
        '\t/* product */ return w * h * 1\n}\n',
        'package shapes\n\nfunc Area(width, h int) int {\n\tlabel := "rect"\n\t_ = label\n'
        '\treturn width * h * 1\n}\n',
        'package shapes\n\nfunc Area(w, h int) int {\n\tlabel := "rect"\n\t_ = label\n'
        '\treturn w * h * 2\n}\n',
        'package shapes\n\nfunc Area(w, h int) int {\n\tlabel := "square"\n\t_ = label\n'
        '\treturn w * h * 1\n}\n',
        'package shapes\n\nfunc Area(w, h int) int {\n\tlabel := "rect"\n\t_ = label\n'
        '\tw++\n\treturn w * h * 1\n}\n',
    ),
    "rust": (
        'pub fn area(w: u32, h: u32) -> u32 {\n    let label = "rect";\n    w * h * 1\n}\n',
        '//! Shapes.\n\n/// Returns the area.\n///\n/// # Panics\n/// Never.\n'
        'pub fn area(w: u32, h: u32) -> u32 {\n    /* unused */ let label = "rect";\n'
        '    w * h * 1 // product\n}\n',
        'pub fn area(width: u32, h: u32) -> u32 {\n    let label = "rect";\n    width * h * 1\n}\n',
        'pub fn area(w: u32, h: u32) -> u32 {\n    let label = "rect";\n    w * h * 2\n}\n',
        'pub fn area(w: u32, h: u32) -> u32 {\n    let label = "square";\n    w * h * 1\n}\n',
        'pub fn area(w: u32, h: u32) -> u32 {\n    let label = "rect";\n    dbg!(label);\n'
        '    w * h * 1\n}\n',
    ),
    "java": (
        'class Shapes {\n  int area(int w, int h) {\n    String label = "rect";\n'
        '    return w * h * 1;\n  }\n}\n',
        '/** Shapes. */\nclass Shapes {\n  /**\n   * Returns the area.\n   *\n'
        '   * @param w the width\n   * @return the area\n   */\n  int area(int w, int h) {\n'
        '    String label = "rect"; // unused\n    return w * h * 1;\n  }\n}\n',
        'class Shapes {\n  int area(int width, int h) {\n    String label = "rect";\n'
        '    return width * h * 1;\n  }\n}\n',
        'class Shapes {\n  int area(int w, int h) {\n    String label = "rect";\n'
        '    return w * h * 2;\n  }\n}\n',
        'class Shapes {\n  int area(int w, int h) {\n    String label = "square";\n'
        '    return w * h * 1;\n  }\n}\n',
        'class Shapes {\n  int area(int w, int h) {\n    String label = "rect";\n'
        '    w += 1;\n    return w * h * 1;\n  }\n}\n',
    ),
    "cpp": (
        'int area(int w, int h) {\n  const char *label = "rect";\n  return w * h * 1;\n}\n',
        '/**\n * Returns the area.\n * @param w the width\n */\nint area(int w, int h) {\n'
        '  const char *label = "rect";  // unused\n  return w * h * 1;\n}\n',
        'int area(int width, int h) {\n  const char *label = "rect";\n  return width * h * 1;\n}\n',
        'int area(int w, int h) {\n  const char *label = "rect";\n  return w * h * 2;\n}\n',
        'int area(int w, int h) {\n  const char *label = "square";\n  return w * h * 1;\n}\n',
        'int area(int w, int h) {\n  const char *label = "rect";\n  w++;\n  return w * h * 1;\n}\n',
    ),
}
LANGS = list(CASES)
SIGNATURE_LINE = {"python": 1, "javascript": 1, "go": 3, "rust": 1, "java": 2, "cpp": 1}


@pytest.mark.parametrize("grammar", LANGS)
def test_adding_documentation_passes(grammar: str) -> None:
    original, documented = CASES[grammar][:2]
    check_docs_only(original, documented, grammar)
    check_docs_only(documented, original, grammar)  # dropping it is a docs-only change too


@pytest.mark.parametrize("grammar", LANGS)
def test_a_renamed_variable_is_refused_where_it_first_differs(grammar: str) -> None:
    original, renamed = CASES[grammar][0], CASES[grammar][2]
    with pytest.raises(CodeChanged) as e:
        check_docs_only(original, renamed, grammar, "shapes.src")
    msg = str(e.value)
    line = SIGNATURE_LINE[grammar]
    assert msg.startswith(f"shapes.src line {line}: ") and "`w`" in msg and "`width`" in msg, msg
    assert (e.value.line_before, e.value.line_after) == (line, line)
    shown = original.splitlines()[line - 1].strip()
    assert f"\n  before, line {line}: {shown}\n  after,  line {line}: " in msg, msg


@pytest.mark.parametrize("grammar", LANGS)
def test_a_changed_literal_is_refused(grammar: str) -> None:
    original, changed = CASES[grammar][0], CASES[grammar][3]
    with pytest.raises(CodeChanged, match=r"`1` \(line \d+ before the edit\) became `2`"):
        check_docs_only(original, changed, grammar)


@pytest.mark.parametrize("grammar", LANGS)
def test_a_changed_string_that_is_not_documentation_is_refused(grammar: str) -> None:
    original, changed = CASES[grammar][0], CASES[grammar][4]
    with pytest.raises(CodeChanged, match="`rect`.*became `square`"):
        check_docs_only(original, changed, grammar)


@pytest.mark.parametrize("grammar", LANGS)
def test_an_added_statement_is_refused_even_beside_new_docs(grammar: str) -> None:
    original, documented, added = CASES[grammar][0], CASES[grammar][1], CASES[grammar][5]
    with pytest.raises(CodeChanged, match="the edit changes code"):
        check_docs_only(original, added, grammar)
    with pytest.raises(CodeChanged):  # the same statement slipped into a documented copy
        check_docs_only(documented, added, grammar)


def test_python_docstrings_are_only_first_statements_of_plain_strings() -> None:
    original = "class Box:\n    def size(self):\n        return 1\n"
    documented = ('"""Boxes."""\n\n\nclass Box:\n    """A box."""\n\n    def size(self):\n'
                  '        # why: one box\n        r"""The size."""\n        return 1\n')
    check_docs_only(original, documented, "python")
    rewritten = documented.replace("The size.", "How big the box is, always 1.")
    check_docs_only(documented, rewritten, "python")
    late = "class Box:\n    def size(self):\n        return 1\n        'not a docstring'\n"
    with pytest.raises(CodeChanged, match="line 4: the edit changes code.*became an expression_statement"):
        check_docs_only(original, late, "python")
    for prefix in ("f", "b"):
        fake = f"class Box:\n    def size(self):\n        {prefix}'x'\n        return 1\n"
        with pytest.raises(CodeChanged, match="line 3"):
            check_docs_only(original, fake, "python")
    in_if = "if x:\n    'a'\n    y()\n"
    with pytest.raises(CodeChanged):
        check_docs_only("if x:\n    y()\n", in_if, "python")


def test_python_indentation_is_code() -> None:
    with pytest.raises(CodeChanged, match="the end of a block.*became an expression_statement"):
        check_docs_only("if x:\n    a()\nb()\n", "if x:\n    a()\n    b()\n", "python")


def test_comments_that_tools_read_are_code() -> None:
    go = "package p\n\nfunc F() {}\n"
    with pytest.raises(CodeChanged, match="//go:noinline"):
        check_docs_only(go, "package p\n\n//go:noinline\nfunc F() {}\n", "go")
    check_docs_only(go, "package p\n\n// F does nothing.\nfunc F() {}\n", "go")
    cgo = 'package p\n\n// #include <stdio.h>\nimport "C"\n'
    with pytest.raises(CodeChanged, match="stdlib"):
        check_docs_only(cgo, cgo.replace("stdio", "stdlib"), "go")
    with pytest.raises(CodeChanged, match="@ts-ignore"):
        check_docs_only("f(1);\n", "// @ts-ignore\nf(1);\n", "typescript")
    with pytest.raises(CodeChanged, match="coding"):
        check_docs_only("x = 1\n", "# -*- coding: latin-1 -*-\nx = 1\n", "python")
    late = "x = 1\ny = 2\n# -*- coding: latin-1 -*- (read on lines 1 and 2 only)\n"
    check_docs_only("x = 1\ny = 2\n", late, "python")


def test_an_edit_that_breaks_the_syntax_is_refused() -> None:
    with pytest.raises(CodeChanged, match="no longer parses"):
        check_docs_only("def f():\n    return 1\n", 'def f():\n    """Doc.\n    return 1\n',
                        "python")
    with pytest.raises(CodeChanged, match="no longer parses"):
        check_docs_only("int f() { return 1; }\n", "/* unclosed\nint f() { return 1; }\n", "cpp")
