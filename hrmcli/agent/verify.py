"""Checks on a proposed edit before anyone sees it: does it change anything, and does the
edited file still parse where it parsed before.

A reply can be well formed (every SEARCH matches) and still be useless: small models often
copy the SEARCH lines into REPLACE unchanged, or leave a file that no longer parses (a
dropped indent, a stray parameter). The coder treats both as failures and asks again, so
a user is shown a diff only when it changes something and keeps the file parseable.

A rename the model did only in part (the definition, not every call) is finished by
hrm (completed_rename: identifiers from the syntax tree, shown in the diff and said in a
note); any other edit that removes a function the file still uses is sent back
(dangling_names).

Parsing uses the tree-sitter grammar of the file's language (hrmcli.languages); a file in
a language without an installed grammar, or one that did not parse before the edit, is
not checked.
"""

from __future__ import annotations

from dataclasses import dataclass

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


# Function and method definitions per grammar; their name is the `name` field, or for C
# and C++ the innermost identifier of the `declarator` chain.
_DEFINITIONS = {
    "python": {"function_definition"},
    "javascript": {"function_declaration", "method_definition", "generator_function_declaration"},
    "typescript": {"function_declaration", "method_definition"},
    "tsx": {"function_declaration", "method_definition"},
    "go": {"function_declaration", "method_declaration"},
    "rust": {"function_item"},
    "java": {"method_declaration"},
    "c": {"function_definition"},
    "cpp": {"function_definition"},
}
_NAME_TYPES = {"identifier", "property_identifier", "field_identifier"}
# A name after a dot names a member of whatever is before the dot: `cache.get(k)` does not
# use a function `get` this file removed, unless the object is the file's own instance.
_MEMBER_FIELDS = ("attribute", "property", "field", "name")
_OBJECT_FIELDS = ("object", "operand", "value", "argument")
_OWN = {"self", "cls", "this", "Self"}


def _foreign_member(n) -> bool:
    parent = n.parent
    if parent is None or not any(parent.child_by_field_name(f) == n for f in _MEMBER_FIELDS):
        return False
    obj = next((o for f in _OBJECT_FIELDS if (o := parent.child_by_field_name(f)) is not None), None)
    return obj is not None and obj.text.decode("utf-8", "replace") not in _OWN


def _def_name(node) -> str | None:
    name = node.child_by_field_name("name")
    while name is None and node is not None:  # C/C++: declarator -> function_declarator -> ...
        node = node.child_by_field_name("declarator")
        if node is not None and node.type in _NAME_TYPES:
            name = node
    return name.text.decode("utf-8", "replace") if name is not None else None


def _walk(tree, grammar: str) -> tuple[list[str], list]:
    """(functions defined, in order; identifier nodes that use a name of this file)."""
    kinds = _DEFINITIONS[grammar]
    defined: list[str] = []
    uses = []
    stack = [tree.root_node]
    while stack:
        n = stack.pop()
        if n.type in kinds:
            name = _def_name(n)
            if name:
                defined.append(name)
        elif n.type in _NAME_TYPES and not _foreign_member(n):
            uses.append(n)
        stack.extend(reversed(n.children))
    return defined, uses


def _walk_both(path: str, before: str, after: str) -> tuple[tuple, tuple] | None:
    """_walk of the file before and after an edit; None when there is nothing to compare
    (no change, no grammar with definitions here, a grammar that failed to load)."""
    grammar = grammar_for(path)
    if grammar is None or grammar not in _DEFINITIONS or before == after:
        return None
    try:
        return _walk(_tree(before, grammar), grammar), _walk(_tree(after, grammar), grammar)
    except (ImportError, KeyError, OSError, ValueError):
        return None


def _first_lines(uses: list) -> dict[str, int]:
    """The line of each name's first use."""
    used: dict[str, int] = {}
    for n in uses:
        used.setdefault(n.text.decode("utf-8", "replace"), n.start_point[0] + 1)
    return used


@dataclass(frozen=True)
class Rename:
    old: str
    new: str
    text: str  # the edited file with the uses the edit left behind renamed too
    uses: int  # how many uses that renamed


def completed_rename(path: str, before: str, after: str) -> Rename | None:
    """When an edit renamed exactly one function or method (one definition's name went, one
    new name came, in the same place among the definitions) but left uses of the old name
    in the file, the file with those uses renamed as well: identifiers only, read from the
    syntax tree, never strings, comments or other objects' members. None otherwise."""
    walked = _walk_both(path, before, after)
    if walked is None:
        return None
    (had, _), (has, uses) = walked
    gone, came = set(had) - set(has), set(has) - set(had)
    if len(gone) != 1 or len(came) != 1 or len(had) != len(has):
        return None
    old, new = gone.pop(), came.pop()
    if had.index(old) != has.index(new):
        return None
    spans = [(n.start_byte, n.end_byte) for n in uses if n.text == old.encode()]
    if not spans:
        return None
    data = after.encode("utf-8")
    for start, end in sorted(spans, reverse=True):
        data = data[:start] + new.encode() + data[end:]
    return Rename(old, new, data.decode("utf-8"), len(spans))


def dangling_names(path: str, before: str, after: str) -> str | None:
    """Why the edit leaves a reference behind: a function or method that `before` defined,
    which the edit renamed or removed, while the edited file still uses the old name (a
    rename that missed a caller, a deletion of code still called). Names are read from
    the syntax tree, so a string or comment that mentions the old name does not count.
    None when nothing dangles, or the language has no grammar here."""
    walked = _walk_both(path, before, after)
    if walked is None:
        return None
    had, has, used = set(walked[0][0]), set(walked[1][0]), _first_lines(walked[1][1])
    gone = sorted((used[n], n) for n in had - has if n in used)
    if not gone:
        return None
    line, name = gone[0]
    return (f"after these edits {path} still uses `{name}` (line {line}) but no longer "
            f"defines it; update every use of a renamed or removed function")


NO_CHANGE = ("the edits change nothing: each REPLACE repeats its SEARCH; "
             "write the lines as they should be after the change")
