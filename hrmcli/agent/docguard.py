"""Docs-only guard: proof that an edit changed comments and docstrings and nothing else.

`hrm doc` lets a model rewrite a file to document it. A model that "tidies" a line while it
is there changes behaviour nobody asked to change, so every proposed edit is checked: the
file before and after is parsed with tree-sitter (the grammar from hrmcli.languages) and the
two syntax trees are compared with comments and docstrings left out. Any other difference,
down to one character of a literal, refuses the edit and names the first place it differs.

What counts as documentation:
- comment nodes (`comment`, `line_comment`, `block_comment`, `html_comment`), except
  comments that tools read as code: a Python shebang or coding line, Go's `//go:`,
  `//export`, `//line`, `// +build` and a cgo preamble, TypeScript's `/// <reference` and
  `// @ts-` lines. Those are compared like code.
- in Python, a docstring: an expression statement holding only a string (no f- or
  b-string) that is the first statement of a module, class or function body.

Whitespace between tokens is not compared (indentation is: it shapes Python's tree), so
re-wrapping a line around a new comment passes, while a renamed variable, a changed
literal, a changed string that is not a docstring or an added statement fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hrmcli.agent.verify import first_syntax_error
from hrmcli.languages import parser

COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment", "html_comment"})
_JS_DIRECTIVE = re.compile(r"///\s*<reference|//\s*@ts-|/\*\s*@jsx|//\s*@flow")
DIRECTIVES: dict[str, re.Pattern[str]] = {
    "go": re.compile(r"//(go:|export |line |\s*\+build)"),
    "javascript": _JS_DIRECTIVE,
    "typescript": _JS_DIRECTIVE,
    "tsx": _JS_DIRECTIVE,
}
_PY_HEADER = re.compile(r"#!|#.*coding[:=]")  # only on the first two lines, as Python reads it
_PY_DOC_OWNERS = frozenset({"function_definition", "class_definition"})
_SHOW = 40  # characters of a token shown in an error


class CodeChanged(Exception):
    """The edit changes more than documentation. `line_before`/`line_after` are 1-based
    lines of the first difference (0 where that side has nothing there)."""

    def __init__(self, message: str, line_before: int = 0, line_after: int = 0) -> None:
        super().__init__(message)
        self.line_before = line_before
        self.line_after = line_after


@dataclass(frozen=True)
class Token:
    """One step of a syntax tree walked in order: a node opening or closing, a leaf, or
    text between children. Two trees are the same code when their keys are equal."""

    key: str
    shown: str  # how an error names it
    row: int  # 0-based
    col: int


def is_docstring(node) -> bool:
    """Whether a Python node is a docstring: the first statement (comments aside) of a
    module, class or function body, holding only a plain string."""
    if node.type != "expression_statement" or node.named_child_count != 1:
        return False
    expr = node.named_children[0]
    parts = expr.named_children if expr.type == "concatenated_string" else [expr]
    if not parts or any(not _plain_string(p) for p in parts):
        return False
    body = node.parent
    if body is None or not (body.type == "module" or (
            body.type == "block" and body.parent is not None
            and body.parent.type in _PY_DOC_OWNERS)):
        return False
    first = next((c for c in body.named_children if c.type not in COMMENT_TYPES), None)
    return first is not None and first.start_byte == node.start_byte


def _plain_string(node) -> bool:
    if node.type != "string" or any(c.type == "interpolation" for c in node.children):
        return False
    start = node.children[0].text.decode("utf-8", "replace").lower() if node.children else ""
    return "f" not in start and "b" not in start


def _is_directive(node, grammar: str) -> bool:
    """A comment that a compiler or tool reads, so changing it changes the program."""
    text = node.text.decode("utf-8", "replace")
    if grammar == "python":
        return node.start_point[0] < 2 and bool(_PY_HEADER.match(text))
    if grammar == "go" and _before_import_c(node):
        return True
    pattern = DIRECTIVES.get(grammar)
    return bool(pattern and pattern.match(text))


def _before_import_c(node) -> bool:
    """A Go comment right above `import "C"` is the cgo preamble: C code."""
    nxt = node.next_named_sibling
    while nxt is not None and nxt.type in COMMENT_TYPES:
        nxt = nxt.next_named_sibling
    return nxt is not None and nxt.type == "import_declaration" and b'"C"' in nxt.text


def is_doc(node, grammar: str) -> bool:
    """Whether a node is documentation that a docs-only edit may add, change or drop."""
    if node.type in COMMENT_TYPES:
        return not _is_directive(node, grammar)
    return grammar == "python" and is_docstring(node)


def _a(kind: str) -> str:
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}"


def _short(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= _SHOW else one[:_SHOW - 3] + "..."


def _gap_token(source: bytes, start: int, end: int, owner, point) -> Token | None:
    """Text of `owner` that no child covers: kept verbatim inside string-like nodes (it is
    their content), dropped when it is only whitespace elsewhere."""
    gap = source[start:end].decode("utf-8", "replace")
    literal = "string" in owner.type or "literal" in owner.type
    if not literal and not gap.strip():
        return None
    key = gap if literal else " ".join(gap.split())
    if not key:
        return None
    return Token(f"text {key!r}", f"`{_short(gap)}`", point[0], point[1])


def parse(source: bytes, grammar: str):
    """The tree-sitter tree of `source` in a grammar key of hrmcli.languages."""
    return parser(grammar).parse(source)


def code_tokens(tree, source: bytes, grammar: str) -> list[Token]:
    """The tree walked in source order with documentation left out (iteratively: deep
    nesting must not hit Python's recursion limit)."""
    out: list[Token] = []
    stack: list = [tree.root_node]
    while stack:
        item = stack.pop()
        if isinstance(item, Token):
            out.append(item)
            continue
        node = item
        if is_doc(node, grammar):
            continue
        row, col = node.start_point
        text = node.text.decode("utf-8", "replace") if node.text is not None else ""
        if node.is_missing:
            out.append(Token(f"missing {node.type}", f"a missing {node.type}", row, col))
            continue
        if node.child_count == 0:
            out.append(Token(f"{node.type} {text!r}", f"`{_short(text)}`", row, col))
            continue
        items: list = [Token(f"open {node.type}", _a(node.type), row, col)]
        pos, point = node.start_byte, node.start_point
        for child in node.children:
            gap = _gap_token(source, pos, child.start_byte, node, point)
            if gap:
                items.append(gap)
            items.append(child)
            pos, point = child.end_byte, child.end_point
        gap = _gap_token(source, pos, node.end_byte, node, point)
        if gap:
            items.append(gap)
        end_row, end_col = node.end_point
        items.append(Token(f"close {node.type}", f"the end of a {node.type}", end_row, end_col))
        stack.extend(reversed(items))
    return out


def check_docs_only(before: str | bytes, after: str | bytes, grammar: str,
                    path: str = "the file") -> None:
    """Raise CodeChanged unless `after` differs from `before` only in comments and
    docstrings; the message names the first place that differs."""
    old = before.encode("utf-8") if isinstance(before, str) else before
    new = after.encode("utf-8") if isinstance(after, str) else after
    old_tree, new_tree = parse(old, grammar), parse(new, grammar)
    if new_tree.root_node.has_error and not old_tree.root_node.has_error:
        bad = first_syntax_error(new_tree.root_node)
        line = bad.start_point[0] + 1 if bad is not None else 1
        raise CodeChanged(f"{path}: the edited file no longer parses (line {line} after the "
                          "edit); only comments and docstrings may change", 0, line)
    a = code_tokens(old_tree, old, grammar)
    b = code_tokens(new_tree, new, grammar)
    old_lines, new_lines = old.splitlines(), new.splitlines()

    def show(lines: list[bytes], row: int) -> str:
        line = lines[row].decode("utf-8", "replace").strip() if row < len(lines) else ""
        return line if len(line) <= 80 else line[:77] + "..."

    for x, y in zip(a, b, strict=False):
        if x.key != y.key:
            raise CodeChanged(
                f"{path} line {y.row + 1}: the edit changes code, not only comments and "
                f"docstrings: {x.shown} (line {x.row + 1} before the edit) became {y.shown}\n"
                f"  before, line {x.row + 1}: {show(old_lines, x.row)}\n"
                f"  after,  line {y.row + 1}: {show(new_lines, y.row)}",
                x.row + 1, y.row + 1)
    if len(b) > len(a):
        y = b[len(a)]
        raise CodeChanged(f"{path} line {y.row + 1}: the edit adds code, not only comments "
                          f"and docstrings: {y.shown}\n"
                          f"  after, line {y.row + 1}: {show(new_lines, y.row)}", 0, y.row + 1)
    if len(a) > len(b):
        x = a[len(b)]
        raise CodeChanged(f"{path}: the edit removes code, not only comments and docstrings: "
                          f"{x.shown} (line {x.row + 1} before the edit)\n"
                          f"  before, line {x.row + 1}: {show(old_lines, x.row)}", x.row + 1, 0)
