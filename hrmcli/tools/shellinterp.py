"""Shells and interpreters: the code they run is judged when it is shell, refused when it
is inline code of another language.

`bash -lc 'sudo ls'`, `sh -c`, `busybox sh -c`, `bash <<< 'cmd'`, `echo cmd | sh` and
`source file` all run shell text: it is parsed and judged like the command line itself.
Code for other interpreters (`python -c`, `perl -e`, `node -e`, an awk program calling
system()) cannot be judged: it asks, and --yes does not answer it. Anything downloaded and
piped into a shell or interpreter (`curl ... | sh`) is denied.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from hrmcli.tools.shellcall import ASK, DENY, UNSURE, Call, Stdin, handles
from hrmcli.tools.shellwords import Value

if TYPE_CHECKING:
    from hrmcli.tools.shelljudge import Judge

SH_LIKE = frozenset({
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "rbash", "ksh93",
    "oksh", "loksh", "pdksh", "lksh", "hush", "bosh", "jsh",
})
# Other shells: their syntax differs, so what the judge parses is only an approximation.
OTHER_SHELLS = frozenset({
    "fish", "csh", "tcsh", "xonsh", "nu", "nushell", "pwsh", "powershell", "elvish", "rc",
    "es", "osh", "ysh", "oil", "ion", "murex", "scsh", "sash", "ngs",
})
_SH_FLAGS = set("abefhiklmnprtuvxBCEHPTDIGJKLMNOQRSUVWXYZdgjqwy")
_SH_LONG_FLAGS = frozenset({
    "--login", "--noprofile", "--norc", "--posix", "--restricted", "--verbose", "--debugger",
    "--dump-strings", "--dump-po-strings", "--help", "--version", "--noediting",
    "--pretty-print", "--interactive", "--no-rcs", "--no-globalrcs", "--emulate",
})
MAX_SCRIPT_BYTES = 256_000


def _child_state(c: Call, arg0: Value | None, args: list[Value]):  # noqa: ANN202
    state = c.state.copy()
    state.arg0 = arg0.text if arg0 is not None else state.arg0
    state.positional = None if any(v.text is None for v in args) else [
        v.text or "" for v in args]
    return state


@handles(*SH_LIKE, *OTHER_SHELLS)
def _shell(j: Judge, c: Call) -> list[str] | None:
    """`SHELL [options] [-c STRING [ARG0 [ARGS]] | FILE [ARGS] | -s]`."""
    argv = c.argv
    command_mode = stdin_mode = False
    i = 1
    while i < len(argv):
        t = argv[i].text
        if t is None:
            j.note(UNSURE, f"`{c.base}` with options only known at run time")
            return None
        if t in ("--", "-"):
            i += 1
            break
        if t.startswith("--"):
            name = t.split("=", 1)[0]
            if name in ("--rcfile", "--init-file"):
                j.note(UNSURE, f"`{c.base} {name}` runs another startup file")
                i += 1 if "=" in t else 2
                continue
            if name in ("--command",):
                command_mode = True
            elif name not in _SH_LONG_FLAGS:
                j.note(UNSURE, f"`{c.base}` option {name} is not known")
            i += 1
            continue
        if t[:1] in "-+" and len(t) > 1:
            takes = 0
            for ch in t[1:]:
                if ch == "c":
                    command_mode = True
                elif ch == "s":
                    stdin_mode = True
                elif ch in "oO":
                    takes += 1
                elif ch not in _SH_FLAGS:
                    j.note(UNSURE, f"`{c.base}` option -{ch} is not known")
            i += 1 + takes
            continue
        break
    label = f"{c.base} -c" if command_mode else c.base
    if c.base in OTHER_SHELLS:
        j.note(UNSURE, f"`{c.base}` code: its syntax is not judged exactly")
    if command_mode:
        if i >= len(argv):
            j.note(UNSURE, f"`{c.base} -c` without a command")
            return None
        script = argv[i]
        if script.text is None:
            j.note(UNSURE, f"`{label}` runs a command only known at run time")
            return None
        state = _child_state(c, argv[i + 1] if i + 1 < len(argv) else None, argv[i + 2:])
        j.run_string(script.text, state, label, c.stdin)
        return None
    if i < len(argv) and not stdin_mode:
        judge_script_file(j, c, argv[i], argv[i + 1:], in_place=False)
        return None
    judge_shell_stdin(j, c, c.stdin, c.base)
    return None


def judge_shell_stdin(j: Judge, c: Call, stdin: Stdin | None, label: str) -> None:
    """A shell that reads its commands from standard input."""
    if stdin is None:
        j.note(ASK, f"`{label}` starts a shell")
        return
    if stdin.fetch:
        j.note(DENY, f"downloaded content is piped into `{label}`, which runs it")
        return
    if stdin.text is not None:
        j.run_string(stdin.text, c.state.copy(), f"{label} (standard input)")
        return
    if stdin.kind == "file" and stdin.path is not None:
        judge_script_file(j, c, stdin.path, [], in_place=False)
        return
    j.note(UNSURE, f"`{label}` runs commands read from its input, only known at run time")


def judge_script_file(j: Judge, c: Call, path: Value, args: list[Value], in_place: bool) -> None:
    """`bash FILE`, `source FILE`: running a script asks (like `python FILE`), and what the
    file holds now is judged as well, so a script that calls sudo is denied. A file this
    command line writes first, or one that does not exist yet, cannot be judged."""
    verb = "sources" if in_place else "runs"
    if path.text is None:
        j.note(UNSURE, f"`{c.base}` {verb} a script only known at run time")
        return
    if path.text in ("/dev/stdin", "-", "/proc/self/fd/0", "/dev/fd/0"):
        judge_shell_stdin(j, c, c.stdin, c.base)
        return
    if path.text.startswith("/dev/fd/"):
        j.note(UNSURE, f"`{c.base}` {verb} the output of a process substitution")
        return
    if re.match(r"^[a-z]+://", path.text):
        j.note(DENY, f"`{c.base}` {verb} code straight from the network ({path.text})")
        return
    j.read(path, c.state, f"`{c.base}`")
    real = j.paths.real(path.text, c.state.cwd)
    if real is None or real in j.written or any(real.startswith(w + "/") for w in j.written):
        j.note(UNSURE, f"`{c.base}` {verb} {path.text}, which this command writes first")
        return
    try:
        with open(real, "rb") as f:
            data = f.read(MAX_SCRIPT_BYTES + 1)
    except OSError:
        j.note(UNSURE, f"`{c.base}` {verb} {path.text}, which cannot be read now")
        return
    j.note(ASK, f"`{c.base}` {verb} the script {path.text}")
    if len(data) > MAX_SCRIPT_BYTES or b"\0" in data:
        return
    state = c.state if in_place else _child_state(c, path, args)
    with j.capped():
        j.run_string(data.decode("utf-8", errors="replace"), state,
                     f"{os.path.basename(path.text)}", None)


# name: (short letters that mean inline code, long options for inline code,
#        short letters that take the rest of the cluster or the next word,
#        short letters that take only an attached optional value, like perl's -i[ext])
_Inline = tuple[str, frozenset[str], str, str]
F = frozenset
INTERPRETERS: dict[str, _Inline] = {
    "perl": ("eE", F(), "IMm", "ixF0lCdD"),
    "ruby": ("e", F(), "IrCE", "ix0WTKF"),
    "irb": ("", F(), "Ir", ""),
    "node": ("ep", F({"--eval", "--print"}), "rC", ""),
    "nodejs": ("ep", F({"--eval", "--print"}), "rC", ""),
    "bun": ("ep", F({"--eval", "--print"}), "r", ""),
    "php": ("rRBE", F({"--run", "--process-code", "--process-begin", "--process-end"}),
            "cdzt", ""),
    "lua": ("e", F(), "l", ""),
    "luajit": ("e", F(), "lj", "O"),
    "Rscript": ("e", F({"--expr"}), "", ""),
    "R": ("e", F(), "", ""),
    "julia": ("eE", F({"--eval", "--print"}), "JLCt", "O"),
    "osascript": ("e", F(), "l", "s"),
    "expect": ("c", F(), "fDb", ""),
    "groovy": ("e", F(), "cl", "D"),
    "scala": ("e", F(), "", ""),
    "elixir": ("e", F({"--eval"}), "r", ""),
    "erl": ("", F({"-eval", "-s", "-run"}), "", ""),
    "guile": ("ce", F(), "lLx", ""),
    "racket": ("eE", F({"--eval", "--require-script"}), "lt", ""),
    "sbcl": ("", F({"--eval", "--load", "--script"}), "", ""),
    "clisp": ("x", F(), "i", ""),
    "ghci": ("e", F(), "", ""),
    "tclsh": ("", F(), "", ""),
    "wish": ("", F(), "", ""),
    "jshell": ("", F(), "", ""),
    "swift": ("e", F(), "", ""),
    "deno": ("", F({"eval"}), "", ""),
    "ts-node": ("ep", F({"--eval", "--print"}), "r", ""),
    "tsx": ("ep", F({"--eval", "--print"}), "", ""),
    "pwsh": ("", F(), "", ""),
    "powershell": ("", F(), "", ""),
    "gdb": ("", F({"-ex", "-x", "--command", "--eval-command", "-iex", "-ix",
                   "--init-command", "--init-eval-command"}), "", ""),
    "lldb": ("os", F({"--one-line", "--source", "--one-line-before-file",
                      "--source-before-file"}), "", ""),
}


def _is_inline(base: str, t: str, spec: _Inline) -> tuple[bool, int]:
    """(inline code?, extra words the option consumes) for one option word."""
    short, long_, next_arg, optional = spec
    if base in ("pwsh", "powershell"):
        low = t.lower().lstrip("/-")
        return low.startswith(("c", "enc")) or low in ("e", "ec"), 0
    if t.split("=", 1)[0] in long_:
        return True, 0
    if t.startswith("--") or not t.startswith("-") or len(t) < 2:
        return False, 0
    for n, ch in enumerate(t[1:]):
        if ch in short:
            return True, 0
        if ch in next_arg:
            return False, 1 if n == len(t) - 2 else 0
        if ch in optional:
            return False, 0
    return False, 0


@handles(*INTERPRETERS)
def _interpreter(j: Judge, c: Call) -> list[str] | None:
    spec = INTERPRETERS[c.kind or c.base]
    args = c.args
    operand: Value | None = None
    k = 0
    while k < len(args):
        t = args[k].text
        if t is None:
            j.note(UNSURE, f"`{c.base}` with arguments only known at run time")
            return None
        inline, extra = _is_inline(c.base, t, spec)
        if inline or (c.base == "deno" and k == 0 and t == "eval"):
            j.note(UNSURE, f"`{c.base}` runs inline code, which cannot be judged")
            if c.base == "perl":
                _perl_in_place(j, c)
            return None
        if t == "--":
            operand = args[k + 1] if k + 1 < len(args) else None
            break
        if t.startswith("-") and len(t) > 1:
            k += 1 + extra
            continue
        operand = args[k]
        break
    return _runs_file_or_stdin(j, c, operand)


def _runs_file_or_stdin(j: Judge, c: Call, operand: Value | None) -> list[str] | None:
    """An interpreter with a script operand asks (category shell); with none it reads
    code from standard input."""
    if operand is not None:
        if operand.text and re.match(r"^[a-z]+://", operand.text):
            j.note(DENY, f"`{c.base}` runs code straight from the network ({operand.text})")
            return None
        if operand.text == "-":
            operand = None
        else:
            return c.texts()
    stdin = c.stdin
    if stdin is None:
        return c.texts()
    if stdin.fetch:
        j.note(DENY, f"downloaded content is piped into `{c.base}`, which runs it")
        return None
    j.note(UNSURE, f"`{c.base}` runs code from its standard input, which cannot be judged")
    return None


def _perl_in_place(j: Judge, c: Call) -> None:
    """`perl -i -pe ... FILES`: the files are rewritten."""
    texts = [v.text or "" for v in c.args]
    if not any(t.startswith("-") and not t.startswith("--") and "i" in t.split("e")[0]
               for t in texts):
        return
    skip_next = False
    for v in c.args:
        t = v.text or ""
        if skip_next:
            skip_next = False
            continue
        if t.startswith("-"):
            skip_next = t.rstrip("pnlaw").endswith(("e", "E", "I", "M"))
            continue
        j.write(v, c.state, "`perl -i`", c.edits)


@handles(pattern=r"(python|pypy)(\d+(\.\d+)*)?m?(-dbg)?")
def _python(j: Judge, c: Call) -> list[str] | None:
    """`python [opts] (-c CODE | -m MODULE | FILE | -)`: -m is judged as the module's
    command (`python -m pytest` is pytest), -c asks and is denied under --yes."""
    args = c.args
    k = 0
    while k < len(args):
        t = args[k].text
        if t is None:
            j.note(UNSURE, f"`{c.base}` with arguments only known at run time")
            return None
        if t == "--" or not t.startswith("-") or t == "-":
            break
        if t.startswith("--"):
            k += 1
            continue
        letters = t[1:]
        for n, ch in enumerate(letters):
            if ch == "c":
                j.note(UNSURE, f"`{c.base} -c` runs inline code, which cannot be judged")
                return None
            if ch == "m":
                mod = letters[n + 1:] or (args[k + 1].text if k + 1 < len(args) else None)
                rest = args[k + 1:] if letters[n + 1:] else args[k + 2:]
                if mod is None:
                    j.note(UNSURE, f"`{c.base} -m` with a module only known at run time")
                    return None
                from hrmcli.tools.shellcall import handler_for

                module_handler = handler_for(mod)
                if module_handler is not None and mod not in ("json.tool",):
                    inner = Call([Value(mod, mod), *rest], c.state, c.stdin, c.edits,
                                 kind=module_handler[0])
                    with j.inside(f"{c.base} -m"):
                        got = module_handler[1](j, inner)
                    if got is None:
                        return None
                return ["python", "-m", mod, *[v.shown for v in rest]]
            if ch in "WX":
                if n == len(letters) - 1:
                    k += 1
                break
        k += 1
    if k < len(args) and args[k].text == "--":
        k += 1
    return _runs_file_or_stdin(j, c, args[k] if k < len(args) else None)


# awk: system(), pipes to or from commands, and output redirection inside the program.
_AWK_RUNS = re.compile(r"\bsystem\s*\(|\|\s*&?\s*getline|\|&|\bprintf?\b[^;{}\n]*[|>]|"
                       r"\bfflush\b.*\||\bclose\s*\(|\"[^\"]*\"\s*\|")


@handles("awk", "gawk", "mawk", "nawk", "busybox-awk")
def _awk(j: Judge, c: Call) -> list[str] | None:
    """An awk program that runs commands or writes files cannot be judged (ask; denied
    under --yes); an ordinary one (`awk '{print $1}' f`) is a read."""
    args = c.args
    k = 0
    program: Value | None = None
    from_file = False
    while k < len(args):
        t = args[k].text
        if t is None:
            break
        if t == "--":
            k += 1
            break
        if t in ("-f", "--file", "-i", "--include", "-E", "--exec", "-l", "--load"):
            from_file = True
            j.read(args[k + 1] if k + 1 < len(args) else Value(None), c.state, f"`{c.base} {t}`")
            k += 2
            continue
        if t in ("-v", "-F", "--assign", "--field-separator", "-W"):
            k += 2
            continue
        if t.startswith("-") and len(t) > 1:
            if t.startswith(("-f", "--file=", "-i", "--include=", "-E")):
                from_file = True
            k += 1
            continue
        break
    if not from_file and k < len(args):
        program = args[k]
        k += 1
    if from_file:
        j.note(ASK, f"`{c.base}` runs an awk program from a file")
    elif program is None or program.text is None:
        j.note(UNSURE, f"`{c.base}` program only known at run time")
        return None
    elif _AWK_RUNS.search(program.text):
        j.note(UNSURE, f"the `{c.base}` program runs commands or writes files "
                       "(system(), pipes, > redirection)")
        return None
    for v in args[k:]:
        if v.text is not None and "=" in v.text and not v.text.startswith(("/", ".")):
            continue  # var=value operands
        j.read(v, c.state, f"`{c.base}`")
    return ["awk"]


@handles("vim", "vi", "nvim", "gvim", "view", "vimdiff", "ex", "emacs", "emacsclient",
         "nano", "micro", "kak", "hx", "joe", "mg", "ed", "less", "more", "most", "man")
def _editor(j: Judge, c: Call) -> list[str] | None:
    """Editors and pagers can run shell commands (`vim -c '!sh'`, emacs --eval, `!` in
    less); command options make them UNSURE, otherwise they only read (or ask, for editors)."""
    texts = [v.text for v in c.args]
    runs = {"-c", "--cmd", "-S", "--eval", "-l", "--load", "-f", "--funcall", "--batch",
            "-x", "--script", "-e", "-s"}
    pager = c.base in ("less", "more", "most", "man")
    if c.base == "man" and any(t is not None and t.split("=")[0] in (
            "-P", "--pager", "-H", "--html", "-B") or (t or "").startswith("-P") for t in texts):
        j.note(UNSURE, "`man -P/--pager/--html` names a program man runs")
        return None
    for t in texts:
        if t is None:
            continue
        if (not pager and (t in runs or t.startswith(("+", "--eval=", "--cmd=")))) or (
                pager and t.startswith(("+!", "-+", "--lesskey"))):
            j.note(UNSURE, f"`{c.base} {t}` runs editor commands, which can run a shell")
            return None
    if c.base == "ed" or (c.base in ("ex", "vim", "vi", "nvim") and "-s" in texts):
        j.note(UNSURE, f"`{c.base}` takes commands from its input")
        return None
    for v in c.args:
        if v.text is not None and not v.text.startswith(("-", "+")):
            j.read(v, c.state, f"`{c.base}`", must_know=False)
    return ["less"] if pager else c.texts()


@handles("make", "gmake", "bmake")
def _make(j: Judge, c: Call) -> list[str] | None:
    """make runs its Makefile (a test command), but `--eval`, `SHELL=` and friends on the
    command line change what it runs, and `-C DIR` outside the repository writes there."""
    from hrmcli.tools.shellcmds import CMD_ENV, CODE_ENV

    texts = c.texts(1)
    for k, t in enumerate(texts):
        if t in ("-E", "--eval") or t.startswith("--eval="):
            j.note(UNSURE, "`make --eval` adds Makefile text, which can run anything")
        if t in ("-f", "--file", "--makefile") or t.startswith(("--file=", "--makefile=")) or (
                t.startswith("-f") and len(t) > 2):
            f = t.split("=", 1)[1] if "=" in t else (t[2:] if t.startswith("-f") and len(t) > 2
                                                     else (texts[k + 1] if k + 1 < len(texts)
                                                           else ""))
            real = j.paths.real(f, c.state.cwd)
            if real is None or not j.paths.inside(real):
                j.note(UNSURE, f"`{c.base} -f {f}` runs a Makefile from outside the repository")
        if t in ("-C", "--directory") or t.startswith(("--directory=", "-C")):
            d = t.split("=", 1)[1] if "=" in t else (t[2:] if t.startswith("-C") and len(t) > 2
                                                     else (texts[k + 1] if k + 1 < len(texts)
                                                           else ""))
            j.write(Value(d, d), c.state, f"`{c.base} -C`", [])
        name, eq, val = t.partition("=")
        if eq and not t.startswith("-") and name.isidentifier():
            if name in CMD_ENV or name in ("SHELL", ".SHELLFLAGS"):
                j.run_string(val, c.state.copy(), f"{c.base} {name}=")
            elif name in CODE_ENV:
                j.note(UNSURE, f"`{c.base} {name}=` changes which code runs")
    return c.texts()
