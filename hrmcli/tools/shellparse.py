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

from hrmcli.tools.shellast import (  # noqa: F401  (re-exported: the parser's public names)
    MAX_DEPTH,
    MAX_LENGTH,
    RESERVED,
    AndOr,
    Arith,
    Assign,
    CmdSub,
    Command,
    Compound,
    Lit,
    Param,
    ParseError,
    Part,
    Pipeline,
    ProcSub,
    Program,
    Redirect,
    Simple,
    Tilde,
    Word,
)
from hrmcli.tools.shelllex import (  # noqa: F401
    _ASSIGN,
    _NAME,
    REDIRECT_OPS,
    _arith_end,
    _Lexer,
    _Tok,
)


class _Parser(_Lexer):
    """The grammar: lists, pipelines, compound commands, redirections, assignments."""

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
