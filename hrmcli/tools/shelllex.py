"""The lexer half of the shell parser: words with their quoting and expansions, operators,
here-documents. The grammar (hrmcli.tools.shellparse) inherits it; substitutions inside a word
(`$(...)`, backticks, `<(...)`) are parsed by a fresh parser of the same class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hrmcli.tools.shellast import (
    MAX_DEPTH,
    Arith,
    CmdSub,
    Lit,
    Param,
    ParseError,
    Part,
    ProcSub,
    Program,
    Redirect,
    Tilde,
    Word,
)

_OPERATORS = (";;&", ";;", ";&", "&&", "||", "|&", "&>>", "&>", "<<<", "<<-", "<<", "<>",
              "<&", ">&", ">>", ">|", "<", ">", "|", "&", ";", "(", ")")
REDIRECT_OPS = frozenset({"<", ">", ">>", ">|", "<>", "<<", "<<-", "<<<", "<&", ">&", "&>",
                          "&>>"})
_META = set(" \t\n;&|()<>")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?(\+?)=")
_SPECIAL_PARAMS = set("@*#?$!-0123456789")
_IO_NUMBER = re.compile(r"\d+(?=[<>])")
_NAMED_FD = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}[<>]")
_TILDE = re.compile(r"~([A-Za-z0-9._+-]*)")
_BRACED_NAME = re.compile(r"([!#]?)([A-Za-z_][A-Za-z0-9_]*|[@*#?$!\-0-9]+)")
_BRACED_OP = re.compile(r":[-=?+]|[-=?+]|##?|%%?|//?|/#|/%|\^\^?|,,?|@|:")
_ANSI = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
         "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


@dataclass
class _Tok:
    kind: str        # word, op, io, nl, eof
    value: object
    start: int
    end: int


class _Lexer:
    """Lexing state and methods; `parse_program` comes from the grammar subclass."""

    def __init__(self, text: str, pos: int = 0, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise ParseError("nested too deeply")
        self.s = text
        self.i = pos
        self.depth = depth
        self.pending: list[tuple[Redirect, str, bool, bool]] = []  # heredocs to read
        self._peeked: _Tok | None = None

    # ------------------------------------------------------------------ lexing

    def _skip_blanks(self) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t":
                self.i += 1
            elif c == "\\" and s.startswith("\\\n", self.i):
                self.i += 2
            elif c == "#":
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
            else:
                break

    def peek(self) -> _Tok:
        if self._peeked is None:
            save = self.i
            self._skip_blanks()
            self._peeked = self._lex()
            self.i = save
        return self._peeked

    def advance(self) -> _Tok:
        tok = self.peek()
        self._peeked = None
        self.i = tok.end
        if tok.kind == "nl":
            self._read_heredocs()
        return tok

    def _lex(self) -> _Tok:
        s, i = self.s, self.i
        if i >= len(s):
            return _Tok("eof", None, i, i)
        c = s[i]
        if c == "\n":
            return _Tok("nl", "\n", i, i + 1)
        if c in "<>" and s.startswith("(", i + 1):
            return self._lex_word(i)
        for op in _OPERATORS:
            if s.startswith(op, i):
                return _Tok("op", op, i, i + len(op))
        m = _IO_NUMBER.match(s, i)
        if m and not (s.startswith("<(", m.end()) or s.startswith(">(", m.end())):
            return _Tok("io", int(m.group()), i, m.end())
        if c == "{" and _NAMED_FD.match(s, i):
            raise ParseError("named file descriptors ({var}>file) are not supported")
        return self._lex_word(i)

    def _lex_word(self, i: int) -> _Tok:
        parts: list[Part] = []
        start = i
        s = self.s
        at_start = True
        after_assign_eq = False
        while i < len(s):
            c = s[i]
            if at_start and c in "<>" and s.startswith("(", i + 1):
                prog, i = self._sub_program(i + 2)
                parts.append(ProcSub(prog, c))
                at_start = False
                continue
            if c in _META:
                break
            if c == "\\":
                if i + 1 >= len(s):
                    parts.append(Lit("\\", True))
                    i += 1
                elif s[i + 1] == "\n":
                    i += 2
                else:
                    parts.append(Lit(s[i + 1], True))
                    i += 2
            elif c == "'":
                j = s.find("'", i + 1)
                if j < 0:
                    raise ParseError("unterminated single quote")
                parts.append(Lit(s[i + 1:j], True))
                i = j + 1
            elif c == '"':
                i = self._double_quoted(i + 1, parts)
            elif c == "$":
                i = self._dollar(i, parts, quoted=False)
            elif c == "`":
                i = self._backtick(i, parts, quoted=False)
            elif c == "~" and (at_start or after_assign_eq or (parts and _ends_with(parts, ":"))):
                m = _TILDE.match(s, i)
                assert m
                parts.append(Tilde(m.group(1)))
                i = m.end()
            else:
                j = i
                while j < len(s) and s[j] not in _META and s[j] not in "\\'\"$`~":
                    j += 1
                if j == i:  # a lone ~ in the middle of a word
                    j = i + 1
                text = s[i:j]
                if at_start and _ASSIGN.match(text) and "=" in text:
                    after_assign_eq = text.endswith("=")
                else:
                    after_assign_eq = False
                parts.append(Lit(text))
                i = j
                at_start = False
                continue
            at_start = False
            after_assign_eq = False
        if i < len(s) and s[i] == "(" and parts and _ends_with_any(parts, "?*+@!"):
            raise ParseError("extended glob patterns are not supported")
        return _Tok("word", Word(_merge(parts), s[start:i]), start, i)

    def _double_quoted(self, i: int, parts: list[Part]) -> int:
        s = self.s
        buf: list[str] = []

        def flush() -> None:
            if buf:
                parts.append(Lit("".join(buf), True))
                buf.clear()

        start_len = len(parts)
        while True:
            if i >= len(s):
                raise ParseError("unterminated double quote")
            c = s[i]
            if c == '"':
                flush()
                if len(parts) == start_len:
                    parts.append(Lit("", True))
                return i + 1
            if c == "\\" and i + 1 < len(s) and s[i + 1] in '$`"\\\n':
                if s[i + 1] != "\n":
                    buf.append(s[i + 1])
                i += 2
            elif c == "$":
                flush()
                i = self._dollar(i, parts, quoted=True)
            elif c == "`":
                flush()
                i = self._backtick(i, parts, quoted=True)
            else:
                buf.append(c)
                i += 1

    def _dollar(self, i: int, parts: list[Part], quoted: bool) -> int:
        s = self.s
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if nxt == "'" and not quoted:
            text, j = _ansi_c(s, i + 2)
            parts.append(Lit(text, True))
            return j
        if nxt == '"' and not quoted:
            return self._double_quoted(i + 2, parts)
        if s.startswith("$((", i):
            end = _arith_end(s, i + 3)
            if end is not None:
                text = s[i + 3:end]
                subs: list[CmdSub] = []
                sub_parts: list[Part] = []
                self._scan_expansions(text, sub_parts)
                subs = [p for p in sub_parts if isinstance(p, CmdSub)]
                parts.append(Arith(text, quoted, subs))
                return end + 2
        if nxt == "(":
            prog, j = self._sub_program(i + 2)
            parts.append(CmdSub(prog, quoted, s[i:j]))
            return j
        if nxt == "{":
            return self._braced(i + 2, parts, quoted)
        m = _NAME.match(s, i + 1)
        if m:
            parts.append(Param(m.group(), quoted))
            return m.end()
        if nxt and nxt in _SPECIAL_PARAMS:
            parts.append(Param(nxt, quoted))
            return i + 2
        parts.append(Lit("$", quoted))
        return i + 1

    def _braced(self, i: int, parts: list[Part], quoted: bool) -> int:
        """`${...}` starting after the brace."""
        s = self.s
        m = _BRACED_NAME.match(s, i)
        if not m:
            raise ParseError("bad ${...} substitution")
        prefix, name = m.group(1), m.group(2)
        j = m.end()
        complex_ = bool(prefix) and not (prefix == "#" and s.startswith("}", j))
        if prefix == "#" and s.startswith("}", j):
            complex_ = True  # ${#name}: a length
        op = ""
        subscript_parts: list[Part] = []
        if s.startswith("[", j):  # array subscript: arithmetic that may run $(...)
            k = _match_bracket(s, j, "[", "]")
            if k is None:
                raise ParseError("bad array subscript")
            self._scan_expansions(s[j + 1:k], subscript_parts)
            complex_ = True
            j = k + 1
        om = _BRACED_OP.match(s, j)
        if om:
            op = om.group()
            j = om.end()
        arg_parts: list[Part] = []
        depth = 0
        buf: list[str] = []

        def flush() -> None:
            if buf:
                arg_parts.append(Lit("".join(buf), quoted))
                buf.clear()

        while True:
            if j >= len(s):
                raise ParseError("unterminated ${")
            c = s[j]
            if c == "}" and depth == 0:
                flush()
                j += 1
                break
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            if c == "\\" and j + 1 < len(s):
                buf.append(s[j + 1])
                j += 2
            elif c == "'" and not quoted:
                k = s.find("'", j + 1)
                if k < 0:
                    raise ParseError("unterminated single quote")
                buf.append(s[j + 1:k])
                j = k + 1
            elif c == '"':
                flush()
                j = self._double_quoted(j + 1, arg_parts)
            elif c == "$":
                flush()
                j = self._dollar(j, arg_parts, quoted)
            elif c == "`":
                flush()
                j = self._backtick(j, arg_parts, quoted)
            else:
                buf.append(c)
                j += 1
        if op and op not in (":-", "-", ":=", "=", ":?", "?", ":+", "+"):
            complex_ = True
        if not op and arg_parts:
            raise ParseError("bad ${...} substitution")
        parts.append(Param(name, quoted, op, Word(_merge(arg_parts)) if op else None, complex_,
                           [p for p in subscript_parts if isinstance(p, CmdSub)]))
        return j

    def _backtick(self, i: int, parts: list[Part], quoted: bool) -> int:
        s = self.s
        j = i + 1
        buf: list[str] = []
        while True:
            if j >= len(s):
                raise ParseError("unterminated backtick")
            c = s[j]
            if c == "`":
                break
            if c == "\\" and j + 1 < len(s) and s[j + 1] in "`$\\" + ('"' if quoted else ""):
                buf.append(s[j + 1])
                j += 2
            else:
                buf.append(c)
                j += 1
        inner = "".join(buf)
        prog = type(self)(inner, 0, self.depth + 1).parse_all()
        parts.append(CmdSub(prog, quoted, s[i:j + 1]))
        return j + 1

    def _sub_program(self, i: int) -> tuple[Program, int]:
        """Parse from i to the matching `)`; returns the program and the index after it."""
        sub = type(self)(self.s, i, self.depth + 1)
        prog = sub.parse_program(stop_ops={")"})
        tok = sub.peek()
        if tok.kind != "op" or tok.value != ")":
            raise ParseError("unbalanced parenthesis")
        sub.advance()
        return prog, sub.i

    def _scan_expansions(self, text: str, parts: list[Part]) -> None:
        """Find $(...) and backticks inside arithmetic text."""
        sub = type(self)(text, 0, self.depth + 1)
        i = 0
        while i < len(text):
            if text.startswith("$(", i) and not text.startswith("$((", i):
                prog, i = sub._sub_program(i + 2)
                parts.append(CmdSub(prog, True))
            elif text[i] == "`":
                i = sub._backtick(i, parts, True)
            elif text.startswith("${", i):
                i = sub._braced(i + 2, parts, True)
            else:
                i += 1

    def _read_heredocs(self) -> None:
        pending, self.pending = self.pending, []
        for redir, delim, strip, quoted in pending:
            s = self.s
            lines: list[str] = []
            i = self.i
            while i < len(s):
                j = s.find("\n", i)
                line = s[i:] if j < 0 else s[i:j]
                i = len(s) if j < 0 else j + 1
                check = line.lstrip("\t") if strip else line
                if check == delim:
                    break
                lines.append(check)
            self.i = i
            body = "".join(ln + "\n" for ln in lines)
            if quoted:
                redir.heredoc = Word([Lit(body, True)])
            else:
                redir.heredoc = self._heredoc_word(body)

    def _heredoc_word(self, body: str) -> Word:
        sub = type(self)(body, 0, self.depth + 1)
        parts: list[Part] = []
        buf: list[str] = []
        i = 0
        while i < len(body):
            c = body[i]
            if c == "\\" and i + 1 < len(body) and body[i + 1] in "$`\\\n":
                if body[i + 1] != "\n":
                    buf.append(body[i + 1])
                i += 2
            elif c in "$`":
                if buf:
                    parts.append(Lit("".join(buf), True))
                    buf = []
                i = sub._dollar(i, parts, True) if c == "$" else sub._backtick(i, parts, True)
            else:
                buf.append(c)
                i += 1
        if buf:
            parts.append(Lit("".join(buf), True))
        return Word(parts or [Lit("", True)])


# --------------------------------------------------------------------------- helpers

def _merge(parts: list[Part]) -> list[Part]:
    out: list[Part] = []
    for p in parts:
        if isinstance(p, Lit) and out and isinstance(out[-1], Lit) and out[-1].quoted == p.quoted:
            out[-1] = Lit(out[-1].text + p.text, p.quoted)
        else:
            out.append(p)
    return out


def _ends_with(parts: list[Part], ch: str) -> bool:
    last = parts[-1]
    return isinstance(last, Lit) and not last.quoted and last.text.endswith(ch)


def _ends_with_any(parts: list[Part], chars: str) -> bool:
    last = parts[-1]
    return isinstance(last, Lit) and not last.quoted and last.text[-1:] in set(chars)


def _match_bracket(s: str, i: int, open_: str, close: str) -> int | None:
    depth = 0
    for j in range(i, len(s)):
        if s[j] == open_:
            depth += 1
        elif s[j] == close:
            depth -= 1
            if depth == 0:
                return j
    return None


def _arith_end(s: str, i: int) -> int | None:
    """Index of the `))` closing an arithmetic expression that starts at i, or None."""
    depth = 0
    j = i
    while j < len(s):
        c = s[j]
        if c in "'\"":
            k = s.find(c, j + 1)
            if k < 0:
                return None
            j = k + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return j if s.startswith("))", j) else None
            depth -= 1
        j += 1
    return None


def _ansi_c(s: str, i: int) -> tuple[str, int]:
    """Decode a $'...' string starting after the quote; returns the text and the end index."""
    out: list[str] = []
    while True:
        if i >= len(s):
            raise ParseError("unterminated $'...'")
        c = s[i]
        if c == "'":
            return "".join(out), i + 1
        if c != "\\" or i + 1 >= len(s):
            out.append(c)
            i += 1
            continue
        e = s[i + 1]
        i += 2
        if e in _ANSI:
            out.append(_ANSI[e])
        elif e in "01234567":
            m = re.compile(r"[0-7]{0,2}").match(s, i)
            digits = e + (m.group() if m else "")
            out.append(chr(int(digits, 8) & 0xFF))
            i += len(digits) - 1
        elif e in "xuU":
            n = {"x": 2, "u": 4, "U": 8}[e]
            m = re.compile(rf"[0-9A-Fa-f]{{1,{n}}}").match(s, i)
            if not m:
                out.append("\\" + e)
            else:
                try:
                    out.append(chr(int(m.group(), 16)))
                except (ValueError, OverflowError) as err:
                    raise ParseError("bad \\u escape") from err
                i = m.end()
        elif e == "c" and i < len(s):
            out.append(chr(ord(s[i]) & 0x1F))
            i += 1
        else:
            out.append("\\" + e)
