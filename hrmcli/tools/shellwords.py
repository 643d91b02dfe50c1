"""What the words of a parsed command become at run time, as far as can be known now.

The shell expands braces, `~`, parameters and substitutions before a command sees its
arguments, and a hostile command hides behind exactly those steps (`{sudo,ls}`, `s'u'do`,
`X=sudo; $X ls`, `$NOTHING sudo`). This module replays them statically over a ShellState
(variables assigned earlier in the same command line and the current environment, the
working directory): each word becomes Values whose text is known, or None when only the
running shell could know it (command substitutions, `read`, unknown positional parameters).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from hrmcli.tools.shellparse import (
    Arith,
    CmdSub,
    Lit,
    Param,
    ParseError,
    ProcSub,
    Tilde,
    Word,
    parse_word,
)
from hrmcli.tools.shellpaths import real_home, user_home

BRACE_LIMIT = 256
_GLOB = re.compile(r"[*?\[]")
_SEQ = re.compile(r"^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(\.\.-?\d+)?$")
_UNSET = object()


@dataclass(frozen=True)
class Value:
    """One argument after expansion.

    text: the value, or None when known only at run time. prefix: the known start of an
    unknown value. glob: unquoted `*`, `?` or `[` that the shell may expand to file names.
    under: an unknown value known to be a path inside this folder (`{}` of `find DIR`).
    multi: may stand for zero or several arguments (an unquoted unknown expansion).
    """
    text: str | None
    raw: str = ""
    glob: bool = False
    prefix: str = ""
    under: str | None = None
    multi: bool = False

    @property
    def shown(self) -> str:
        return self.text if self.text is not None else (self.raw or "<unknown>")

    @staticmethod
    def literal(text: str) -> Value:
        return Value(text, text)


@dataclass
class ShellState:
    """What a shell knows at one point of a command line: cwd (None: unknown), variables
    (None: set to something unknown), positional parameters (None: unknown), functions."""
    cwd: str | None
    vars: dict[str, str | None]
    positional: list[str] | None = field(default_factory=list)
    arg0: str | None = "sh"
    functions: dict[str, object] = field(default_factory=dict)
    dirstack: list[str | None] = field(default_factory=list)

    @classmethod
    def initial(cls, cwd: str) -> ShellState:
        env: dict[str, str | None] = dict(os.environ)
        env["PWD"] = cwd
        env.setdefault("HOME", real_home())
        env["IFS"] = " \t\n"  # shells start with the default, whatever the environment says
        return cls(cwd, env)

    def copy(self) -> ShellState:
        return ShellState(self.cwd, dict(self.vars),
                          None if self.positional is None else list(self.positional),
                          self.arg0, dict(self.functions), list(self.dirstack))

    def home(self) -> str | None:
        return self.vars.get("HOME", real_home())


def brace_expand(raw: str, limit: int = BRACE_LIMIT) -> list[str]:
    """Bash brace expansion of a word as written: `{a,b}` and `{1..3}` outside quotes."""
    found = _find_brace(raw)
    if found is None:
        return [raw]
    start, end, alts = found
    out: list[str] = []
    for alt in alts:
        for w in brace_expand(raw[:start] + alt + raw[end + 1:], limit):
            out.append(w)
            if len(out) >= limit:
                return out
    return out


def _skip_quoted(s: str, i: int) -> int:
    """From a quote, backslash, `$(`, `${` or backtick at i, the index just after it."""
    c = s[i]
    if c == "\\":
        return i + 2
    if c == "'":
        j = s.find("'", i + 1)
        return len(s) if j < 0 else j + 1
    if c in '"`':
        j = i + 1
        while j < len(s) and s[j] != c:
            j += 2 if s[j] == "\\" else 1
        return j + 1
    # $( or ${: skip to the matching close
    close = ")" if s[i + 1] == "(" else "}"
    open_ = s[i + 1]
    depth, j = 0, i + 1
    while j < len(s):
        if s[j] in "'\"\\`":
            j = _skip_quoted(s, j)
            continue
        if s[j] == open_:
            depth += 1
        elif s[j] == close:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(s)


def _find_brace(s: str) -> tuple[int, int, list[str]] | None:
    i = 0
    while i < len(s):
        c = s[i]
        if c in "'\"\\`" or (c == "$" and s[i + 1:i + 2] in ("(", "{")):
            i = _skip_quoted(s, i)
            continue
        if c == "{":
            m = _match_brace(s, i)
            if m is not None:
                end, commas = m
                inner = s[i + 1:end]
                if commas:
                    bounds = [i, *commas, end]
                    return i, end, [s[a + 1:b] for a, b in zip(bounds, bounds[1:], strict=False)]
                seq = _sequence(inner)
                if seq is not None:
                    return i, end, seq
        i += 1
    return None


def _match_brace(s: str, i: int) -> tuple[int, list[int]] | None:
    """The index of the `}` closing the `{` at i and its top-level commas."""
    depth, j, commas = 0, i, []
    while j < len(s):
        c = s[j]
        if c in "'\"\\`" or (c == "$" and s[j + 1:j + 2] in ("(", "{")):
            j = _skip_quoted(s, j)
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j, commas
        elif c == "," and depth == 1:
            commas.append(j)
        j += 1
    return None


def _sequence(inner: str) -> list[str] | None:
    m = _SEQ.match(inner)
    if not m:
        return None
    a, b = m.group(1), m.group(2)
    step = abs(int(m.group(3)[2:])) if m.group(3) else 1
    step = step or 1
    if a.lstrip("-").isdigit() and b.lstrip("-").isdigit():
        lo, hi = int(a), int(b)
        rng = range(lo, hi + 1, step) if lo <= hi else range(lo, hi - 1, -step)
        return [str(n) for n in list(rng)[:BRACE_LIMIT]]
    if a.isalpha() and b.isalpha():
        lo, hi = ord(a), ord(b)
        rng = range(lo, hi + 1, step) if lo <= hi else range(lo, hi - 1, -step)
        return [chr(n) for n in rng]
    return None


# ------------------------------------------------------------------------------ expansion

Chunk = tuple[str | None, bool]  # (text or None when unknown, quoted)


def expand(word: Word, state: ShellState, split: bool = True) -> list[Value]:
    """The arguments one word becomes. split=False for assignment values and redirect
    targets, where the shell neither brace-expands nor splits."""
    if not split or "{" not in word.raw:
        return _expand_one(word, state, split)
    out: list[Value] = []
    for alt in brace_expand(word.raw):
        try:
            w = word if alt == word.raw else parse_word(alt)
        except ParseError:
            w = word
        out.extend(_expand_one(w, state, split))
    return out


def expand_text(word: Word, state: ShellState) -> str | None:
    """A word as one string without splitting (None when any part is unknown)."""
    vals = _expand_one(word, state, split=False)
    return vals[0].text if len(vals) == 1 else None


def _expand_one(word: Word, state: ShellState, split: bool) -> list[Value]:
    fields: list[list[Chunk]] = [[]]
    multi = False
    for p in word.parts:
        if isinstance(p, Lit):
            fields[-1].append((p.text, p.quoted))
        elif isinstance(p, Tilde):
            home = state.home() if not p.user else user_home(p.user)
            if p.user and home is None:
                fields[-1].append(("~" + p.user, True))  # no such user: stays as written
            else:
                fields[-1].append((home, True))
        elif isinstance(p, Param):
            multi |= _param(p, state, fields, split)
        elif isinstance(p, ProcSub):
            fields[-1].append(("/dev/fd/63", True))
        elif isinstance(p, CmdSub) and (out := static_output(p, state)) is not None:
            if p.quoted or not split:
                fields[-1].append((out, True))
            else:
                multi |= _param(Param("", False), state, fields, split, value=out)
        elif isinstance(p, (CmdSub, Arith)):
            fields[-1].append((None, p.quoted))
            multi |= split and not p.quoted
        else:  # pragma: no cover - every part kind is handled above
            fields[-1].append((None, False))
    out: list[Value] = []
    for chunks in fields:
        if split and all(not q and t == "" for t, q in chunks):
            continue  # an unquoted empty expansion vanishes
        texts = [t for t, _ in chunks]
        known = None not in texts
        prefix = ""
        for t in texts:
            if t is None:
                break
            prefix += t
        glob = split and any(not q and t is not None and _GLOB.search(t) for t, q in chunks)
        out.append(Value("".join(texts) if known else None,  # type: ignore[arg-type]
                         word.raw, glob, prefix if not known else "", None, multi))
    return out


def static_output(sub: CmdSub, state: ShellState) -> str | None:
    """What `$(echo TEXT)` or `$(printf TEXT)` prints, when its words are plain text."""
    from hrmcli.tools.shellparse import Simple

    items = sub.program.items
    if len(items) != 1 or len(items[0][0].pipelines) != 1:
        return None
    cmds = items[0][0].pipelines[0].commands
    if len(cmds) != 1 or not isinstance(cmds[0], Simple) or cmds[0].redirects or \
            cmds[0].assigns or not cmds[0].words:
        return None
    texts = [w.static for w in cmds[0].words]
    if None in texts or any("\\" in t or "*" in t or "?" in t for t in texts[1:]):  # type: ignore[operator]
        return None
    if texts[0] == "echo":
        args = [t for t in texts[1:] if t not in ("-n", "-E")]
        return " ".join(args)  # type: ignore[arg-type]
    if texts[0] == "printf" and len(texts) > 1 and "%" not in texts[1]:  # type: ignore[operator]
        return texts[1].rstrip("\n")  # type: ignore[union-attr]
    return None


def _param(p: Param, state: ShellState, fields: list[list[Chunk]], split: bool,
           value: str | None = None) -> bool:
    """Append a parameter's expansion (or `value`); True when the number of words is
    unknown."""
    splitting = split and not p.quoted
    if value is not None:
        pass
    elif p.name in ("@", "*") and not p.op:
        if state.positional is None:
            fields[-1].append((None, p.quoted))
            return splitting or p.name == "@"
        if p.quoted and p.name == "@" and split:
            for k, arg in enumerate(state.positional):
                if k:
                    fields.append([])
                fields[-1].append((arg, True))
            return False
        value = " ".join(state.positional)
    else:
        value = _lookup(p, state)
    if value is None:
        fields[-1].append((None, p.quoted))
        return splitting
    if not splitting:
        fields[-1].append((value, p.quoted))
        return False
    ifs = state.vars.get("IFS", " \t\n")
    if ifs is None or set(ifs) - set(" \t\n"):
        fields[-1].append((None, False))  # splitting on other characters: not followed
        return True
    pieces = value.split()
    if value[:1].isspace() and fields[-1]:
        fields.append([])
    for k, piece in enumerate(pieces):
        if k:
            fields.append([])
        fields[-1].append((piece, False))
    if value[-1:].isspace() and pieces:
        fields.append([])
    return False


def _lookup(p: Param, state: ShellState) -> str | None:
    """A parameter's value with `${x:-y}`-style defaults ("" when unset)."""
    if p.complex:
        return None
    name = p.name
    base: object
    if name.isdigit():
        idx = int(name)
        if idx == 0:
            base = state.arg0
        elif state.positional is None:
            base = None
        else:
            base = state.positional[idx - 1] if idx <= len(state.positional) else _UNSET
    elif name == "#":
        base = None if state.positional is None else str(len(state.positional))
    elif name in ("?", "$", "!", "-", "@", "*"):
        base = None
    else:
        base = state.vars.get(name, _UNSET)
    if base is None:
        return None
    op = p.op
    if not op:
        return "" if base is _UNSET else base  # type: ignore[return-value]
    empty = base is _UNSET or (op.startswith(":") and base == "")
    arg = expand_text(p.arg, state) if p.arg is not None else ""
    if op in (":-", "-", ":=", "="):
        if not empty:
            return base  # type: ignore[return-value]
        if op in (":=", "=") and not name.isdigit():
            state.vars[name] = arg
        return arg
    if op in (":+", "+"):
        return "" if empty else arg
    return "" if base is _UNSET else base  # type: ignore[return-value]  # :? and ?
