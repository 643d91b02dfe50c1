"""A token-budgeted map of a repository: which files define what, ranked by relevance.

The planner and the editor cannot see a whole repository, so they get a short list of the
definitions most likely to matter for the request. Relevance comes from the reference graph
(file A uses a name that file B defines => edge A -> B) ranked by PageRank personalised on
the files in the chat and on identifiers the user mentioned: the files those point at are
what the model needs to see next.

Which files are code, and in which grammar, comes from the one language table
(hrmcli.languages), which the training data reads too. Per-file results are cached by
(path, mtime, size) so that re-ranking after every agent step costs no parsing.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hrmcli.languages import grammar_for, language_for, parser
from hrmcli.tools.errors import ToolError
from hrmcli.tools.files import list_files

CACHE_VERSION = 2  # 2: .h is parsed as C (hrmcli.languages), not C++
MAX_FILE_BYTES = 1_000_000
DAMPING = 0.85

# Node types that introduce a named definition, per tree-sitter grammar.
_JS_DEFS = {"function_declaration", "generator_function_declaration", "class_declaration",
            "method_definition"}
_TS_DEFS = _JS_DEFS | {"interface_declaration", "type_alias_declaration", "enum_declaration",
                       "abstract_class_declaration", "function_signature"}
_C_DEFS = {"function_definition", "struct_specifier", "enum_specifier", "union_specifier"}
DEF_TYPES: dict[str, frozenset[str]] = {
    "python": frozenset({"function_definition", "class_definition"}),
    "javascript": frozenset(_JS_DEFS),
    "typescript": frozenset(_TS_DEFS),
    "tsx": frozenset(_TS_DEFS),
    "go": frozenset({"function_declaration", "method_declaration", "type_spec"}),
    "rust": frozenset({"function_item", "function_signature_item", "struct_item", "enum_item",
                       "trait_item", "type_item", "mod_item", "union_item", "macro_definition"}),
    "java": frozenset({"class_declaration", "interface_declaration", "enum_declaration",
                       "record_declaration", "method_declaration", "constructor_declaration"}),
    "c": frozenset(_C_DEFS),
    "cpp": frozenset(_C_DEFS | {"class_specifier", "namespace_definition"}),
}
# Prototypes in headers name an API just as well as bodies do.
_PROTOTYPE_TYPES = frozenset({"declaration", "field_declaration"})
# Aggregate specifiers without a body are uses (`struct S x;`), not definitions.
_NEEDS_BODY = frozenset({"struct_specifier", "enum_specifier", "union_specifier",
                         "class_specifier"})
IDENT_TYPES = frozenset({"identifier", "type_identifier", "field_identifier",
                         "property_identifier", "shorthand_property_identifier",
                         "namespace_identifier", "constant"})

_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


@dataclass(frozen=True)
class Definition:
    name: str
    line: int  # 1-based
    kind: str  # the tree-sitter node type
    text: str  # the first source line of the definition, stripped


@dataclass
class FileTags:
    lang: str  # the grammar key it was parsed with (hrmcli.languages; "tsx" for .tsx)
    defs: list[Definition] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RankedDef:
    path: str
    name: str
    line: int
    text: str
    score: float


def _walk(root) -> Iterator:
    cursor = root.walk()
    while True:
        yield cursor.node
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return


def _declared_name(node):
    """The identifier a definition introduces, following C/C++ declarator chains."""
    name = node.child_by_field_name("name")
    if name is not None:
        # qualified names (Foo::bar) and scoped identifiers: the last component counts
        inner = name.child_by_field_name("name")
        return inner if inner is not None else name
    decl = node.child_by_field_name("declarator")
    while decl is not None:
        if decl.type in IDENT_TYPES or decl.type in ("operator_name", "destructor_name"):
            return decl
        nxt = decl.child_by_field_name("declarator") or decl.child_by_field_name("name")
        decl = nxt
    return None


def _is_function_prototype(node) -> bool:
    decl = node.child_by_field_name("declarator")
    while decl is not None:
        if decl.type == "function_declarator":
            return True
        decl = decl.child_by_field_name("declarator")
    return False


def extract_tags(source: bytes, grammar: str) -> FileTags:
    """Definitions and identifier references in one file's source, parsed with a grammar
    key of hrmcli.languages."""
    tree = parser(grammar).parse(source)
    lines = source.split(b"\n")
    def_types = DEF_TYPES[grammar]
    tags = FileTags(grammar)
    def_name_spans: set[tuple[int, int]] = set()
    idents: list = []
    for node in _walk(tree.root_node):
        t = node.type
        if t in IDENT_TYPES:
            idents.append(node)
            continue
        is_def = t in def_types and not (t in _NEEDS_BODY and node.child_by_field_name("body") is None)
        if not is_def and grammar in ("c", "cpp") and t in _PROTOTYPE_TYPES:
            is_def = _is_function_prototype(node)
        if not is_def:
            continue
        name = _declared_name(node)
        if name is None or not name.text:
            continue
        row = node.start_point[0]
        text = lines[row].decode("utf-8", errors="replace").strip()[:120]
        tags.defs.append(Definition(name.text.decode("utf-8", errors="replace"), row + 1, t, text))
        def_name_spans.add((name.start_byte, name.end_byte))
    refs: dict[str, int] = defaultdict(int)
    for node in idents:
        if (node.start_byte, node.end_byte) in def_name_spans:
            continue
        refs[node.text.decode("utf-8", errors="replace")] += 1
    tags.refs = dict(refs)
    return tags


def estimate_tokens(text: str) -> int:
    """About four characters per token for code: cheap, and close enough to fit a budget."""
    return (len(text) + 3) // 4


def identifiers_in(text: str) -> set[str]:
    """Words in a request that could name code (3+ characters, identifier-shaped)."""
    return set(_WORD_RE.findall(text))


def pagerank(nodes: list[str], edges: dict[tuple[str, str], float],
             personalization: dict[str, float] | None = None,
             damping: float = DAMPING, tol: float = 1e-9, max_iter: int = 200) -> dict[str, float]:
    """Personalised PageRank by power iteration; dangling mass returns via the teleport vector."""
    n = len(nodes)
    if n == 0:
        return {}
    index = {v: i for i, v in enumerate(nodes)}
    p = [0.0] * n
    if personalization:
        for v, w in personalization.items():
            if v in index and w > 0:
                p[index[v]] += w
    total = sum(p)
    p = [x / total for x in p] if total > 0 else [1.0 / n] * n
    out_w = [0.0] * n
    adj: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for (a, b), w in edges.items():
        if w <= 0 or a not in index or b not in index:
            continue
        ia, ib = index[a], index[b]
        adj[ia].append((ib, w))
        out_w[ia] += w
    r = p[:]
    for _ in range(max_iter):
        nxt = [(1.0 - damping) * x for x in p]
        dangling = 0.0
        for i in range(n):
            if out_w[i] == 0:
                dangling += r[i]
                continue
            share = damping * r[i] / out_w[i]
            for j, w in adj[i]:
                nxt[j] += share * w
        if dangling:
            for i in range(n):
                nxt[i] += damping * dangling * p[i]
        diff = sum(abs(a - b) for a, b in zip(nxt, r, strict=True))
        r = nxt
        if diff < tol:
            break
    return {v: r[i] for v, i in index.items()}


class RepoMap:
    """Tags for every source file of a repository, with a persistent per-file cache."""

    def __init__(self, root: str | Path, cache_dir: str | Path | None = None,
                 count_tokens: Callable[[str], int] = estimate_tokens) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ToolError(f"{root} is not a directory; pass the repository root.")
        if cache_dir is None:
            from hrmcli.config import paths
            cache_dir = paths().cache_dir
        key = hashlib.sha1(str(self.root).encode()).hexdigest()[:16]
        self.cache_file = Path(cache_dir) / "repomap" / f"{key}.json"
        self.count_tokens = count_tokens
        self.cache_hits = 0
        self.cache_misses = 0
        self._cache: dict[str, dict] = self._load_cache()
        self._tags: dict[str, FileTags] = {}

    def _load_cache(self) -> dict[str, dict]:
        try:
            data = json.loads(self.cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or corrupt: rebuilt from the sources
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        files = data.get("files")
        return files if isinstance(files, dict) else {}

    def _save_cache(self) -> None:
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": CACHE_VERSION, "files": self._cache}),
                           encoding="utf-8")
            os.replace(tmp, self.cache_file)
        except OSError:
            pass  # a read-only cache dir only costs re-parsing next time

    def source_files(self) -> list[str]:
        return [f for f in list_files(self.root) if language_for(f)]

    def tags(self, rel: str) -> FileTags | None:
        """Tags for one file, from the cache when its mtime and size are unchanged."""
        grammar = grammar_for(rel)
        if grammar is None:
            return None
        file = self.root / rel
        try:
            st = file.stat()
        except OSError:
            return None
        if st.st_size > MAX_FILE_BYTES:
            return None
        entry = self._cache.get(rel)
        if entry and entry.get("mtime_ns") == st.st_mtime_ns and entry.get("size") == st.st_size:
            self.cache_hits += 1
            return FileTags(entry["lang"], [Definition(*d) for d in entry["defs"]], entry["refs"])
        self.cache_misses += 1
        try:
            tags = extract_tags(file.read_bytes(), grammar)
        except OSError:
            return None
        self._cache[rel] = {
            "mtime_ns": st.st_mtime_ns, "size": st.st_size, "lang": grammar,
            "defs": [[d.name, d.line, d.kind, d.text] for d in tags.defs], "refs": tags.refs,
        }
        return tags

    def all_tags(self) -> dict[str, FileTags]:
        misses = self.cache_misses
        out = {}
        for rel in self.source_files():
            t = self.tags(rel)
            if t is not None:
                out[rel] = t
        known = set(out)
        stale = [k for k in self._cache if k not in known]
        for k in stale:
            del self._cache[k]
        if self.cache_misses != misses or stale:
            self._save_cache()
        self._tags = out
        return out

    def ranked_defs(self, chat_files: Iterable[str] = (),
                    mentioned: Iterable[str] = ()) -> list[RankedDef]:
        """Every definition in the repo, most relevant first."""
        tags = self.all_tags()
        chat = {self._rel(f) for f in chat_files}
        mentioned = set(mentioned)
        definers, edges, edge_names = _reference_graph(tags, mentioned)
        person = _personalization(tags, chat, mentioned, definers)
        nodes = sorted(tags)
        rank = pagerank(nodes, dict(edges), person)
        out_w: dict[str, float] = defaultdict(float)
        for (src, _), w in edges.items():
            out_w[src] += w
        def_score: dict[tuple[str, str], float] = defaultdict(float)
        for (src, dst), names in edge_names.items():
            for name, w in names.items():
                def_score[(dst, name)] += rank[src] * w / out_w[src]
        ranked = []
        for path, t in tags.items():
            if path in chat:
                continue  # already in the model's context in full
            for d in t.defs:
                # unreferenced definitions still show, ordered by their file's own rank
                score = def_score.get((path, d.name), 0.0) + 1e-6 * rank.get(path, 0.0)
                if d.name in mentioned:
                    score += 1.0
                ranked.append(RankedDef(path, d.name, d.line, d.text, score))
        ranked.sort(key=lambda r: (-r.score, r.path, r.line))
        return ranked

    def ranked_files(self, chat_files: Iterable[str] = (),
                     mentioned: Iterable[str] = ()) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.ranked_defs(chat_files, mentioned):
            seen.setdefault(r.path, None)
        return list(seen)

    def related_files(self, chat_files: Iterable[str] = (),
                      mentioned: Iterable[str] = ()) -> list[tuple[str, float]]:
        """Files worth editing together with the chat files, most relevant first, each with
        its rank; files with no reference path to them are left out.

        Unlike ranked_defs, which follows references one way (what the chat files use),
        this walks them both ways: renaming or changing a function matters most to the
        files that call it, and those only point at the chat files, never the reverse."""
        tags = self.all_tags()
        chat = {self._rel(f) for f in chat_files}
        mentioned = set(mentioned)
        definers, edges, _ = _reference_graph(tags, mentioned)
        both: dict[tuple[str, str], float] = defaultdict(float)
        for (a, b), w in edges.items():
            both[(a, b)] += w
            both[(b, a)] += w
        person = _personalization(tags, chat, mentioned, definers)
        if not person:
            return []
        rank = pagerank(sorted(tags), dict(both), person)
        out = [(f, r) for f, r in rank.items() if f not in chat and r > 1e-12]
        out.sort(key=lambda fr: (-fr[1], fr[0]))
        return out

    def render(self, chat_files: Iterable[str] = (), mentioned: Iterable[str] = (),
               budget: int = 1024) -> str:
        """The largest prefix of the ranking whose rendering fits `budget` tokens."""
        entries = self.ranked_defs(chat_files, mentioned)
        lo, hi = 0, len(entries)
        best = ""
        while lo <= hi:
            mid = (lo + hi) // 2
            text = render_entries(entries[:mid])
            if self.count_tokens(text) <= budget:
                best = text
                lo = mid + 1
            else:
                hi = mid - 1
        return best

    def _rel(self, path: str) -> str:
        p = Path(path)
        if p.is_absolute():
            try:
                return p.resolve().relative_to(self.root).as_posix()
            except ValueError:
                return p.as_posix()
        return p.as_posix()


def _reference_graph(tags: dict[str, FileTags], mentioned: set[str]):
    """(definers of each name, weighted edges user -> definer, the names behind each edge).
    Names the request mentions weigh 10x, private (_name) ones a tenth; a name defined in
    several files splits its weight among them."""
    definers: dict[str, set[str]] = defaultdict(set)
    for path, t in tags.items():
        for d in t.defs:
            definers[d.name].add(path)
    edges: dict[tuple[str, str], float] = defaultdict(float)
    edge_names: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for src, t in tags.items():
        for name, count in t.refs.items():
            targets = definers.get(name)
            if not targets:
                continue
            mul = 10.0 if name in mentioned else 1.0
            if name.startswith("_"):
                mul *= 0.1
            w = mul * math.sqrt(count) / len(targets)
            for dst in targets:
                if dst == src:
                    continue
                edges[(src, dst)] += w
                edge_names[(src, dst)][name] = edge_names[(src, dst)].get(name, 0.0) + w
    return definers, edges, edge_names


def _personalization(tags: dict[str, FileTags], chat: set[str], mentioned: set[str],
                     definers: dict[str, set[str]]) -> dict[str, float]:
    """Where the random walk restarts: the chat files and the files defining what the
    request names."""
    person: dict[str, float] = {f: 1.0 for f in chat if f in tags}
    for name in mentioned:
        for f in definers.get(name, ()):
            person[f] = person.get(f, 0.0) + 1.0
    return person


def render_entries(entries: list[RankedDef]) -> str:
    """Group definitions by file (files in rank order, lines in source order)."""
    by_file: dict[str, list[RankedDef]] = {}
    for e in entries:
        by_file.setdefault(e.path, []).append(e)
    parts = []
    for path, defs in by_file.items():
        parts.append(f"{path}:")
        for d in sorted(defs, key=lambda d: d.line):
            parts.append(f"{d.line:5}| {d.text}")
    return "\n".join(parts) + ("\n" if parts else "")
