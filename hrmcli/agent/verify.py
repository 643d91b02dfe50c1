"""Checks on a proposed edit before anyone sees it: does it change anything, and does the
edited file still parse where it parsed before.

A reply can be well formed (every SEARCH matches) and still be useless: small models often
copy the SEARCH lines into REPLACE unchanged, or leave a file that no longer parses (a
dropped indent, a stray parameter). The coder treats both as failures and asks again, so
a user is shown a diff only when it changes something and keeps the file parseable.

Parsing uses the tree-sitter grammar of the file's language (hrmcli.languages); a file in
a language without an installed grammar, or one that did not parse before the edit, is
not checked.
"""

from __future__ import annotations

from hrmcli.languages import grammar_for, parser


def first_syntax_error(node):
    """The first ERROR or MISSING node under a tree-sitter node in source order, or None."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            return n
        if n.has_error:
            stack.extend(reversed(n.children))
    return None


def _tree(text: str, grammar: str):
    return parser(grammar).parse(text.encode("utf-8"))


def _python_error(text: str, path: str) -> int | None:
    """The line of the first syntax error Python's own compiler finds (compiled, never
    run), or None. tree-sitter's Python grammar accepts an empty block, so a dropped
    indent (`if x:` followed by a line at the same depth) is only caught here."""
    try:
        compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as e:  # IndentationError and TabError are SyntaxErrors
        return e.lineno or 1
    except (ValueError, RecursionError, MemoryError):
        return 1
    return None


def _message(path: str, after: str, line: int) -> str:
    lines = after.splitlines()
    shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    where = f" near `{shown[:60]}`" if shown else ""
    return (f"after these edits {path} no longer parses (line {line}{where}); "
            "keep the code valid")


def broken_syntax(path: str, before: str, after: str) -> str | None:
    """Why `after` no longer parses when `before` did (a message naming the line), or None
    when it parses, parsed badly already, or its language has no installed grammar."""
    grammar = grammar_for(path)
    if grammar is None or before == after:
        return None
    if grammar == "python" and _python_error(before, path) is None:
        line = _python_error(after, path)
        if line is not None:
            return _message(path, after, line)
    try:
        old = _tree(before, grammar)
    except (ImportError, KeyError, OSError, ValueError):
        return None  # no grammar wheel for this language here: nothing to check against
    if old.root_node.has_error:
        return None
    new = _tree(after, grammar)
    if not new.root_node.has_error:
        return None
    bad = first_syntax_error(new.root_node)
    return _message(path, after, bad.start_point[0] + 1 if bad is not None else 1)


NO_CHANGE = ("the edits change nothing: each REPLACE repeats its SEARCH; "
             "write the lines as they should be after the change")
