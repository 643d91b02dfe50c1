"""The syntax tree of a parsed shell command line (see hrmcli.tools.shellparse).

Words keep their parts (literal text, `~`, parameters, substitutions) instead of a string, so
the permission judge can tell a literal `sudo`, however it was quoted, from a name that only
exists at run time, and can find every program a word runs while it is expanded.
"""

from __future__ import annotations

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
