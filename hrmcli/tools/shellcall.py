"""What a command handler of the shell judge sees, and the registry of handlers.

Each command the judge knows more about than its name (wrappers such as `env` or `xargs`,
shells, interpreters, commands that write files) has a handler registered here with
@handles. A handler reads the command's expanded arguments, asks the judge to check the
files it writes or reads and to judge any command it runs, and returns the arguments its
category is looked up from, or None for a wrapper that adds nothing of its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hrmcli.tools.shellwords import ShellState, Value

if TYPE_CHECKING:
    from hrmcli.tools.shelljudge import Judge

# Levels, in order of strictness. UNSURE is an ask that comes from not being able to tell
# what will run: --yes does not answer it, so under --yes it is denied.
ALLOW, ASK, UNSURE, DENY = 0, 1, 2, 3
LEVEL_NAMES = {ALLOW: "allow", ASK: "ask", UNSURE: "ask", DENY: "deny"}


@dataclass
class Stdin:
    """What a command reads on standard input, as far as it is known.

    kind: "pipe" (another command's output), "text" (here-document or here-string), "file"
    (`< path`). text: the content when known. fetch: the producer downloads something.
    under: each line is a path inside this folder (`find DIR`, `git ls-files` produce them).
    """
    kind: str
    text: str | None = None
    path: Value | None = None
    fetch: bool = False
    under: str | None = None


@dataclass
class Call:
    """One simple command about to run: its expanded arguments and the shell around it."""
    argv: list[Value]
    state: ShellState
    stdin: Stdin | None = None
    edits: list[str] = field(default_factory=list)  # files it changes inside the repository
    kind: str = ""  # the registry name its handler matched (`perl` for perl5.36)
    recursive: bool = False  # reads whole folders (grep -r, tar, cp -r)
    reads_args: bool = True  # False for rm, touch, chmod...: they never show file contents

    @property
    def name(self) -> str:
        return self.argv[0].text or ""

    @property
    def base(self) -> str:
        return command_base(self.name)

    @property
    def args(self) -> list[Value]:
        return self.argv[1:]

    def texts(self, start: int = 0) -> list[str]:
        return [v.shown for v in self.argv[start:]]


Handler = Callable[["Judge", Call], "list[str] | None"]
HANDLERS: dict[str, Handler] = {}
PATTERN_HANDLERS: list[tuple[re.Pattern[str], Handler]] = []


def handles(*names: str, pattern: str | None = None) -> Callable[[Handler], Handler]:
    """Register a handler for command names (and optionally a name pattern)."""
    def deco(fn: Handler) -> Handler:
        for n in names:
            HANDLERS[n] = fn
        if pattern:
            PATTERN_HANDLERS.append((re.compile(pattern), fn))
        return fn
    return deco


def handler_for(base: str) -> tuple[str, Handler] | None:
    """(registry name, handler) for a command name; `perl5.36`, `php8.1` or `node-18` fall
    back to the unversioned name."""
    if base in HANDLERS:
        return base, HANDLERS[base]
    for pat, fn in PATTERN_HANDLERS:
        if pat.fullmatch(base):
            return base, fn
    plain = re.sub(r"[-_.]?v?\d+(\.\d+)*$", "", base)
    if plain != base and plain in HANDLERS:
        return plain, HANDLERS[plain]
    return None


def command_base(name: str) -> str:
    """The name a command is known by: the basename of a path (zsh's `=cmd` too)."""
    name = name.lstrip("=") or name
    if "/" in name:
        return os.path.basename(name.rstrip("/")) or name
    return name


@dataclass
class Opts:
    """Options parsed from an argument list, and the operands among them."""
    found: list[tuple[str, Value | None]]  # (option, its argument)
    rest: int                              # index just after the option area
    unknown: list[str]                     # options the grammar does not know
    dynamic: bool = False                  # an argument in the option area is only known later
    operands: list[Value] = field(default_factory=list)  # with stop_at_operand=False

    def has(self, *names: str) -> bool:
        return any(o in names for o, _ in self.found)

    def values(self, *names: str) -> list[Value]:
        return [v for o, v in self.found if o in names and v is not None]


def parse_opts(argv: list[Value], start: int, flags: str = "", with_arg: str = "",
               long_flags: frozenset[str] | set[str] = frozenset(),
               long_with_arg: frozenset[str] | set[str] = frozenset(),
               any_option: bool = False, stop_at_operand: bool = True) -> Opts:
    """getopt-style options from argv[start:]: `-ab`, `-n5`, `-n 5`, `--long[=v]`, `--`.

    flags/with_arg: short option letters without/with an argument. Unknown options are
    reported (with any_option they are accepted as flags). Parsing stops at the first
    operand, or with stop_at_operand=False (GNU tools that permute) collects operands and
    goes on to the end.
    """
    found: list[tuple[str, Value | None]] = []
    unknown: list[str] = []
    operands: list[Value] = []
    i = start
    while i < len(argv):
        v = argv[i]
        t = v.text
        if t is None:
            if stop_at_operand:
                return Opts(found, i, unknown, True)
            operands.append(v)
            i += 1
            continue
        if t == "--":
            if stop_at_operand:
                return Opts(found, i + 1, unknown)
            operands.extend(argv[i + 1:])
            return Opts(found, len(argv), unknown, False, operands)
        if t.startswith("--") and len(t) > 2:
            name, eq, val = t.partition("=")
            if name in long_with_arg:
                if eq:
                    found.append((name, Value(val, val)))
                else:
                    found.append((name, argv[i + 1] if i + 1 < len(argv) else None))
                    i += 1
            elif name in long_flags or any_option:
                found.append((name, Value(val, val) if eq else None))
            else:
                unknown.append(name)
            i += 1
            continue
        if t.startswith("-") and len(t) > 1:
            j = 1
            while j < len(t):
                c = t[j]
                if c in with_arg:
                    if j + 1 < len(t):
                        found.append(("-" + c, Value(t[j + 1:], t[j + 1:])))
                    else:
                        found.append(("-" + c, argv[i + 1] if i + 1 < len(argv) else None))
                        i += 1
                    break
                if c in flags or any_option:
                    found.append(("-" + c, None))
                else:
                    unknown.append("-" + c)
                j += 1
            i += 1
            continue
        if stop_at_operand:
            return Opts(found, i, unknown)
        operands.append(v)
        i += 1
    return Opts(found, i, unknown, False, operands)
