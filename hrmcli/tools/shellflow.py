"""What flows between commands: downloads, known text and listed paths, for the judge.

A pipe or substitution carries the output of one command into another. The judge needs to
know when that output is downloaded content (`curl ... | sh` is denied), text known before
running (`echo 'cmd' | sh` is judged as that command), or a list of paths inside one folder
(`find . | xargs rm` only touches the repository).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from hrmcli.tools.shellcall import command_base
from hrmcli.tools.shellparse import AndOr, Compound, Pipeline, Program, Simple, walk_commands
from hrmcli.tools.shellpaths import PathContext
from hrmcli.tools.shellwords import ShellState, Value

MAX_SCRIPT_BYTES = 256_000


FETCHERS = ("curl", "wget", "fetch", "aria2c", "nc", "ncat", "netcat", "socat", "http",
             "https", "xh", "httpie", "lynx", "w3m", "links", "elinks", "ftp", "tftp",
             "telnet", "ssh", "openssl", "/dev/tcp/", "/dev/udp/", "urllib", "requests",
             "Invoke-WebRequest", "iwr", "smbclient")


FETCH_RE = re.compile(
    r"(?<![\w.-])(" + "|".join(re.escape(f) for f in FETCHERS) + r")(?![\w-])")


def raw_words(node: Simple | Compound) -> list[str]:
    out: list[str] = []
    cmds = [node] if isinstance(node, Simple) else list(walk_commands(
        Program([(AndOr([Pipeline([node])], []), "")])))
    for c in cmds:
        out.extend(w.raw for w in c.words)
        out.extend(r.target.raw for r in c.redirects if r.target is not None)
    return out


def known_output(argv: list[Value], paths: PathContext, state: ShellState) -> str | None:
    """The output of `echo`/`printf`/`cat FILE` when it is known before running."""
    if not argv or any(v.text is None or v.glob for v in argv):
        return None
    texts = [v.text for v in argv if v.text is not None]
    base = command_base(texts[0])
    if any("\\" in t for t in texts[1:]):
        return None  # echo -e, dash's echo and printf turn escapes into other text
    if base == "echo":
        args = texts[1:]
        while args and args[0] in ("-n", "-E"):
            args = args[1:]
        return " ".join(args) + "\n"
    if base == "printf" and len(texts) >= 2 and "%" not in texts[1].replace("%s", ""):
        return texts[1].replace("%s", " ".join(texts[2:]))
    if base == "cat" and len(texts) == 2:
        real = paths.real(texts[1], state.cwd)
        if real and paths.inside(real) and os.path.isfile(real):
            try:
                with open(real, encoding="utf-8", errors="replace") as f:
                    return f.read(MAX_SCRIPT_BYTES)
            except OSError:
                return None
    return None


def runs_code(base: str) -> bool:
    """Shells, interpreters, eval and source: their arguments can be code."""
    from hrmcli.tools.shellinterp import INTERPRETERS, OTHER_SHELLS, SH_LIKE

    return (base in SH_LIKE or base in OTHER_SHELLS or base in INTERPRETERS or
            base in ("eval", "source", ".", "xargs", "env", "exec", "command") or
            bool(re.fullmatch(r"(python|pypy)[\d.]*m?", base)))


def listed_under(argv: list[Value], paths: PathContext, state: ShellState) -> str | None:
    """The folder whose paths a listing command prints, one per line (for xargs)."""
    from hrmcli.tools.shellwrap import find_roots

    if not argv or argv[0].text is None or state.cwd is None:
        return None
    base = command_base(argv[0].text)
    texts = [v.text for v in argv]
    if base == "find":
        if any(t in ("-L", "-follow") for t in texts):
            return None
        roots, _ = find_roots(argv)
        tops = [r.text for r in roots]
    elif base in ("ls", "fd", "fdfind") or (
            base in ("grep", "egrep", "fgrep", "rg") and any(
                t in ("-l", "-L", "--files-with-matches", "--files", "-rl", "-lr", "-Rl")
                for t in texts)):
        tops = [t for t in texts[1:] if t is None or not t.startswith("-")] or ["."]
        if base != "ls" and len(tops) > 1:
            tops = tops[1:]  # the pattern
    elif base == "git" and len(texts) > 1 and texts[1] in ("ls-files", "diff") and (
            texts[1] == "ls-files" or "--name-only" in texts):
        tops = ["."]
    else:
        return None
    reals = [paths.real(t, state.cwd) if t is not None and not has_glob(t) else None
             for t in tops]
    if any(r is None for r in reals):
        return None
    common = os.path.commonpath([r for r in reals if r is not None])
    return common


def has_glob(t: str) -> bool:
    return any(ch in t for ch in "*?[")


def all_items(prog: Program) -> Iterator[tuple[object, str]]:
    for ao, sep in prog.items:
        yield ao, sep
        for pl in ao.pipelines:
            for cmd in pl.commands:
                if isinstance(cmd, Compound):
                    for body in cmd.bodies:
                        yield from all_items(body)


def all_pipelines(prog: Program) -> Iterator[Pipeline]:
    for ao, _sep in prog.items:
        for pl in ao.pipelines:
            yield pl
            for cmd in pl.commands:
                if isinstance(cmd, Compound):
                    for body in cmd.bodies:
                        yield from all_pipelines(body)
