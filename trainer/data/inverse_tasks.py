"""Edit tasks made by inverse mutation: code that already has what a user would ask for (a
parameter instead of a hard-coded value, an early-return guard, an import, a docstring)
loses it to become `before`, and the original file is `after`.

The original is real code, so the answer the model learns is a human's solution; each
generator only takes sites where the inverse is exact (removing whole lines, or a parameter
whose every use is a plain read) and drops a `before` that no longer parses.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Callable, Iterator

import tree_sitter as ts

from .edit_tasks import (
    IDENT_RE,
    EditTask,
    Func,
    Gen,
    _callee_name,
    _doc_comment,
    _line_start,
    functions,
)
from .phrasing import phrase
from .treesitter import Source, load, walk

# Where an identifier child binds a name (a parameter, an assignment target, an import)
# rather than reading it: parent type -> the field it binds through (None: any child).
_BINDS: dict[str, dict[str, str | None]] = {
    "python": {
        "parameters": None, "lambda_parameters": None, "default_parameter": "name",
        "typed_parameter": None, "typed_default_parameter": "name", "list_splat_pattern": None,
        "dictionary_splat_pattern": None, "assignment": "left", "augmented_assignment": "left",
        "for_statement": "left", "for_in_clause": "left", "named_expression": "name",
        "as_pattern_target": None, "global_statement": None, "nonlocal_statement": None,
        "delete_statement": None, "function_definition": "name", "class_definition": "name",
        "dotted_name": None, "aliased_import": None, "pattern_list": None,
        "tuple_pattern": None, "list_pattern": None,
    },
    "javascript": {
        "formal_parameters": None, "assignment_pattern": "left", "variable_declarator": "name",
        "assignment_expression": "left", "augmented_assignment_expression": "left",
        "update_expression": None, "for_in_statement": "left", "arrow_function": "parameter",
        "catch_clause": "parameter", "function_declaration": "name",
        "function_expression": "name", "class_declaration": "name", "array_pattern": None,
        "rest_pattern": None, "pair_pattern": "value", "import_specifier": None,
        "import_clause": None, "namespace_import": None,
    },
    "go": {
        "parameter_declaration": "name", "short_var_declaration": "left",
        "assignment_statement": "left", "var_spec": "name", "const_spec": "name",
        "range_clause": "left", "function_declaration": "name", "inc_statement": None,
        "dec_statement": None,
    },
}
# Where an identifier child is not a variable at all: an attribute or keyword name.
_MEMBER_NAMES = {"python": {"attribute": "attribute", "keyword_argument": "name"}}
_WORD = r"(?<![A-Za-z0-9_$]){}(?![A-Za-z0-9_$])"


# ---------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------

def _role(node: ts.Node, lang: str) -> str:
    """"read", "bind" or "member" (an attribute or keyword name) for an identifier."""
    child, parent = node, node.parent
    if lang == "go" and parent is not None and parent.type == "expression_list":
        child, parent = parent, parent.parent  # `a, b := ...`: the list is the target
    if parent is None:
        return "read"
    for role, table in (("member", _MEMBER_NAMES.get(lang, {})), ("bind", _BINDS[lang])):
        if parent.type in table:
            field = table[parent.type]
            if field is None or child in parent.children_by_field_name(field):
                return role
    return "read"


def _names_in(src: Source, scope: ts.Node, name: str) -> list[ts.Node]:
    return [n for n in walk(scope) if n.type == "identifier" and src.node_text(n) == name]


def _statements(fn: Func) -> list[ts.Node]:
    """The body's statements, comments left out (Go wraps them in a statement_list)."""
    body = fn.body.named_children
    if len(body) == 1 and body[0].type == "statement_list":
        body = body[0].named_children
    return [n for n in body if n.type != "comment"]


def _whole_lines(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """The byte span of the lines holding [start, end), newline included, when nothing but
    blanks shares those lines; else None."""
    s = _line_start(data, start)
    e = data.find(b"\n", end)
    if e < 0 or data[s:start].strip() or data[end:e].strip():
        return None
    return s, e + 1


def _and_blank_after(data: bytes, span: tuple[int, int], alone: bool = False) -> tuple[int, int]:
    """The span and the blank line after it, if one follows (what separated the removed
    lines from the rest would otherwise be left doubled, or open a body). With alone=True
    only when a blank line is above the span too; at the file's start, every blank line."""
    s, e = span
    if alone and s > 0 and data[_line_start(data, s - 1):s].strip():
        return span
    while (nxt := data.find(b"\n", e)) >= 0 and not data[e:nxt].strip():
        e = nxt + 1
        if s > 0:
            break
    return s, e


def _task(src: Source, path: str, kind: str, request: str, before: str,
          detail: str) -> EditTask | None:
    if before == src.text or load(before, src.lang, path).tree.root_node.has_error:
        return None
    return EditTask(path, src.lang, kind, request, before, src.text, detail)


def _named_functions(src: Source) -> list[Func]:
    """Functions a user can name in a request (not `[Symbol.iterator]` or `#private`)."""
    return [f for f in functions(src) if IDENT_RE.match(f.name)]


def _first(rng: random.Random, items: list,
           make: Callable[..., EditTask | None]) -> Iterator[EditTask]:
    """The first task `make` returns for the items in a random order (one per file keeps a
    window's tasks varied)."""
    items = list(items)
    rng.shuffle(items)
    for item in items:
        task = make(item)
        if task is not None:
            yield task
            return


# ---------------------------------------------------------------------------------------
# param_from_literal: the last parameter, with a literal default, hard-coded at its uses
# ---------------------------------------------------------------------------------------

_PARAM_NODES = {"python": ("default_parameter", "typed_default_parameter"),
                "javascript": ("assignment_pattern",)}
_LITERALS = {"python": ("string", "integer", "float"), "javascript": ("string", "number")}
_MEMBER = {"python": "attribute", "javascript": "member_expression"}


def _default_param(src: Source, params: list[ts.Node]) -> tuple[ts.Node, ts.Node] | None:
    """(name, literal default) of the last parameter when it has one."""
    if not params or params[-1].type not in _PARAM_NODES[src.lang]:
        return None
    p = params[-1]
    name = p.child_by_field_name("name" if src.lang == "python" else "left")
    value = p.child_by_field_name("value" if src.lang == "python" else "right")
    if name is None or value is None or name.type != "identifier" \
            or value.type not in _LITERALS[src.lang]:
        return None
    text = src.node_text(value)
    if "\n" in text or len(text) > 30 or any(c.type == "interpolation" for c in value.children):
        return None
    if src.lang == "python" and len(params) > 1 and params[-2].type == "keyword_separator":
        return None  # `(a, *)` is not Python
    return name, value


def _passes_param(src: Source, fn: Func, params: list[ts.Node], pname: str) -> bool:
    """Whether a call in the file passes the parameter (or may: a splat), so the file
    without it would not hold together."""
    n_params = len(params) - (src.node_text(params[0]) in ("self", "cls"))
    for call in walk(src.tree.root_node):
        if call.type not in ("call", "call_expression") or _callee_name(src, call) != fn.name:
            continue
        args = call.child_by_field_name("arguments")
        named = [a for a in args.named_children if a.type != "comment"] if args else []
        if any(a.type in ("list_splat", "dictionary_splat", "spread_element") for a in named):
            return True
        if any(a.type == "keyword_argument"
               and src.node_text(a.child_by_field_name("name")) == pname for a in named):
            return True
        if len([a for a in named if a.type != "keyword_argument"]) >= n_params:
            return True
    return False


def _param_from_literal(src: Source, path: str, fn: Func, rng: random.Random) -> EditTask | None:
    params = [p for p in fn.params.named_children if p.type != "comment"] if fn.params else []
    found = _default_param(src, params)
    if found is None:
        return None
    name_node, value = found
    name, literal = src.node_text(name_node), src.node_text(value)
    body_text = src.node_text(fn.body)
    uses = _names_in(src, fn.body, name)
    if not uses or literal in body_text \
            or len(re.findall(_WORD.format(re.escape(name)), body_text)) != len(uses):
        return None  # the literal is there already, or the name occurs other than as a read
    for u in uses:
        if _role(u, src.lang) != "read" \
                or any(a.type == "interpolation" for a in _ancestors(u, fn.body)):
            return None  # an f-string can hold a name, not always a quoted literal
        if value.type != "string" and u.parent.type == _MEMBER[src.lang]:
            return None  # `2.real` does not parse
    if _passes_param(src, fn, params, name):
        return None
    start = params[-2].end_byte if len(params) > 1 else fn.params.start_byte + 1
    spans = [(start, params[-1].end_byte, "")]
    spans += [(u.start_byte, u.end_byte, literal) for u in uses]
    decl = src.node_text(params[-1]).split("=", 1)[0].strip()  # `sep` or `sep: str`
    request = phrase("param_from_literal", rng, func=fn.name, param=decl, default=literal,
                     path=path)
    return _task(src, path, "param_from_literal", request, src.replace_spans(spans), name)


def _ancestors(node: ts.Node, stop: ts.Node) -> Iterator[ts.Node]:
    p = node.parent
    while p is not None and p != stop:
        yield p
        p = p.parent


def gen_param_from_literal(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    if src.lang not in _PARAM_NODES:
        return
    yield from _first(rng, _named_functions(src),
                      lambda fn: _param_from_literal(src, path, fn, rng))


# ---------------------------------------------------------------------------------------
# add_guard: the early return that opens a function body
# ---------------------------------------------------------------------------------------

_EMPTY_VALUES = {
    "python": {"[]": "an empty list", "{}": "an empty dict", '""': "an empty string",
               "''": "an empty string", "()": "an empty tuple", "set()": "an empty set"},
    "javascript": {"[]": "an empty array", "{}": "an empty object", '""': "an empty string",
                   "''": "an empty string", "``": "an empty string"},
    "go": {'""': "an empty string"},
}
_PLAIN_VALUES = {"None", "True", "False", "null", "undefined", "true", "false", "nil"}
_OPERAND = r"([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)"
# (condition pattern, description): the operand is group 1.
_CONDITIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "python": ((rf"{_OPERAND} is None", "`{}` is None"),
               (rf"{_OPERAND} is not None", "`{}` is not None"),
               (rf"len\({_OPERAND}\) == 0", "`{}` is empty"),
               (rf"{_OPERAND} == \"\"", "`{}` is empty")),
    "javascript": ((rf"{_OPERAND} === null", "`{}` is null"),
                   (rf"{_OPERAND} == null", "`{}` is null or undefined"),
                   (rf"{_OPERAND} === undefined", "`{}` is undefined"),
                   (rf"{_OPERAND}\.length === 0", "`{}` is empty"),
                   (rf"!{_OPERAND}\.length", "`{}` is empty")),
    "go": ((rf"{_OPERAND} == nil", "`{}` is nil"),
           (rf"len\({_OPERAND}\) == 0", "`{}` is empty"),
           (rf"{_OPERAND} == \"\"", "`{}` is empty")),
}
_NEGATION = {"python": rf"not {_OPERAND}", "javascript": rf"!{_OPERAND}"}


MAX_CONDITION, MAX_VALUE = 40, 30


def describe_value(value: str, lang: str) -> str:
    if value in _EMPTY_VALUES.get(lang, {}):
        return _EMPTY_VALUES[lang][value]
    if value in _PLAIN_VALUES or re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    return f"`{value}`"


def describe_condition(cond: str, value: str, lang: str) -> str:
    """What a user would say for the condition: "`items` is empty", else the code itself.
    A bare negation reads as "is empty" only when the guard returns an empty value (`not x`
    is also true of None, 0 and False), else as "is falsy"."""
    for pattern, words in _CONDITIONS[lang]:
        m = re.fullmatch(pattern, cond)
        if m:
            return words.format(m.group(1))
    m = re.fullmatch(_NEGATION[lang], cond) if lang in _NEGATION else None
    if m:
        return f"`{m.group(1)}` is {'empty' if value in _EMPTY_VALUES[lang] else 'falsy'}"
    return f"`{cond}`"


def _guard_parts(src: Source, node: ts.Node) -> tuple[str, str] | None:
    """(condition, returned value) of an `if <cond>: return <value>` with nothing else."""
    if node.type != "if_statement" or node.child_by_field_name("alternative") is not None \
            or node.child_by_field_name("initializer") is not None \
            or any(n.type == "comment" for n in walk(node)):
        return None
    cond, cons = node.child_by_field_name("condition"), node.child_by_field_name("consequence")
    if cond is None or cons is None:
        return None
    stmts = [cons] if cons.type == "return_statement" else cons.named_children
    if len(stmts) == 1 and stmts[0].type == "statement_list":
        stmts = stmts[0].named_children
    if len(stmts) != 1 or stmts[0].type != "return_statement" or not stmts[0].named_children:
        return None
    cond_text = src.node_text(cond)
    if src.lang == "javascript":
        cond_text = cond_text[1:-1].strip()  # the parenthesized_expression's parentheses
    value = src.node_text(stmts[0]).removeprefix("return").strip().rstrip(";").strip()
    if "\n" in cond_text or len(cond_text) > MAX_CONDITION or "\n" in value \
            or len(value) > MAX_VALUE or not value:
        return None
    return cond_text, value


def _add_guard(src: Source, path: str, fn: Func, rng: random.Random) -> EditTask | None:
    stmts = _statements(fn)
    if src.lang == "python" and _doc_comment(src, fn) is not None:
        stmts = stmts[1:]
    if len(stmts) < 2:
        return None
    guard = stmts[0]
    parts = _guard_parts(src, guard)
    span = _whole_lines(src.data, guard.start_byte, guard.end_byte)
    if parts is None or span is None or src.data[span[0]:span[1]].count(b"\n") > 3:
        return None
    above = src.data[_line_start(src.data, max(span[0] - 1, 0)):span[0]].strip()
    if above.startswith((b"#", b"//", b"/*", b"*")):
        return None  # a comment about the guard would stay behind
    cond, value = parts
    request = phrase("add_guard", rng, func=fn.name, path=path,
                     cond=describe_condition(cond, value, src.lang),
                     value=describe_value(value, src.lang))
    s, e = _and_blank_after(src.data, span)
    return _task(src, path, "add_guard", request, src.replace_spans([(s, e, "")]), cond)


def gen_add_guard(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    if src.lang not in _CONDITIONS:
        return
    yield from _first(rng, _named_functions(src), lambda fn: _add_guard(src, path, fn, rng))


# ---------------------------------------------------------------------------------------
# missing_import: an import line gone, asked for by the error it causes
# ---------------------------------------------------------------------------------------

def _python_import_name(src: Source, node: ts.Node) -> str | None:
    """The one name a single-name import binds: `import x [as y]`, or a `from` import out of
    the standard library (where else a name comes from is not in the file to see)."""
    if node.type not in ("import_statement", "import_from_statement"):
        return None
    if node.type == "import_from_statement":
        module = node.child_by_field_name("module_name")
        if module is None or src.node_text(module).split(".")[0] not in sys.stdlib_module_names:
            return None
    names = node.children_by_field_name("name")
    if len(names) != 1:
        return None
    n = names[0]
    if n.type == "aliased_import":
        return src.node_text(n.child_by_field_name("alias"))
    return src.node_text(n.named_children[0]) if n.type == "dotted_name" else None


def _js_import_name(src: Source, node: ts.Node) -> tuple[str, str] | None:
    """(bound name, "require" or "import") of `const x = require("x")` or an import of one
    name."""
    if node.type == "import_statement":
        source = node.child_by_field_name("source")
        if source is None or src.node_text(source)[1:2] in (".", "/"):
            return None
        clause = next((c for c in node.named_children if c.type == "import_clause"), None)
        if clause is None or len(clause.named_children) != 1:
            return None
        c = clause.named_children[0]
        if c.type == "identifier":
            return src.node_text(c), "import"
        if c.type == "namespace_import" and c.named_children:
            return src.node_text(c.named_children[-1]), "import"
        specs = c.named_children if c.type == "named_imports" else []
        if len(specs) == 1:
            bound = specs[0].child_by_field_name("alias") or specs[0].child_by_field_name("name")
            return src.node_text(bound), "import"
        return None
    decls = [c for c in node.named_children if c.type == "variable_declarator"]
    if node.type not in ("lexical_declaration", "variable_declaration") or len(decls) != 1:
        return None
    value, target = decls[0].child_by_field_name("value"), decls[0].child_by_field_name("name")
    if value is None or target is None or value.type != "call_expression" \
            or src.node_text(value.child_by_field_name("function")) != "require":
        return None
    args = value.child_by_field_name("arguments").named_children
    if len(args) != 1 or args[0].type != "string" or src.node_text(args[0])[1:2] in (".", "/"):
        return None  # a relative path names nothing a reader of this file could know
    if target.type == "identifier":
        return src.node_text(target), "require"
    if target.type == "object_pattern" and len(target.named_children) == 1 \
            and target.named_children[0].type == "shorthand_property_identifier_pattern":
        return src.node_text(target.named_children[0]), "require"
    return None


def _go_import_name(src: Source, node: ts.Node) -> str | None:
    """The package name an import_spec brings in, when it is one we can tell from the path
    (or an alias), and removing its line leaves a well-formed import declaration."""
    if node.type != "import_spec":
        return None
    if node.parent.type == "import_spec_list" and \
            len([c for c in node.parent.named_children if c.type == "import_spec"]) < 2:
        return None
    path = src.node_text(node.child_by_field_name("path")).strip('"')
    if "." in path.split("/")[0]:
        return None  # only the standard library's packages can be told from their use
    alias = node.child_by_field_name("name")
    if alias is not None:
        text = src.node_text(alias)
        return text if text not in ("_", ".") else None
    last = path.rsplit("/", 1)[-1]
    if not re.fullmatch(r"[a-z][a-z0-9]*", last) or re.fullmatch(r"v\d+", last):
        return None  # a name the package declares, not the path's (go-yaml, yaml.v3)
    return last


def _import_sites(src: Source) -> Iterator[tuple[ts.Node, str, str]]:
    """(import node, bound name, statement kind) for the file's top-level imports."""
    if src.lang == "go":
        for n in walk(src.tree.root_node):
            name = _go_import_name(src, n)
            if name is not None:
                yield (n.parent if n.parent.type == "import_declaration" else n), name, "import"
        return
    for n in src.tree.root_node.named_children:
        if src.lang == "python":
            name = _python_import_name(src, n)
            found = (name, "import") if name else None
        else:
            found = _js_import_name(src, n)
        if found is not None:
            yield n, found[0], found[1]


def _reads_of_import(src: Source, node: ts.Node, name: str) -> list[ts.Node] | None:
    """Every read of the imported name, or None when something else in the file binds it
    too (then the import's removal would not be the NameError we report)."""
    reads = []
    for n in walk(src.tree.root_node):
        if node.start_byte <= n.start_byte < node.end_byte or src.node_text(n) != name:
            continue
        role = _role(n, src.lang) if n.type == "identifier" else None
        if role == "read":
            if src.lang == "go" and n.parent.type != "selector_expression":
                return None  # a local of the same name
            reads.append(n)
        elif n.type == "package_identifier" and n.parent.type == "qualified_type":
            reads.append(n)
        elif role == "bind" or n.type == "shorthand_property_identifier_pattern":
            return None
    return reads


def _using_function(src: Source, reads: list[ts.Node]) -> Func | None:
    """The first function whose body (not its annotations) reads the name."""
    for fn in functions(src):
        for r in reads:
            if fn.body.start_byte <= r.start_byte < fn.body.end_byte \
                    and not any(a.type == "type" for a in _ancestors(r, fn.body)):
                return fn
    return None


def _missing_import(src: Source, path: str, site: tuple[ts.Node, str, str],
                    rng: random.Random) -> EditTask | None:
    node, name, stmt_kind = site
    span = _whole_lines(src.data, node.start_byte, node.end_byte)
    reads = _reads_of_import(src, node, name)
    if span is None or not reads or "\n" in src.node_text(node):
        return None
    fn = _using_function(src, reads)
    if fn is None:
        return None
    request = phrase(f"missing_import_{src.lang}", rng, func=fn.name, name=name, path=path,
                     stmt=stmt_kind)
    detail = src.node_text(node).strip()
    span = _and_blank_after(src.data, span, alone=True)
    return _task(src, path, "missing_import", request, src.replace_spans([(*span, "")]), detail)


def gen_missing_import(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    if src.lang not in ("python", "javascript", "go"):
        return
    yield from _first(rng, list(_import_sites(src)),
                      lambda site: _missing_import(src, path, site, rng))


# ---------------------------------------------------------------------------------------
# add_docstring: a short docstring (Python) or doc comment (Go, JSDoc) taken away
# ---------------------------------------------------------------------------------------

_DOC_WORDS = {"python": ("docstring",), "go": ("doc comment",),
              "javascript": ("doc comment", "JSDoc comment")}
MAX_DOC_LINES = 4


def _doc_span(src: Source, fn: Func) -> tuple[int, int] | None:
    """Byte span of the whole lines holding the function's doc, when it is short and
    removable: a Python docstring with statements after it, a `// Name ...` comment run
    above a Go func, a `/** ... */` above a JS function."""
    doc = _doc_comment(src, fn)
    if doc is None or doc.count("\n") >= MAX_DOC_LINES:
        return None
    data = src.data
    if src.lang == "python":
        node = fn.body.named_children[0]
        if len(_statements(fn)) < 2:
            return None
        return _whole_lines(data, node.start_byte, node.end_byte)
    top = fn.node.parent if fn.node.parent.type == "export_statement" else fn.node
    start = data.rfind(doc.encode(), 0, top.start_byte)
    span = _whole_lines(data, start, start + len(doc.encode()))
    if span is None:
        return None
    if src.lang == "javascript":
        return span if doc.startswith("/**") else None
    s = span[0]  # Go: a run of // lines, each comment node one line
    while s > 0:
        prev = _line_start(data, s - 1)
        if not data[prev:s].strip().startswith(b"//"):
            break
        s = prev
    lines = data[s:span[1]].decode().splitlines()
    first = lines[0].strip()
    if len(lines) > MAX_DOC_LINES or first.split(" ")[:2] != ["//", fn.name] \
            or any(not (ln.strip().startswith("// ") or ln.strip() == "//") for ln in lines):
        return None  # not the function's doc: a directive, or a note that names no function
    return s, span[1]


def _add_docstring(src: Source, path: str, fn: Func, rng: random.Random) -> EditTask | None:
    span = _doc_span(src, fn)
    if span is None:
        return None
    if src.lang == "python":
        span = _and_blank_after(src.data, span)
    request = phrase("add_docstring", rng, func=fn.name, doc=rng.choice(_DOC_WORDS[src.lang]),
                     path=path)
    return _task(src, path, "add_docstring", request, src.replace_spans([(*span, "")]), fn.name)


def gen_add_docstring(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    if src.lang not in _DOC_WORDS:
        return
    yield from _first(rng, _named_functions(src), lambda fn: _add_docstring(src, path, fn, rng))


GENERATORS: dict[str, Gen] = {
    "param_from_literal": gen_param_from_literal, "add_guard": gen_add_guard,
    "missing_import": gen_missing_import, "add_docstring": gen_add_docstring,
}
