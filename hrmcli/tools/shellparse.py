"""Parse a shell command line into simple commands, or refuse.

This is a parser for the part of POSIX sh and bash that commands written by a model use:
pipelines, lists (`;` `&&` `||` `&` newlines), subshells `( )`, groups `{ }`, `if`/`for`/
`while`/`until`/`case`, function definitions, `[[ ]]`, redirections (here-documents and
here-strings included), assignments, and the word forms: quotes, `$'...'`, backslashes,
`$VAR`/`${...}`, `$(...)`, backticks, `$((...))` and process substitution `<(...)`/`>(...)`.

It does not run or expand anything. Words keep their parts (literal text, parameters,
substitutions), so the permission policy can tell a literal `sudo` (however it was quoted)
from a name that only exists at run time. Anything outside that subset (`coproc`,
extended globs, unbalanced quotes or brackets, ...) raises ParseError: the policy then asks
instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LENGTH = 100_000
MAX_DEPTH = 40


class ParseError(ValueError):
    """The command is outside what this parser understands (or is not valid shell)."""


# --------------------------------------------------------------------------- words

@dataclass
class Lit:
    """Literal text after quote removal. `quoted`: it came from quotes or a backslash."""
    text: str
    quoted: bool = False


@dataclass
class Tilde:
    """An unquoted `~` or `~user` prefix."""
    user: str = ""


@dataclass
class Param:
    """`$name` or `${...}`. `op` is the operator of `${name OP word}` ("" for none);
    `complex` marks forms whose value cannot be followed (indirection, substrings, ...)."""
    name: str
    quoted: bool = False
    op: str = ""
    arg: Word | None = None
    complex: bool = False
    subs: list[CmdSub] = field(default_factory=list)  # $(...) inside an array subscript


@dataclass
class CmdSub:
    """`$(...)` or a backtick substitution."""
    program: Program
    quoted: bool = False
    text: str = ""


@dataclass
class Arith:
    """`$((...))`: the expression text and any substitutions inside it."""
    text: str
    quoted: bool = False
    subs: list[CmdSub] = field(default_factory=list)


@dataclass
class ProcSub:
    """`<(...)` or `>(...)`."""
    program: Program
    direction: str = "<"


Part = Lit | Tilde | Param | CmdSub | Arith | ProcSub


@dataclass
class Word:
    parts: list[Part]
    raw: str = ""

    @property
    def static(self) -> str | None:
        """The word's value when it is all literal text, else None."""
        if all(isinstance(p, Lit) for p in self.parts):
            return "".join(p.text for p in self.parts)  # type: ignore[union-attr]
        return None

    @property
    def unquoted_literal(self) -> str | None:
        """The text when the word is one unquoted literal (reserved words need that)."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Lit) and not self.parts[0].quoted:
            return self.parts[0].text
        return None


# --------------------------------------------------------------------------- commands

@dataclass
class Redirect:
    op: str                       # < > >> >| <> << <<- <<< <& >& &> &>>
    fd: int | None
    target: Word | None
    heredoc: Word | None = None   # the body of << / <<- (expansions kept unless quoted)


@dataclass
class Assign:
    name: str
    value: Word | None            # None for an array assignment
    array: list[Word] | None = None
    append: bool = False


@dataclass
class Simple:
    assigns: list[Assign]
    words: list[Word]
    redirects: list[Redirect]


@dataclass
class Compound:
    """kind: subshell, group, if, while, until, for, select, case, cond, arith, function."""
    kind: str
    bodies: list[Program]
    words: list[Word] = field(default_factory=list)   # for/case words, [[ ]] operands
    redirects: list[Redirect] = field(default_factory=list)
    name: str = ""                                    # loop variable or function name
    text: str = ""                                    # (( )) text


Command = Simple | Compound


@dataclass
class Pipeline:
    commands: list[Command]
    negated: bool = False


@dataclass
class AndOr:
    pipelines: list[Pipeline]
    ops: list[str]                # "&&" / "||" between pipelines


@dataclass
class Program:
    items: list[tuple[AndOr, str]]  # each with the separator after it ("", ";", "&", "\n")


RESERVED = frozenset({
    "if", "then", "elif", "else", "fi", "do", "done", "case", "esac", "while", "until",
    "for", "in", "function", "select", "time", "!", "{", "}", "[[", "]]", "coproc",
})
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


class _Parser:
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
        prog = _Parser(inner, 0, self.depth + 1).parse_all()
        parts.append(CmdSub(prog, quoted, s[i:j + 1]))
        return j + 1

    def _sub_program(self, i: int) -> tuple[Program, int]:
        """Parse from i to the matching `)`; returns the program and the index after it."""
        sub = _Parser(self.s, i, self.depth + 1)
        prog = sub.parse_program(stop_ops={")"})
        tok = sub.peek()
        if tok.kind != "op" or tok.value != ")":
            raise ParseError("unbalanced parenthesis")
        sub.advance()
        return prog, sub.i

    def _scan_expansions(self, text: str, parts: list[Part]) -> None:
        """Find $(...) and backticks inside arithmetic text."""
        sub = _Parser(text, 0, self.depth + 1)
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
        sub = _Parser(body, 0, self.depth + 1)
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

    # ------------------------------------------------------------------ grammar

    def parse_all(self) -> Program:
        prog = self.parse_program()
        tok = self.peek()
        if tok.kind != "eof":
            raise ParseError(f"unexpected {tok.value!r}" if tok.kind == "op" else "unexpected text")
        if self.pending:
            self._read_heredocs()
        return prog

    def _is_word(self, tok: _Tok, words: set[str] | frozenset[str]) -> bool:
        return tok.kind == "word" and tok.value.unquoted_literal in words  # type: ignore[union-attr]

    def _skip_newlines(self) -> None:
        while self.peek().kind == "nl":
            self.advance()

    def parse_program(self, stop_ops: set[str] = frozenset(),  # type: ignore[assignment]
                      stop_words: set[str] = frozenset()) -> Program:  # type: ignore[assignment]
        items: list[tuple[AndOr, str]] = []
        while True:
            self._skip_newlines()
            tok = self.peek()
            if tok.kind == "eof" or (tok.kind == "op" and tok.value in stop_ops) \
                    or self._is_word(tok, stop_words):
                return Program(items)
            ao = self._and_or(stop_words)
            tok = self.peek()
            if tok.kind == "op" and tok.value in (";", "&"):
                self.advance()
                items.append((ao, tok.value))  # type: ignore[arg-type]
            elif tok.kind == "nl":
                self.advance()
                items.append((ao, "\n"))
            else:
                items.append((ao, ""))
                if tok.kind == "eof" or (tok.kind == "op" and tok.value in stop_ops) \
                        or self._is_word(tok, stop_words):
                    return Program(items)
                raise ParseError(f"unexpected {tok.value!r}" if tok.kind == "op"
                                 else "unexpected text")

    def _and_or(self, stop_words) -> AndOr:
        pipes = [self._pipeline()]
        ops: list[str] = []
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("&&", "||"):
                self.advance()
                self._skip_newlines()
                ops.append(tok.value)  # type: ignore[arg-type]
                pipes.append(self._pipeline())
            else:
                return AndOr(pipes, ops)

    def _pipeline(self) -> Pipeline:
        negated = False
        while True:
            tok = self.peek()
            if self._is_word(tok, {"!"}):
                self.advance()
                negated = not negated
            elif self._is_word(tok, {"time"}):
                self.advance()
                if self._is_word(self.peek(), {"-p"}):
                    self.advance()
            else:
                break
        cmds = [self._command()]
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("|", "|&"):
                self.advance()
                self._skip_newlines()
                cmds.append(self._command())
            else:
                return Pipeline(cmds, negated)

    def _command(self) -> Command:
        tok = self.peek()
        if tok.kind == "op" and tok.value == "(":
            if self.s.startswith("((", tok.start):
                return self._arith_command(tok.start)
            self.advance()
            body = self.parse_program(stop_ops={")"})
            self._expect_op(")")
            return Compound("subshell", [body], redirects=self._redirects())
        if tok.kind == "word":
            word = tok.value.unquoted_literal  # type: ignore[union-attr]
            if word in RESERVED:
                return self._reserved(word)
        return self._simple()

    def _arith_command(self, start: int) -> Compound:
        end = _arith_end(self.s, start + 2)
        if end is None:
            raise ParseError("unbalanced (( ))")
        self._peeked = None
        self.i = end + 2
        return Compound("arith", [], text=self.s[start + 2:end], redirects=self._redirects())

    def _expect_op(self, op: str) -> None:
        tok = self.peek()
        if tok.kind != "op" or tok.value != op:
            raise ParseError(f"expected {op!r}")
        self.advance()

    def _expect_word(self, word: str) -> None:
        if not self._is_word(self.peek(), {word}):
            raise ParseError(f"expected {word!r}")
        self.advance()

    def _reserved(self, word: str) -> Command:
        if word == "{":
            self.advance()
            body = self.parse_program(stop_words={"}"})
            self._expect_word("}")
            return Compound("group", [body], redirects=self._redirects())
        if word == "if":
            self.advance()
            bodies = [self.parse_program(stop_words={"then"})]
            self._expect_word("then")
            bodies.append(self.parse_program(stop_words={"elif", "else", "fi"}))
            while True:
                tok = self.advance()
                kw = tok.value.unquoted_literal if tok.kind == "word" else None  # type: ignore[union-attr]
                if kw == "elif":
                    bodies.append(self.parse_program(stop_words={"then"}))
                    self._expect_word("then")
                    bodies.append(self.parse_program(stop_words={"elif", "else", "fi"}))
                elif kw == "else":
                    bodies.append(self.parse_program(stop_words={"fi"}))
                    self._expect_word("fi")
                    break
                elif kw == "fi":
                    break
                else:
                    raise ParseError("expected 'fi'")
            return Compound("if", bodies, redirects=self._redirects())
        if word in ("while", "until"):
            self.advance()
            cond = self.parse_program(stop_words={"do"})
            self._expect_word("do")
            body = self.parse_program(stop_words={"done"})
            self._expect_word("done")
            return Compound(word, [cond, body], redirects=self._redirects())
        if word in ("for", "select"):
            return self._for(word)
        if word == "case":
            return self._case()
        if word == "[[":
            return self._cond()
        if word == "function":
            self.advance()
            tok = self.advance()
            name = tok.value.static if tok.kind == "word" else None  # type: ignore[union-attr]
            if not name:
                raise ParseError("bad function definition")
            if self.peek().kind == "op" and self.peek().value == "(":
                self.advance()
                self._expect_op(")")
            return self._function_body(name)
        raise ParseError(f"unsupported or misplaced {word!r}")

    def _function_body(self, name: str) -> Compound:
        self._skip_newlines()
        body = self._command()
        if not isinstance(body, Compound):
            raise ParseError("a function body must be a compound command")
        return Compound("function", [Program([(AndOr([Pipeline([body])], []), "")])], name=name)

    def _for(self, kw: str) -> Compound:
        self.advance()
        if self.peek().kind == "op" and self.peek().value == "(":
            raise ParseError("arithmetic for loops are not supported")
        tok = self.advance()
        name = tok.value.unquoted_literal if tok.kind == "word" else None  # type: ignore[union-attr]
        if not name or not _NAME.fullmatch(name):
            raise ParseError(f"bad {kw} loop variable")
        words: list[Word] | None = None
        self._skip_newlines()
        if self._is_word(self.peek(), {"in"}):
            self.advance()
            words = []
            while self.peek().kind == "word":
                words.append(self.advance().value)  # type: ignore[arg-type]
            tok = self.peek()
            if tok.kind == "op" and tok.value == ";" or tok.kind == "nl":
                self.advance()
        else:
            tok = self.peek()
            if tok.kind == "op" and tok.value == ";":
                self.advance()
        self._skip_newlines()
        self._expect_word("do")
        body = self.parse_program(stop_words={"done"})
        self._expect_word("done")
        # words=None means "$@"
        node = Compound(kw, [body], words=words or [], name=name, redirects=self._redirects())
        if words is None:
            node.words = [Word([Param("@", True)], '"$@"')]
        return node

    def _case(self) -> Compound:
        self.advance()
        tok = self.advance()
        if tok.kind != "word":
            raise ParseError("bad case")
        words = [tok.value]  # type: ignore[list-item]
        self._skip_newlines()
        self._expect_word("in")
        bodies: list[Program] = []
        while True:
            self._skip_newlines()
            if self._is_word(self.peek(), {"esac"}):
                self.advance()
                break
            if self.peek().kind == "op" and self.peek().value == "(":
                self.advance()
            while True:
                tok = self.advance()
                if tok.kind != "word":
                    raise ParseError("bad case pattern")
                words.append(tok.value)  # type: ignore[arg-type]
                tok = self.advance()
                if tok.kind == "op" and tok.value == "|":
                    continue
                if tok.kind == "op" and tok.value == ")":
                    break
                raise ParseError("bad case pattern")
            bodies.append(self.parse_program(stop_ops={";;", ";&", ";;&"}, stop_words={"esac"}))
            tok = self.peek()
            if tok.kind == "op" and tok.value in (";;", ";&", ";;&"):
                self.advance()
        return Compound("case", bodies, words=words, redirects=self._redirects())

    def _cond(self) -> Compound:
        self.advance()
        words: list[Word] = []
        while True:
            tok = self.peek()
            if tok.kind == "eof":
                raise ParseError("unterminated [[")
            if self._is_word(tok, {"]]"}):
                self.advance()
                break
            self.advance()
            if tok.kind == "word":
                words.append(tok.value)  # type: ignore[arg-type]
            elif tok.kind == "op" and tok.value in ("(", ")", "&&", "||", "<", ">", "!", "|"):
                words.append(Word([Lit(str(tok.value))], str(tok.value)))
            elif tok.kind == "nl":
                continue
            else:
                raise ParseError("unsupported [[ ]] expression")
        return Compound("cond", [], words=words, redirects=self._redirects())

    def _redirects(self) -> list[Redirect]:
        out: list[Redirect] = []
        while True:
            tok = self.peek()
            if tok.kind == "io" or (tok.kind == "op" and tok.value in REDIRECT_OPS):
                out.append(self._redirect())
            else:
                return out

    def _redirect(self) -> Redirect:
        tok = self.advance()
        fd = None
        if tok.kind == "io":
            fd = tok.value  # type: ignore[assignment]
            tok = self.advance()
            if tok.kind != "op" or tok.value not in REDIRECT_OPS:
                raise ParseError("bad redirection")
        op = str(tok.value)
        target_tok = self.advance()
        if target_tok.kind != "word":
            raise ParseError(f"redirection {op} needs a target")
        target: Word = target_tok.value  # type: ignore[assignment]
        redir = Redirect(op, fd, target)  # type: ignore[arg-type]
        if op in ("<<", "<<-"):
            delim = target.static
            quoted = any(getattr(p, "quoted", False) for p in target.parts)
            if delim is None:
                raise ParseError("here-document delimiter with expansions")
            self.pending.append((redir, delim, op == "<<-", quoted))
        return redir

    def _simple(self) -> Simple:
        assigns: list[Assign] = []
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            tok = self.peek()
            if tok.kind == "io" or (tok.kind == "op" and tok.value in REDIRECT_OPS):
                redirects.append(self._redirect())
                continue
            if tok.kind != "word":
                break
            word: Word = tok.value  # type: ignore[assignment]
            if not words:
                assign = self._assignment(word, tok)
                if assign is not None:
                    assigns.append(assign)
                    continue
            self.advance()
            words.append(word)
            if len(words) == 1 and not assigns and self.peek().kind == "op" \
                    and self.peek().value == "(":
                name = word.unquoted_literal
                save = self.i
                self.advance()
                if self.peek().kind == "op" and self.peek().value == ")" and name:
                    self.advance()
                    return self._function_body(name)  # type: ignore[return-value]
                self.i = save
                self._peeked = None
                raise ParseError("unexpected '('")
        if not (assigns or words or redirects):
            tok = self.peek()
            raise ParseError(f"unexpected {tok.value!r}" if tok.kind == "op"
                             else "missing command")
        return Simple(assigns, words, redirects)

    def _assignment(self, word: Word, tok: _Tok) -> Assign | None:
        first = word.parts[0] if word.parts else None
        if not isinstance(first, Lit) or first.quoted:
            return None
        m = _ASSIGN.match(first.text)
        if not m:
            return None
        self.advance()
        name, append = m.group(1), bool(m.group(3))
        if m.group(2):
            name += "[]"
        rest_text = first.text[m.end():]
        rest: list[Part] = ([Lit(rest_text)] if rest_text else []) + word.parts[1:]
        if not rest and self.s.startswith("(", tok.end):  # a=( ... )
            self.advance()
            elems: list[Word] = []
            while True:
                self._skip_newlines()
                t = self.advance()
                if t.kind == "op" and t.value == ")":
                    break
                if t.kind != "word":
                    raise ParseError("bad array assignment")
                elems.append(t.value)  # type: ignore[arg-type]
            return Assign(name, None, elems, append)
        return Assign(name, Word(rest or [Lit("", True)], word.raw), None, append)


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


def parse(text: str) -> Program:
    """Parse a command line. Raises ParseError for anything this parser does not cover."""
    if len(text) > MAX_LENGTH:
        raise ParseError("command too long to judge")
    if "\x00" in text:
        raise ParseError("NUL byte in the command")
    return _Parser(text).parse_all()


def scan_substitutions(text: str) -> list[CmdSub]:
    """The $(...) and backtick substitutions inside arithmetic or other raw text."""
    parts: list[Part] = []
    _Parser(text)._scan_expansions(text, parts)
    return [p for p in parts if isinstance(p, CmdSub)]


def walk_commands(prog: Program):
    """Every Simple and Compound in a program, outermost first (not inside substitutions)."""
    for ao, _sep in prog.items:
        for pl in ao.pipelines:
            for cmd in pl.commands:
                yield cmd
                if isinstance(cmd, Compound):
                    for body in cmd.bodies:
                        yield from walk_commands(body)


def parse_word(text: str) -> Word:
    """Exactly one word as written (quotes and all) into its parts; ParseError otherwise.

    Brace expansion works on the written text, so the judge re-reads each alternative."""
    if not text:
        return Word([Lit("", True)], text)
    tok = _Parser(text)._lex_word(0)
    if tok.end != len(text) or tok.kind != "word":
        raise ParseError("not a single word")
    return tok.value  # type: ignore[return-value]
