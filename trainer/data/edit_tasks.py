"""Edit tasks made from real code: (file before, request, file after) plus the minimal
SEARCH/REPLACE answer that turns before into after.

Every task type finds its site with tree-sitter, so edits land on real syntax (not inside
strings or comments) in all six languages. The answer is checked by parsing it back with
the agent's own parser; tests also apply every example with the agent's apply engine.
"""

from __future__ import annotations

import difflib
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import tree_sitter as ts

from hrmcli import prompt_format as pf
from hrmcli.agent.editblocks import DIVIDER_RE, REPLACE_RE, SEARCH_RE, clean_path_line, parse_edits

from .phrasing import DOC_WORDS, bug_hint, expand, phrase
from .treesitter import Source, load, walk


@dataclass(frozen=True)
class LangSpec:
    functions: frozenset[str]
    idents: frozenset[str]
    ints: frozenset[str]
    strings: frozenset[str]
    binops: frozenset[str]
    imports: frozenset[str]
    calls: frozenset[str]
    comments: frozenset[str]
    stub: str  # statement that replaces a blanked body
    # (name, declaration text, value passed at call sites or None when it has a default)
    params: tuple[tuple[str, str, str | None], ...]


_C_LIKE_BINOPS = frozenset({"binary_expression"})
SPECS: dict[str, LangSpec] = {
    "python": LangSpec(
        frozenset({"function_definition"}), frozenset({"identifier"}), frozenset({"integer"}),
        frozenset({"string"}), frozenset({"binary_operator", "comparison_operator", "boolean_operator"}),
        frozenset({"import_statement", "import_from_statement"}), frozenset({"call"}),
        frozenset({"comment"}), "raise NotImplementedError",
        (("verbose", "verbose=False", None), ("timeout", "timeout=None", None),
         ("strict", "strict: bool = False", None), ("limit", "limit=None", None)),
    ),
    "javascript": LangSpec(
        frozenset({"function_declaration", "method_definition"}),
        frozenset({"identifier", "property_identifier", "shorthand_property_identifier"}),
        frozenset({"number"}), frozenset({"string"}), _C_LIKE_BINOPS,
        frozenset({"import_statement"}), frozenset({"call_expression"}), frozenset({"comment"}),
        'throw new Error("not implemented");',
        (("options", "options = {}", None), ("verbose", "verbose = false", None),
         ("limit", "limit = Infinity", None)),
    ),
    "typescript": LangSpec(
        frozenset({"function_declaration", "method_definition"}),
        frozenset({"identifier", "property_identifier", "shorthand_property_identifier"}),
        frozenset({"number"}), frozenset({"string"}), _C_LIKE_BINOPS,
        frozenset({"import_statement"}), frozenset({"call_expression"}), frozenset({"comment"}),
        'throw new Error("not implemented");',
        (("verbose", "verbose: boolean = false", None), ("limit", "limit?: number", None),
         ("signal", "signal?: AbortSignal", None)),
    ),
    "go": LangSpec(
        frozenset({"function_declaration", "method_declaration"}),
        frozenset({"identifier", "field_identifier"}), frozenset({"int_literal"}),
        frozenset({"interpreted_string_literal"}), _C_LIKE_BINOPS,
        frozenset({"import_spec"}), frozenset({"call_expression"}), frozenset({"comment"}),
        'panic("not implemented")',
        (("verbose", "verbose bool", "false"), ("limit", "limit int", "0"),
         ("prefix", "prefix string", '""')),
    ),
    "rust": LangSpec(
        frozenset({"function_item"}), frozenset({"identifier", "field_identifier"}),
        frozenset({"integer_literal"}), frozenset({"string_literal"}), _C_LIKE_BINOPS,
        frozenset({"use_declaration"}), frozenset({"call_expression"}),
        frozenset({"line_comment", "block_comment"}), "todo!()",
        (("verbose", "verbose: bool", "false"), ("limit", "limit: usize", "0")),
    ),
    "java": LangSpec(
        frozenset({"method_declaration", "constructor_declaration"}), frozenset({"identifier"}),
        frozenset({"decimal_integer_literal"}), frozenset({"string_literal"}), _C_LIKE_BINOPS,
        frozenset({"import_declaration"}), frozenset({"method_invocation"}),
        frozenset({"line_comment", "block_comment"}),
        'throw new UnsupportedOperationException("not implemented");',
        (("verbose", "boolean verbose", "false"), ("limit", "int limit", "0")),
    ),
    "c": LangSpec(
        frozenset({"function_definition"}), frozenset({"identifier", "field_identifier"}),
        frozenset({"number_literal"}), frozenset({"string_literal"}), _C_LIKE_BINOPS,
        frozenset({"preproc_include"}), frozenset({"call_expression"}), frozenset({"comment"}),
        "/* TODO: implement */",
        (("flags", "int flags", "0"), ("limit", "size_t limit", "0")),
    ),
    "cpp": LangSpec(
        frozenset({"function_definition"}), frozenset({"identifier", "field_identifier"}),
        frozenset({"number_literal"}), frozenset({"string_literal"}), _C_LIKE_BINOPS,
        frozenset({"preproc_include"}), frozenset({"call_expression"}), frozenset({"comment"}),
        "// TODO: implement",
        (("verbose", "bool verbose", "false"), ("limit", "std::size_t limit", "0")),
    ),
}

TASK_TYPES: tuple[str, ...] = ("implement", "rename", "literal", "add_param", "add_import", "fix_bug")
DIFFICULTY = {"remove_debug": 1, "delete_function": 1, "literal": 1, "add_import": 1, "fix_bug": 2, "rename": 2, "add_param": 2, "implement": 3,
              "add_docstring": 1, "missing_import": 1, "add_guard": 2, "param_from_literal": 2}
MAX_FILE_CHARS = 16000
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class EditTask:
    path: str
    lang: str
    task: str  # subtype, one of TASK_TYPES (fix_bug carries the bug in `detail`)
    request: str
    before: str
    after: str
    detail: str = ""

    def record(self) -> dict:
        answer = blocks_for(self.path, self.before, self.after)
        return {
            "prompt": pf.edit_prompt([(self.path, self.before)], self.request),
            "answer": answer + pf.EOS,
            "kind": "edit",
            "task": self.task,
            "detail": self.detail,
            "lang": self.lang,
            "difficulty": DIFFICULTY[self.task],
            "halt": None,
            "path": self.path,
            "target": self.after,
        }


# ---------------------------------------------------------------------------------------
# Minimal SEARCH/REPLACE blocks
# ---------------------------------------------------------------------------------------

class Unrepresentable(ValueError):
    """The change cannot be written as SEARCH/REPLACE blocks that parse back unchanged."""


def _count(lines: list[str], seq: list[str]) -> int:
    n, k = 0, len(seq)
    first = seq[0]
    for i in range(len(lines) - k + 1):
        if lines[i] == first and lines[i:i + k] == seq:
            n += 1
    return n


def _hunks(a: list[str], b: list[str]) -> list[list[int]]:
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [[i1, i2, j1, j2] for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"]


def minimal_blocks(before: str, after: str) -> list[tuple[str, str]]:
    """[(search, replace)] turning before into after when applied in order.

    Each SEARCH starts as the changed lines and grows by context lines (alternating above
    and below) until it matches exactly once in the file as earlier blocks left it; hunks
    whose context would overlap are merged.
    """
    if before == after:
        raise Unrepresentable("no change")
    a, b = before.splitlines(), after.splitlines()
    if before and not before.endswith("\n") or after and not after.endswith("\n"):
        raise Unrepresentable("text must end with a newline")
    hunks = _hunks(a, b)
    k = 0
    out: list[tuple[str, str]] = []
    while k < len(hunks):
        i1, i2, j1, j2 = hunks[k]
        prev_end = hunks[k - 1][1] if k else 0
        next_start = hunks[k + 1][0] if k + 1 < len(hunks) else len(a)
        state = b[:hunks[k - 1][3]] + a[prev_end:] if k else a
        up = down = 0
        merged = False
        while True:
            s0, s1 = i1 - up, i2 + down
            seq = a[s0:s1]
            if seq and any(ln.strip() for ln in seq) and _count(state, seq) == 1:
                break
            can_up, can_down = s0 > prev_end, s1 < next_start
            if can_up and (up <= down or not can_down):
                up += 1
            elif can_down:
                down += 1
            elif k + 1 < len(hunks):  # ran into the next hunk: merge and retry
                nxt = hunks.pop(k + 1)
                hunks[k] = [i1, nxt[1], j1, nxt[3]]
                merged = True
                break
            elif k > 0:  # ran into the previous hunk: merge into it and redo that one
                prev = hunks.pop(k)
                hunks[k - 1] = [hunks[k - 1][0], prev[1], hunks[k - 1][2], prev[3]]
                out.pop()
                k -= 1
                merged = True
                break
            else:
                raise Unrepresentable("no unique SEARCH span")
        if merged:
            continue
        search = a[i1 - up:i2 + down]
        replace = a[i1 - up:i1] + b[j1:j2] + a[i2:i2 + down]
        out.append(("".join(x + "\n" for x in search), "".join(x + "\n" for x in replace)))
        k += 1
    return out


def _is_marker_line(line: str) -> bool:
    s = line.strip()
    return bool(SEARCH_RE.match(s) or DIVIDER_RE.match(s) or REPLACE_RE.match(s))


def render_blocks(path: str, blocks: list[tuple[str, str]]) -> str:
    return "".join(
        f"{path}\n{pf.SEARCH_MARK}\n{s}{pf.DIVIDER_MARK}\n{r}{pf.REPLACE_MARK}\n" for s, r in blocks
    )


def blocks_for(path: str, before: str, after: str) -> str:
    """HRM-Code's answer text for the change; raises Unrepresentable when the blocks would
    not parse back exactly (marker-like lines in the code, a path the parser rejects)."""
    if clean_path_line(path) != path:
        raise Unrepresentable(f"path {path!r} is not a clean path line")
    blocks = minimal_blocks(before, after)
    for s, r in blocks:
        if any(_is_marker_line(ln) for ln in (s + r).splitlines()):
            raise Unrepresentable("code contains a line that looks like an edit marker")
    text = render_blocks(path, blocks)
    parsed = parse_edits(text)
    got = [(x.path, x.search, x.replace) for x in parsed.blocks]
    if parsed.errors or got != [(path, s, r) for s, r in blocks]:
        raise Unrepresentable("blocks do not parse back unchanged")
    return text


# ---------------------------------------------------------------------------------------
# Tree helpers
# ---------------------------------------------------------------------------------------

def _decl_name(fn: ts.Node) -> ts.Node | None:
    name = fn.child_by_field_name("name")
    if name is not None:
        return name
    d = fn.child_by_field_name("declarator")  # C/C++: walk the declarator chain
    while d is not None:
        if d.type in ("identifier", "field_identifier"):
            return d
        if d.type in ("qualified_identifier", "destructor_name", "operator_name", "template_function"):
            return None
        d = d.child_by_field_name("declarator")
    return None


def _params(fn: ts.Node) -> ts.Node | None:
    p = fn.child_by_field_name("parameters")
    if p is not None:
        return p
    d = fn.child_by_field_name("declarator")
    while d is not None:
        if d.type == "function_declarator":
            return d.child_by_field_name("parameters")
        d = d.child_by_field_name("declarator")
    return None


@dataclass
class Func:
    node: ts.Node
    name: str
    body: ts.Node
    params: ts.Node | None


def functions(src: Source) -> list[Func]:
    spec = SPECS[src.lang]
    out = []
    for n in walk(src.tree.root_node):
        if n.type in spec.functions:
            name, body = _decl_name(n), n.child_by_field_name("body")
            if name is not None and body is not None and not body.has_error:
                out.append(Func(n, src.node_text(name), body, _params(n)))
    return out


def _line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1


def _indent_at(data: bytes, pos: int) -> str:
    s = _line_start(data, pos)
    e = s
    while e < len(data) and data[e:e + 1] in (b" ", b"\t"):
        e += 1
    return data[s:e].decode()


def _doc_comment(src: Source, fn: Func) -> str | None:
    """The doc text of a function: its docstring (Python) or the comment just above it."""
    spec = SPECS[src.lang]
    if src.lang == "python":
        first = fn.body.named_children[0] if fn.body.named_children else None
        if first is not None and first.type == "expression_statement" and first.named_children \
                and first.named_children[0].type == "string":
            return src.node_text(first)
        return None
    node = fn.node
    if node.parent is not None and node.parent.type in ("decorated_definition", "export_statement",
                                                        "template_declaration"):
        node = node.parent
    prev = node.prev_sibling
    while prev is not None and prev.type in ("attribute_item", "marker_annotation", "annotation"):
        prev = prev.prev_sibling
    if prev is not None and prev.type in spec.comments and node.start_point[0] - prev.end_point[0] <= 1:
        return src.node_text(prev)
    return None


def _is_stub_body(text: str) -> bool:
    return any(w in text for w in ("NotImplemented", "not implemented", "todo!", "unimplemented!",
                                   "TODO: implement", "UnsupportedOperationException"))


# ---------------------------------------------------------------------------------------
# Task generators: each yields EditTasks for one file
# ---------------------------------------------------------------------------------------

Gen = Callable[[Source, str, random.Random], Iterator[EditTask]]


def gen_implement(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    data, spec = src.data, SPECS[src.lang]
    for fn in functions(src):
        body_text = src.node_text(fn.body)
        n_lines = body_text.count("\n") + 1
        doc = _doc_comment(src, fn)
        if doc is None or not 3 <= n_lines <= 40 or _is_stub_body(body_text):
            continue
        if src.lang == "python":
            stmts = fn.body.named_children
            if len(stmts) < 2:
                continue
            indent = _indent_at(data, stmts[1].start_byte)
            if fn.body.start_point[0] == fn.node.start_point[0]:
                continue  # one-line def
            spans = [(stmts[0].end_byte, fn.body.end_byte, f"\n{indent}{spec.stub}")]
        else:
            if fn.body.start_point[0] == fn.body.end_point[0]:
                continue
            close_indent = _indent_at(data, fn.body.end_byte - 1)
            inner = fn.body.named_children
            inner_indent = _indent_at(data, inner[0].start_byte) if inner else close_indent + "    "
            if len(inner_indent) <= len(close_indent):
                continue
            spans = [(fn.body.start_byte, fn.body.end_byte,
                      f"{{\n{inner_indent}{spec.stub}\n{close_indent}}}")]
        stub = src.replace_spans(spans)
        doc_word = "docstring" if src.lang == "python" else rng.choice(DOC_WORDS[1:])
        yield EditTask(path, src.lang, "implement",
                       phrase("implement", rng, name=fn.name, path=path, doc=doc_word),
                       stub, src.text, fn.name)


def _ident_nodes(src: Source) -> list[ts.Node]:
    spec = SPECS[src.lang]
    return [n for n in walk(src.tree.root_node) if n.type in spec.idents]


_SYNONYMS = {
    "get": "fetch", "set": "assign", "make": "build", "create": "build", "compute": "calculate",
    "calc": "calculate", "find": "locate", "read": "load", "write": "store", "parse": "decode",
    "check": "validate", "is": "has", "count": "total", "num": "count", "size": "length",
    "len": "length", "buf": "buffer", "tmp": "scratch", "res": "result", "val": "value",
    "idx": "index", "i": "idx", "n": "count", "s": "text", "list": "items", "name": "label",
    "data": "payload", "item": "entry", "key": "name", "new": "fresh", "init": "setup",
    "add": "append", "remove": "drop", "update": "refresh", "handle": "process", "run": "execute",
    "start": "begin", "stop": "halt", "load": "read", "save": "persist", "value": "val",
    "result": "outcome", "error": "failure", "err": "error", "msg": "message", "path": "location",
}


_SNAKE_LANGS = frozenset({"python", "rust", "c", "cpp"})


def _split_words(name: str, lang: str) -> tuple[list[str], str]:
    if "_" in name.strip("_") or name.isupper() or name.islower() and lang in _SNAKE_LANGS:
        return [w for w in name.split("_") if w], "snake"
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)], "camel"


def new_name(old: str, rng: random.Random, taken: set[str], lang: str) -> str | None:
    """A plausible new name in the same style (snake/camel, leading underscores kept)."""
    lead = old[: len(old) - len(old.lstrip("_"))]
    words, style = _split_words(old.lstrip("_"), lang)
    if not words:
        return None
    choices = []
    for i, w in enumerate(words):
        if w in _SYNONYMS:
            choices.append(words[:i] + [_SYNONYMS[w]] + words[i + 1:])
    choices += [words + [rng.choice(["value", "impl", "inner", "helper", "fn", "all"])],
                [rng.choice(["do", "my", "the", "local", "new"])] + words]
    rng.shuffle(choices)
    for ws in choices:
        if style == "snake":
            cand = "_".join(ws)
            if old.lstrip("_").isupper():
                cand = cand.upper()
        else:
            head = ws[0] if old.lstrip("_")[:1].islower() else ws[0].capitalize()
            cand = head + "".join(w.capitalize() for w in ws[1:])
        cand = lead + cand
        if cand != old and IDENT_RE.match(cand) and cand not in taken:
            return cand
    return None


def gen_rename(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    idents = _ident_nodes(src)
    by_name: dict[str, list[ts.Node]] = {}
    for n in idents:
        by_name.setdefault(src.node_text(n), []).append(n)
    taken = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", src.text))
    fns = functions(src)
    defined = {}
    for f in fns:
        defined.setdefault(f.name, []).append(f)
    cands: list[tuple[str, str, str]] = []  # (name, what, scope text)
    for name, fs in defined.items():
        if len(fs) == 1 and len(name) >= 3 and len(by_name.get(name, [])) >= 2:
            cands.append((name, "function", ""))
    for f in fns:  # locals: every occurrence of the name lies inside this one function
        inside: dict[str, int] = {}
        for n in walk(f.body):
            if n.type in SPECS[src.lang].idents:
                t = src.node_text(n)
                inside[t] = inside.get(t, 0) + 1
        for t, c in inside.items():
            if c >= 2 and len(t) >= 2 and c == len(by_name.get(t, [])) and t not in defined \
                    and t not in ("self", "this", "cls", "super", "_", "err", "ok"):
                cands.append((t, "variable", f" in `{f.name}`"))
    rng.shuffle(cands)
    for name, what, scope in cands[:4]:
        new = new_name(name, rng, taken, src.lang)
        if new is None:
            continue
        after = src.replace_spans([(n.start_byte, n.end_byte, new) for n in by_name[name]])
        yield EditTask(path, src.lang, "rename",
                       phrase("rename", rng, what=what, old=name, new=new, path=path, scope=scope),
                       src.text, after, name)


def _enclosing_function(node: ts.Node, spec: LangSpec) -> ts.Node | None:
    p = node.parent
    while p is not None and p.type not in spec.functions:
        p = p.parent
    return p


def _fn_name(src: Source, fn: ts.Node) -> str | None:
    n = _decl_name(fn)
    return src.node_text(n) if n is not None else None


def gen_literal(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    spec = SPECS[src.lang]
    sites = [n for n in walk(src.tree.root_node) if n.type in spec.ints or n.type in spec.strings]
    rng.shuffle(sites)
    made = 0
    for n in sites:
        if made >= 3:
            break
        fn = _enclosing_function(n, spec)
        if fn is None:
            continue
        fname = _fn_name(src, fn)
        text = src.node_text(n)
        if fname is None or src.node_text(fn).count(text) != 1:
            continue
        if n.type in spec.ints:
            if not text.isdigit() or len(text) > 6 or text != str(int(text)):
                continue
            v = int(text)
            new_v = rng.choice([v + 1, v * 2, v + 10, max(v - 1, 0), v * 10]) if v else rng.choice([1, 2, -1])
            if new_v == v:
                continue
            new_text, kind = str(new_v), "number"
            if new_v < 0 and n.parent is not None and n.parent.type in spec.binops:
                continue
        else:
            q = text[:1]
            if q not in ("'", '"') or len(text) < 5 or not text.endswith(q) or text[1:3] == q * 2:
                continue
            body = text[1:-1]
            if not re.fullmatch(r"[A-Za-z][A-Za-z ,:!?-]{2,40}", body):
                continue
            words = body.split(" ")
            i = rng.randrange(len(words))
            words[i] = rng.choice([words[i].upper(), words[i] + "s", "new " + words[i], words[i].capitalize()])
            new_body = " ".join(words)
            if new_body == body:
                continue
            new_text, kind = q + new_body + q, "string"
        after = src.replace_spans([(n.start_byte, n.end_byte, new_text)])
        made += 1
        yield EditTask(path, src.lang, "literal",
                       phrase("literal", rng, func=fname, old=f"`{text}`", new=f"`{new_text}`",
                              kind=kind, path=path),
                       src.text, after, kind)


def _callee_name(src: Source, call: ts.Node) -> str | None:
    if call.type == "method_invocation":
        n = call.child_by_field_name("name")
        return src.node_text(n) if n is not None else None
    f = call.child_by_field_name("function")
    if f is None:
        return None
    if f.type in ("identifier", "field_identifier"):
        return src.node_text(f)
    for field in ("field", "property", "attribute", "name"):
        c = f.child_by_field_name(field)
        if c is not None:
            return src.node_text(c)
    return None


def gen_add_param(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    spec = SPECS[src.lang]
    fns = functions(src)
    counts: dict[str, int] = {}
    for f in fns:
        counts[f.name] = counts.get(f.name, 0) + 1
    taken = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", src.text))
    calls = [n for n in walk(src.tree.root_node) if n.type in spec.calls]
    rng.shuffle(fns)
    made = 0
    for f in fns:
        if made >= 2 or counts[f.name] != 1 or f.params is None:
            continue
        ptext = src.node_text(f.params)
        if "\n" in ptext or "*" in ptext and src.lang == "python" or "..." in ptext or "/" in ptext:
            continue
        options = [p for p in spec.params if p[0] not in taken]
        if not options:
            continue
        pname, decl, value = rng.choice(options)
        inner = ptext[1:-1].strip()
        if src.lang in ("c", "cpp") and inner in ("void", ""):
            if inner == "" and src.lang == "c":
                continue
            new_params = f"({decl})"
        else:
            new_params = f"({inner}, {decl})" if inner else f"({decl})"
        spans = [(f.params.start_byte, f.params.end_byte, new_params)]
        n_calls = 0
        if value is not None:
            for c in calls:
                if _callee_name(src, c) != f.name:
                    continue
                args = c.child_by_field_name("arguments")
                if args is None or args.start_byte < f.params.end_byte <= args.end_byte:
                    continue
                a = src.node_text(args)
                if not (a.startswith("(") and a.endswith(")")):
                    continue
                sep = ", " if a[1:-1].strip() else ""
                spans.append((args.end_byte - 1, args.end_byte - 1, f"{sep}{value}"))
                n_calls += 1
        call_text = ""
        if n_calls:
            call_text = rng.choice([f", and pass `{value}` at its call sites in {path}",
                                    f"; update the calls in this file to pass `{value}`",
                                    f" (existing callers here should pass `{value}`)"])
        try:
            after = src.replace_spans(spans)
        except ValueError:
            continue
        made += 1
        yield EditTask(path, src.lang, "add_param",
                       phrase("add_param", rng, func=f.name, param=f"`{decl}`", calls=call_text,
                              path=path),
                       src.text, after, pname)


def _import_names(src: Source, node: ts.Node) -> str:
    text = src.node_text(node).strip().rstrip(";")
    if src.lang == "python":
        if text.startswith("from"):
            return text.split(" import ", 1)[-1].strip("() ")
        return text[len("import "):]
    if src.lang in ("c", "cpp"):
        return text.split(None, 1)[-1]
    if src.lang == "go":
        return text.split()[-1].strip('"').rsplit("/", 1)[-1] if " " not in text else text.split()[0]
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\W*$", text)
    return m.group(1) if m else text


def gen_add_import(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    spec = SPECS[src.lang]
    data = src.data
    nodes = [n for n in walk(src.tree.root_node) if n.type in spec.imports and not n.has_error]
    rng.shuffle(nodes)
    made = 0
    for n in nodes:
        if made >= 1:
            break
        s, e = _line_start(data, n.start_byte), data.find(b"\n", max(n.end_byte - 1, n.start_byte))
        if e < 0:
            continue
        line = data[s:e].decode("utf-8", "replace")
        if line.strip() != src.node_text(n).strip() or "\n" in src.node_text(n).strip():
            continue
        if src.lang == "go" and n.parent is not None and n.parent.type == "import_declaration":
            continue  # a single-line import declaration: removing it is the same as below
        before = src.replace_spans([(s, e + 1, "")])
        names = _import_names(src, n)
        if not names:
            continue
        made += 1
        stmt = line.strip()
        yield EditTask(path, src.lang, "add_import",
                       phrase("add_import", rng, stmt=stmt, names=names, path=path),
                       before, src.text, stmt)


_SWAPS = {"+": "-", "-": "+", "*": "/", "&&": "||", "||": "&&", "and": "or", "or": "and",
          "|": "&", "&": "|"}
_FLIPS = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "!=", "!=": "==", "is": "is not",
          "is not": "is", "in": "not in", "not in": "in"}
_OFF_BY_ONE = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}


def _mutations(src: Source) -> Iterator[tuple[str, ts.Node, int, int, str]]:
    """(bug kind, function node, start, end, replacement) for every bug we can inject."""
    spec = SPECS[src.lang]
    for fn in [f.node for f in functions(src)]:
        fn_idents: dict[str, list[ts.Node]] = {}
        for n in walk(fn):
            if n.type in spec.binops:
                for c in n.children:
                    if c.is_named:
                        continue
                    op = c.type
                    if op in _SWAPS and not (op == "+" and src.lang in ("javascript", "typescript", "java")):
                        yield ("operator_swap", fn, c.start_byte, c.end_byte, _SWAPS[op])
                    if op in _FLIPS:
                        yield ("flipped_comparison", fn, c.start_byte, c.end_byte, _FLIPS[op])
                    if op in _OFF_BY_ONE:
                        yield ("off_by_one", fn, c.start_byte, c.end_byte, _OFF_BY_ONE[op])
            elif n.type in spec.ints and n.parent is not None and n.parent.type in spec.binops:
                t = src.node_text(n)
                if t.isdigit() and len(t) < 4:
                    yield ("off_by_one", fn, n.start_byte, n.end_byte, str(int(t) + 1))
            elif n.type == "identifier" and n.parent is not None and n.parent.type in spec.binops:
                fn_idents.setdefault(src.node_text(n), []).append(n)
        names = [k for k in fn_idents if len(k) > 1]
        for name in names:
            others = [o for o in names if o != name]
            for n in fn_idents[name][:1]:
                for o in others[:1]:
                    yield ("wrong_variable", fn, n.start_byte, n.end_byte, o)


def gen_fix_bug(src: Source, path: str, rng: random.Random, per_file: int = 3) -> Iterator[EditTask]:
    muts = list(_mutations(src))
    rng.shuffle(muts)
    seen_kinds: dict[str, int] = {}
    for kind, fn, s, e, new in muts:
        if seen_kinds.get(kind, 0) >= 1 or sum(seen_kinds.values()) >= per_file:
            continue
        buggy_text = src.replace_spans([(s, e, new)])
        if load(buggy_text, src.lang, path).tree.root_node.has_error:
            continue
        fname = _fn_name(src, fn) or "this function"
        hint = bug_hint(kind, rng)
        seen_kinds[kind] = seen_kinds.get(kind, 0) + 1
        yield EditTask(path, src.lang, "fix_bug",
                       phrase("fix_bug", rng, func=fname, hint=hint, hint_cap=hint[:1].upper() + hint[1:],
                              path=path),
                       buggy_text, src.text, kind)


GENERATORS: dict[str, Gen] = {
    "implement": gen_implement, "rename": gen_rename, "literal": gen_literal,
    "add_param": gen_add_param, "add_import": gen_add_import, "fix_bug": gen_fix_bug,
}


_DEBUG_LINE = {
    "python": 'print("DEBUG {name}:", {arg})',
    "javascript": 'console.log("DEBUG {name}:", {arg});',
    "typescript": 'console.log("DEBUG {name}:", {arg});',
    "go": 'fmt.Println("DEBUG {name}:", {arg})',
    "rust": 'println!("DEBUG {name}: {{:?}}", {arg});',
    "java": 'System.out.println("DEBUG {name}: " + {arg});',
    "c": 'printf("DEBUG {name}\\n");',
    "cpp": 'std::cerr << "DEBUG {name}" << std::endl;',
}
_REMOVE_DEBUG = (
    "Remove the debug print from `{name}`.",
    "[Please |][remove|delete|drop] the [leftover |stray |]debug [print|output|logging line] in `{name}`.",
    "`{name}` still prints debug output; [remove it|take it out|clean that up].",
    "[Clean up|Tidy] `{name}`: [get rid of|remove] the DEBUG [line|print].",
)
_DELETE_FUNCTION = (
    "[Remove|Delete] the [unused |]function `{name}`[| from {path}].",
    "`{name}` is [dead code|no longer used|not needed anymore]; [delete|remove] it.",
    "[Please |]drop `{name}`[| from {path}], nothing calls it.",
)


def gen_remove_debug(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    """A debug print inserted as the first statement of a function; the task removes it."""
    data = src.data
    for fn in rng.sample(functions(src), min(2, len(functions(src)))):
        body = fn.body
        stmts = [c for c in body.named_children if c.type != "comment"] if body else []
        if stmts and src.node_text(stmts[0]).lstrip()[:1] in ('"', "'"):
            stmts = stmts[1:]  # a docstring stays first
        first = stmts[0] if stmts else None
        if first is None or first.start_point[0] == fn.node.start_point[0]:
            continue
        s = _line_start(data, first.start_byte)
        indent = _indent_at(data, first.start_byte)
        if data[s:first.start_byte].strip():
            continue
        params = _params(fn.node)
        names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", src.node_text(params)) if params else []
        names = [n for n in names if n not in ("self", "this", "cls", "int", "str", "const",
                                                "let", "var", "func", "fn", "mut", "bool")]
        arg = names[0] if names else '""'
        line = _DEBUG_LINE[src.lang].format(name=fn.name, arg=arg)
        before = (data[:s] + f"{indent}{line}\n".encode() + data[s:]).decode("utf-8")
        text = expand(rng.choice(_REMOVE_DEBUG), rng).format(name=fn.name, path=path)
        yield EditTask(path, src.lang, "remove_debug", text, before, src.text)
        return


def gen_delete_function(src: Source, path: str, rng: random.Random) -> Iterator[EditTask]:
    """The file with one more function (a copy of another under a new name that nothing
    uses); the task deletes it."""
    fns = [f for f in functions(src) if f.node.parent is not None
           and f.node.parent.type in ("module", "program", "source_file", "translation_unit")]
    if len(fns) < 1:
        return
    f = rng.choice(fns)
    taken = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", src.text))
    new = new_name(f.name, rng, taken, src.lang)
    if new is None:
        return
    data = src.data
    s = _line_start(data, f.node.start_byte)
    e = data.find(b"\n", f.node.end_byte - 1)
    if e < 0:
        return
    chunk = data[s:e + 1].decode("utf-8")
    copy = re.sub(rf"\b{re.escape(f.name)}\b", new, chunk, count=1)
    before = (data[:s].decode("utf-8") + copy + "\n" + data[s:].decode("utf-8"))
    text = expand(rng.choice(_DELETE_FUNCTION), rng).format(name=new, path=path)
    yield EditTask(path, src.lang, "delete_function", text, before, src.text)


GENERATORS: dict[str, Gen] = {
    "implement": gen_implement, "rename": gen_rename, "literal": gen_literal,
    "add_param": gen_add_param, "add_import": gen_add_import, "fix_bug": gen_fix_bug,
    "remove_debug": gen_remove_debug, "delete_function": gen_delete_function,
}


def all_generators() -> dict[str, Gen]:
    """GENERATORS and the inverse mutations (trainer.data.inverse_tasks). That module builds
    on the helpers here, so it is imported when first asked for, not at the top."""
    from .inverse_tasks import GENERATORS as INVERSE

    return {**GENERATORS, **INVERSE}


def edit_tasks_for_file(path: str, text: str, lang: str, seed: int,
                        kinds: tuple[str, ...] | None = None,
                        max_chars: int = MAX_FILE_CHARS) -> Iterator[EditTask]:
    """Edit tasks for one source file (every kind unless `kinds` names some); deterministic
    for (seed, path, text)."""
    if len(text) > max_chars or lang not in SPECS or clean_path_line(path) != path:
        return
    src = load(text, lang, path)
    if src.tree.root_node.has_error:
        return
    gens = all_generators()
    for kind in kinds or tuple(gens):
        rng = random.Random(f"{seed}:{kind}:{path}:{len(text)}")
        try:
            for t in gens[kind](src, path, rng):
                if t.before != t.after:
                    yield t
        except (ValueError, UnicodeDecodeError, RecursionError):
            continue


def tasks_for_file(path: str, text: str, lang: str, seed: int,
                   kinds: tuple[str, ...] = TASK_TYPES, max_chars: int = MAX_FILE_CHARS) -> Iterator[dict]:
    """Training records (HRM-Code's own prompt format) for one source file."""
    for t in edit_tasks_for_file(path, text, lang, seed, kinds, max_chars):
        try:
            yield t.record()
        except Unrepresentable:
            continue
