"""Which functions of a file `hrm doc` documents: every function and method, with its
qualified name (Class.method), its line, and whether it already has documentation.

Documentation is what the language's own tools read: a Python docstring; a comment right
above the definition (attributes and decorators may sit between) that is a doc comment in
the language: `/** ... */` in JavaScript, TypeScript and Java, `///` or `/** ... */` in
Rust, any comment in Go, C and C++. Functions nested inside other functions are left out:
they are implementation details, and documenting them is rarely what the user wants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hrmcli.agent.docguard import COMMENT_TYPES, is_docstring, parse

_JS_FUNCS = {"function_declaration", "generator_function_declaration", "method_definition"}
FUNCTION_TYPES: dict[str, frozenset[str]] = {
    "python": frozenset({"function_definition"}),
    "javascript": frozenset(_JS_FUNCS),
    "typescript": frozenset(_JS_FUNCS),
    "tsx": frozenset(_JS_FUNCS),
    "go": frozenset({"function_declaration", "method_declaration"}),
    "rust": frozenset({"function_item", "function_signature_item"}),
    "java": frozenset({"method_declaration", "constructor_declaration"}),
    "c": frozenset({"function_definition"}),
    "cpp": frozenset({"function_definition"}),
}
# Function values (`const f = () => ...`) count when a variable declarator names them.
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function",
                              "generator_function"})
# Bodies that are not searched for more definitions: code inside functions.
_LOCAL_SCOPES = _FUNCTION_VALUES | {"lambda", "closure_expression", "func_literal",
                                    "lambda_expression"}
# Types that name a scope for qualified names (Class.method).
_SCOPES = frozenset({"class_definition", "class_declaration", "class", "interface_declaration",
                     "abstract_class_declaration", "enum_declaration", "record_declaration",
                     "trait_item", "impl_item", "class_specifier", "struct_specifier",
                     "namespace_definition"})
# A leading comment documents the outermost of these around a definition.
_WRAPPERS = frozenset({"decorated_definition", "export_statement", "template_declaration",
                       "lexical_declaration", "variable_declaration"})
# What may stand between a doc comment and its definition.
_BETWEEN = frozenset({"attribute_item", "attribute_declaration", "decorator"})
_DOC_COMMENT = {
    "javascript": re.compile(r"/\*\*"), "typescript": re.compile(r"/\*\*"),
    "tsx": re.compile(r"/\*\*"), "java": re.compile(r"/\*\*"),
    "rust": re.compile(r"///|/\*\*"),
}


@dataclass(frozen=True)
class DocTarget:
    name: str  # qualified: Class.method, Type.method for Go and Rust methods
    line: int  # 1-based first line of the definition (decorators and exports included)
    documented: bool

    def describe(self) -> str:
        return f"{self.name} (line {self.line})"


def _text(node) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def _name_of(node) -> str:
    """The name a definition introduces; C/C++ declarator chains and Go receivers followed."""
    name = node.child_by_field_name("name")
    if name is not None:
        return _text(name)
    decl = node.child_by_field_name("declarator")
    while decl is not None:
        if decl.type in ("identifier", "field_identifier", "operator_name", "destructor_name",
                         "qualified_identifier"):
            return _text(decl).replace("::", ".")
        decl = decl.child_by_field_name("declarator") or decl.child_by_field_name("name")
    return ""


def _scope_name(node) -> str:
    if node.type == "impl_item":  # impl Trait for Type / impl Type: the type names it
        typ = node.child_by_field_name("type")
        ident = typ if typ is None or typ.type == "type_identifier" else \
            next((c for c in typ.children if c.type == "type_identifier"), typ)
        return _text(ident)
    return _text(node.child_by_field_name("name"))


def _go_receiver(node) -> str:
    receiver = node.child_by_field_name("receiver")
    stack = [receiver] if receiver is not None else []
    while stack:
        n = stack.pop()
        if n.type == "type_identifier":
            return _text(n)
        stack.extend(reversed(n.children))
    return ""


def _anchor(node):
    """The node a leading doc comment sits above: the definition with its wrappers."""
    while node.parent is not None and (node.parent.type in _WRAPPERS
                                       or node.parent.type == "variable_declarator"):
        node = node.parent
    return node


def _has_doc(node, grammar: str) -> bool:
    if grammar == "python":
        body = node.child_by_field_name("body")
        first = next((c for c in body.named_children if c.type not in COMMENT_TYPES), None) \
            if body is not None else None
        return first is not None and is_docstring(first)
    anchor = _anchor(node)
    prev, top = anchor.prev_named_sibling, anchor
    while prev is not None and prev.type in _BETWEEN:
        prev, top = prev.prev_named_sibling, prev
    if prev is None or prev.type not in COMMENT_TYPES:
        return False
    if prev.end_point[0] < top.start_point[0] - 1:  # a blank line between: not its comment
        return False
    pattern = _DOC_COMMENT.get(grammar)
    return pattern is None or bool(pattern.match(_text(prev)))


def find_targets(source: str | bytes, grammar: str) -> list[DocTarget]:
    """Every function and method of a file (outside other functions), in source order."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    kinds = FUNCTION_TYPES[grammar]
    out: list[DocTarget] = []
    stack: list[tuple[object, tuple[str, ...]]] = [(parse(data, grammar).root_node, ())]
    while stack:
        node, scope = stack.pop()
        name = ""
        if node.type in kinds:
            name = _name_of(node)
            if node.type == "method_declaration" and grammar == "go":
                receiver = _go_receiver(node)
                name = f"{receiver}.{name}" if receiver else name
        elif node.type == "variable_declarator":
            value = node.child_by_field_name("value")
            if value is not None and value.type in _FUNCTION_VALUES:
                name = _name_of(node)
        if name:
            top = _anchor(node)
            out.append(DocTarget(".".join((*scope, name)), top.start_point[0] + 1,
                                 _has_doc(node, grammar)))
            continue
        if node.type in _LOCAL_SCOPES:
            continue
        inner = (*scope, _scope_name(node)) if node.type in _SCOPES and _scope_name(node) \
            else scope
        stack.extend((c, inner) for c in reversed(node.named_children))
    return out


class SymbolNotFound(LookupError):
    """SYMBOL names no function of the file, or more than one: the message lists them."""


def select(targets: list[DocTarget], symbol: str) -> list[DocTarget]:
    """The targets `symbol` names: a qualified name (Class.method), or a bare name that only
    one function has."""
    exact = [t for t in targets if t.name == symbol]
    if exact:
        return exact
    tail = [t for t in targets if t.name.rsplit(".", 1)[-1] == symbol]
    if len(tail) == 1:
        return tail
    if tail:
        raise SymbolNotFound(f"{symbol} is ambiguous: "
                             f"{', '.join(t.describe() for t in tail)}; give the qualified name")
    known = ", ".join(t.name for t in targets) or "none"
    raise SymbolNotFound(f"no function named {symbol} in the file (functions: {known})")
