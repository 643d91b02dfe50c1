"""The three code actions, and the task each one gives the edit coder.

Each action is a command (not a ready edit): the proposal takes seconds to minutes, so it
runs only when the user picks the action, with progress and a way to cancel. The
command's one argument is a JSON object: {"uri", "range"} plus "instruction" (edit
selection; asked for when missing) or "diagnostic" (fix).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from lsprotocol import types

from hrmcli.languages import grammar_for, language_for, parser

EDIT = "hrm.editSelection"
DOCUMENT = "hrm.documentFunction"
FIX = "hrm.fixDiagnostic"
COMMANDS = (EDIT, DOCUMENT, FIX)

# Offered by window/showMessageRequest when "edit selection" arrives without an
# instruction: the request can show buttons but not a text field.
PRESET_INSTRUCTIONS = ("Simplify", "Add type hints", "Add error handling", "Add comments")


def _offered(kind: str, only: list[str] | None) -> bool:
    """LSP's `only` filter: a kind is wanted when it is, or is under, one of the listed."""
    return not only or any(kind == k or kind.startswith(k + ".") for k in only)


def code_actions(params: types.CodeActionParams, source: str) -> list[types.CodeAction]:
    uri, rng = params.text_document.uri, params.range
    only = [str(k) for k in params.context.only] if params.context.only else None
    out = []
    if _offered(types.CodeActionKind.RefactorRewrite, only):
        out.append(_action("hrm: edit selection…", types.CodeActionKind.RefactorRewrite,
                           EDIT, {"uri": uri, "range": _json_range(rng)}))
    if _offered(types.CodeActionKind.RefactorRewrite, only) and \
            enclosing_function(source, uri, rng.start.line) is not None:
        out.append(_action("hrm: document this function", types.CodeActionKind.RefactorRewrite,
                           DOCUMENT, {"uri": uri, "range": _json_range(rng)}))
    if _offered(types.CodeActionKind.QuickFix, only):
        for diag in params.context.diagnostics:
            act = _action(f"hrm: fix this diagnostic: {_short(diag.message)}",
                          types.CodeActionKind.QuickFix, FIX,
                          {"uri": uri, "range": _json_range(diag.range),
                           "diagnostic": _json_diagnostic(diag)})
            act.diagnostics = [diag]
            out.append(act)
    return out


def _action(title: str, kind: str, command: str, arg: dict) -> types.CodeAction:
    return types.CodeAction(title=title, kind=kind,
                            command=types.Command(title=title, command=command, arguments=[arg]))


def _short(message: str, width: int = 60) -> str:
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def _json_range(r: types.Range) -> dict:
    return {"start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character}}


def parse_range(value: object) -> types.Range | None:
    """A range from a command argument (JSON), or None when it is not one."""
    try:
        s, e = value["start"], value["end"]  # type: ignore[index]
        return types.Range(start=types.Position(line=int(s["line"]), character=int(s["character"])),
                           end=types.Position(line=int(e["line"]), character=int(e["character"])))
    except (TypeError, KeyError, ValueError):
        return None


def _json_diagnostic(d: types.Diagnostic) -> dict:
    return {"message": d.message, "source": d.source or "", "code": str(d.code or ""),
            "line": d.range.start.line}


@dataclass(frozen=True)
class Function:
    name: str
    start: int  # 0-based first line
    end: int  # 0-based last line


def enclosing_function(source: str, uri_or_path: str, line: int) -> Function | None:
    """The innermost function or method around 0-based `line`, found with the file's
    tree-sitter grammar; None outside any (or for a language hrm does not parse)."""
    grammar = grammar_for(PurePath(uri_or_path).name)
    if grammar is None:
        return None
    tree = parser(grammar).parse(source.encode("utf-8"))
    best = None
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if not (node.start_point[0] <= line <= node.end_point[0]):
            continue
        if _is_function(node.type):
            name = node.child_by_field_name("name")
            best = Function(name.text.decode("utf-8", "replace") if name is not None else "",
                            node.start_point[0], node.end_point[0])
        stack.extend(node.children)
    return best


def _is_function(node_type: str) -> bool:
    # function_definition (Python, C), function_declaration (JS, Go), function_item
    # (Rust), method_declaration / method_definition (Java, Go, JS), constructors.
    return node_type.startswith(("function_", "method_", "constructor_")) and \
        node_type.endswith(("_definition", "_declaration", "_item"))


def edit_task(path: str, start: int, end: int, selection: str, instruction: str) -> str:
    shown = selection.rstrip("\r\n")
    return (f"{instruction.strip()}\n\nApply this to lines {start + 1}-{end + 1} of {path} "
            f"(the selection below) and change nothing outside them:\n```\n{shown}\n```")


def document_task(path: str, fn: Function) -> str:
    what = "a docstring" if language_for(path) == "python" else "a doc comment"
    name = f"`{fn.name}`" if fn.name else "the function"
    return (f"Add {what} to {name} (lines {fn.start + 1}-{fn.end + 1} of {path}) that says "
            "what it does, its parameters and what it returns. Change nothing else.")


def fix_task(path: str, diagnostic: dict) -> str:
    source = diagnostic.get("source") or "the editor"
    code = f" [{diagnostic['code']}]" if diagnostic.get("code") else ""
    return (f"Fix this problem {source} reports at line {int(diagnostic.get('line', 0)) + 1} "
            f"of {path}{code}: {diagnostic.get('message', '')}\n"
            "Change as little as possible.")
