"""Commands that run other commands: unwrapped so the inner command is judged.

`nice -n 5 sudo ls` runs `sudo ls`; so do `env -u X sudo ls`, `timeout -s 9 5 sudo ls`,
`stdbuf -o0 sudo ls`, `echo x | xargs sudo ls` and `find . -exec sudo ls ;`. Each wrapper's
options are parsed with its real grammar (which options take an argument), so the inner
command is found where the wrapper will find it; an option the grammar does not know makes
the command UNSURE instead of a guess.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from hrmcli.tools.shellcall import (
    ASK,
    UNSURE,
    Call,
    Stdin,
    handles,
    parse_opts,
)
from hrmcli.tools.shellwords import Value

if TYPE_CHECKING:
    from hrmcli.tools.shelljudge import Judge

# name: (flags, options with an argument, long flags, long options with an argument,
#        operands before the command, options after which no command runs)
_Grammar = tuple[str, str, frozenset[str], frozenset[str], int, frozenset[str]]
F = frozenset
WRAPPERS: dict[str, _Grammar] = {
    "nice": ("", "n", F(), F({"--adjustment"}), 0, F()),
    "ionice": ("t", "cnpPu", F({"--ignore"}),
               F({"--class", "--classdata", "--pid", "--pgid", "--uid"}), 0,
               F({"-p", "-P", "-u", "--pid", "--pgid", "--uid"})),
    "timeout": ("v", "sk", F({"--preserve-status", "--foreground", "--verbose"}),
                F({"--signal", "--kill-after"}), 1, F()),
    "stdbuf": ("", "ioe", F(), F({"--input", "--output", "--error"}), 0, F()),
    "nohup": ("", "", F(), F(), 0, F()),
    "setsid": ("cfw", "", F({"--ctty", "--fork", "--wait"}), F(), 0, F()),
    "unbuffer": ("p", "", F(), F(), 0, F()),
    "chrt": ("abdefiorRmv", "TPD", F({"--all-tasks", "--batch", "--deadline", "--fifo",
                                        "--idle", "--other", "--rr", "--reset-on-fork",
                                        "--verbose", "--max"}),
             F({"--sched-runtime", "--sched-period", "--sched-deadline"}), 1,
             F({"-p", "--pid", "-m", "--max"})),
    "taskset": ("acp", "", F({"--all-tasks", "--cpu-list", "--pid"}), F(), 1,
                F({"-p", "--pid"})),
    "dbus-run-session": ("", "", F(), F({"--config-file", "--dbus-daemon"}), 0, F()),
    "xvfb-run": ("a", "nsfepwl", F({"--auto-servernum", "--listen-tcp"}),
                 F({"--server-num", "--server-args", "--auth-file", "--error-file",
                    "--xauth-protocol", "--wait"}), 0, F()),
    "catchsegv": ("", "", F(), F(), 0, F()),
    "eatmydata": ("", "", F(), F(), 0, F()),
    "nocache": ("", "n", F(), F(), 0, F()),
    "ccache": ("", "", F(), F(), 0, F({"-s", "-C", "-z", "-c", "-M", "-F", "-p", "-o"})),
    "distcc": ("", "", F(), F(), 0, F()),
    "rlwrap": ("cCinrs", "abfHlopPSz", F(), F(), 0, F()),
    "caffeinate": ("dimsu", "tw", F(), F(), 0, F()),
    "fakeroot": ("uh", "lsib", F({"--unknown-is-real", "--version", "--help"}),
                 F({"--lib", "--faked"}), 0, F()),
    "unshare": ("imnpuUCTfrc", "SGRw", F({"--fork", "--map-root-user", "--map-current-user",
                                         "--kill-child", "--mount-proc", "--user", "--pid",
                                         "--mount", "--uts", "--ipc", "--net", "--cgroup",
                                         "--time"}),
                F({"--setuid", "--setgid", "--root", "--wd", "--propagation",
                   "--setgroups", "--map-user", "--map-group"}), 0, F()),
    "prlimit": ("v", "p", F({"--verbose", "--raw", "--noheadings"}),
                F({"--pid", "--output"}), 0, F({"-p", "--pid"})),
    "cgexec": ("", "g", F({"--sticky"}), F(), 0, F()),
    "numactl": ("alsH", "CNmipPbw", F({"--localalloc", "--show", "--hardware", "--all"}),
                F({"--physcpubind", "--cpunodebind", "--membind", "--interleave",
                   "--preferred", "--weighted-interleave"}), 0, F({"-s", "-H"})),
    "valgrind": ("qv", "", F(), F(), 0, F()),
    "strace": ("cCdDfFhiqrtTvVwxyzZk", "abeEIoOpPsSuUXA", F(), F({"--output"}), 0,
               F({"-p"})),
    "ltrace": ("bcCdfhiLrStTV", "aAeEFlnopsuwx", F(), F({"--output"}), 0, F({"-p"})),
    "sudo": ("AbEeHiKklnPSsVv", "CDghpRrTtUu", F({"--preserve-env", "--login", "--shell",
                                                "--non-interactive", "--background"}),
             F({"--user", "--group", "--chdir", "--prompt", "--host", "--role", "--type",
                "--close-from", "--other-user", "--command-timeout"}), 0, F()),
    "doas": ("Lns", "Cu", F(), F(), 0, F()),
    "pkexec": ("", "", F({"--disable-internal-agent", "--keep-cwd"}), F({"--user"}), 0, F()),
    "run0": ("", "", F({"--no-ask-password", "--setenv"}),
             F({"--user", "--group", "--chdir", "--unit", "--property", "--description",
                "--slice", "--nice", "--background", "--machine"}), 0, F()),
}
WRAPPERS["time"] = ("pavq", "fo", F({"--portability", "--append", "--verbose", "--quiet"}),
                    F({"--format", "--output"}), 0, F())
WRAPPERS["sudoedit"] = WRAPPERS["sudo"]
_AS_ROOT = ("sudo", "doas", "pkexec", "run0", "sudoedit")


def _wrapper(j: Judge, c: Call) -> list[str] | None:
    """The table-driven wrappers: skip their options and operands, judge the rest."""
    flags, with_arg, lflags, lwith, operands, no_cmd = WRAPPERS[c.kind or c.base]
    argv = c.argv
    start = 1
    if c.base == "nice" and len(argv) > 1 and (argv[1].text or "").lstrip("-").isdigit():
        start = 2  # the old `nice -5 cmd` form
    opts = parse_opts(argv, start, flags, with_arg, lflags, lwith)
    if opts.unknown:
        j.note(UNSURE, f"`{c.base}` with options it is not known to take: "
                       f"{', '.join(opts.unknown)}")
    if opts.dynamic:
        j.note(UNSURE, f"`{c.base}` with options only known at run time")
        return None
    if c.base in _AS_ROOT:
        j.note(ASK, f"`{c.base}` runs a command as another user")
    if c.base == "time" or c.base in ("strace", "ltrace", "prlimit"):
        for v in opts.values("-o", "--output"):
            j.write(v, c.state, f"`{c.base} -o`", c.edits)
    if any(o in no_cmd for o, _ in opts.found):
        return ["true"]
    start = opts.rest + operands
    if start >= len(argv):
        if c.base in ("sudo", "doas", "run0") and opts.has("-i", "-s", "--login", "--shell"):
            j.note(UNSURE, f"`{c.base}` opens a shell")
            return None
        return ["true"]
    return j.inner(c, start, c.base)


for _name in WRAPPERS:
    handles(_name)(_wrapper)


def unwrap_env(j: Judge, c: Call) -> list[str] | None:
    """`env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=VALUE]... [COMMAND [ARG]...]`."""
    from hrmcli.tools.shellcmds import SECRET_VAR

    if c.base == "printenv":
        names = [v.text for v in c.args if not (v.text or "").startswith("-")]
        if not names or any(n is None or SECRET_VAR.search(n) for n in names):
            j.note(UNSURE, "`printenv` shows environment variables, which can hold secrets")
        return ["printenv"]
    opts = parse_opts(c.argv, 1, "i0v", "uCSP",
                      F({"--ignore-environment", "--null", "--debug", "--list-signal-handling",
                         "--default-signal", "--ignore-signal", "--block-signal"}),
                      F({"--unset", "--chdir", "--split-string"}))
    argv = list(c.argv)
    i = opts.rest
    # a lone "-" means -i
    while i < len(argv) and argv[i].text == "-":
        i += 1
    if opts.unknown or opts.dynamic:
        j.note(UNSURE, "`env` with options it is not known to take or only known at run time")
        return None
    if opts.has("-P"):
        j.note(UNSURE, "`env -P` changes where commands are looked up")
    state = c.state.copy()
    for d in opts.values("-C", "--chdir"):
        state.cwd = j.paths.real(d.text, state.cwd) if d.text is not None else None
    while i < len(argv):
        t = argv[i].text
        if t is None:
            j.note(UNSURE, "`env` with arguments only known at run time")
            return None
        name, eq, value = t.partition("=")
        if not eq or not name or not name.replace("_", "a").isalnum():
            break
        j.assignment(name, value, argv[i].raw, state)
        state.vars[name] = value
        i += 1
    split = opts.values("-S", "--split-string")
    if split:
        if any(v.text is None for v in split + argv[i:]):
            j.note(UNSURE, "`env -S` with text only known at run time")
            return None
        text = " ".join([v.text or "" for v in split] + [shlex.quote(v.text or "")
                                                         for v in argv[i:]])
        j.run_string(text, state, "env -S", c.stdin)
        return None
    if i >= len(argv):
        j.note(UNSURE, "`env` without a command prints the environment, which can hold secrets")
        return ["env"]
    with j.inside("env"):
        j.run_argv(argv[i:], state, c.stdin)
    return None


@handles("busybox", "toybox")
def _busybox(j: Judge, c: Call) -> list[str] | None:
    """`busybox APPLET ARGS` runs the applet: judged as that command."""
    if not c.args or (c.args[0].text or "").startswith("-"):
        return c.texts()
    return j.inner(c, 1, c.base)


@handles("xargs")
def _xargs(j: Judge, c: Call) -> list[str] | None:
    """xargs runs its command with arguments read from stdin: those are unknown values,
    except that a producer such as `find .` or `git ls-files` keeps them inside the repo."""
    argv = list(c.argv)
    replace: str | None = None
    i = 1
    files: list[Value] = []
    while i < len(argv):
        t = argv[i].text
        if t is None:
            j.note(UNSURE, "`xargs` with options only known at run time")
            return None
        if t == "--":
            i += 1
            break
        if not t.startswith("-") or t == "-":
            break
        name, eq, val = t.partition("=")
        if t.startswith("--"):
            if name in ("--replace",):
                replace = val if eq else "{}"
            elif name in ("--arg-file", "--delimiter", "--eof", "--max-lines", "--max-args",
                          "--max-procs", "--max-chars", "--process-slot-var"):
                if not eq:
                    i += 1
                    val = argv[i].text or "" if i < len(argv) else ""
                if name == "--arg-file":
                    files.append(Value(val, val))
            elif name not in ("--null", "--interactive", "--no-run-if-empty", "--verbose",
                              "--exit", "--show-limits", "--open-tty", "--help", "--version"):
                j.note(UNSURE, f"`xargs` option {name} is not known")
        elif t[1] in "ile":  # optional attached argument: -i[R] -l[N] -e[EOF]
            if t[1] == "i":
                replace = t[2:] or "{}"
        elif t[1] in "adEILnPs":
            val = t[2:]
            if not val:
                i += 1
                val = argv[i].text or "" if i < len(argv) else ""
            if t[1] == "I":
                replace = val
            if t[1] == "a":
                files.append(Value(val, val))
        elif not set(t[1:]) <= set("0prtxo"):
            j.note(UNSURE, f"`xargs` option {t} is not known")
        i += 1
    for f in files:
        j.read(f, c.state, "`xargs -a`")
    under = c.stdin.under if c.stdin is not None else None
    item = Value(None, "<input line>", under=under, multi=True)
    inner = argv[i:] or [Value.literal("echo")]
    if replace:
        inner = [Value(None, v.raw, under=under) if v.text is None or replace in v.text else v
                 for v in inner]
        if any(v.text is None and v.under is None and replace in v.raw for v in inner[:1]):
            j.note(UNSURE, "`xargs` builds the command name from its input")
            return None
    else:
        inner = [*inner, item]
    with j.inside("xargs"):
        j.run_argv(inner, c.state.copy(), None)
    return None


def find_roots(argv: list[Value]) -> tuple[list[Value], int]:
    """find's starting points (default `.`) and the index where its expression begins."""
    i = 1
    while i < len(argv):
        t = argv[i].text or ""
        if t in ("-H", "-L", "-P"):
            i += 1
        elif t in ("-D", "-O"):
            i += 2
        elif t.startswith(("-D", "-O")) and len(t) > 2:
            i += 1
        else:
            break
    roots: list[Value] = []
    while i < len(argv):
        t = argv[i].text
        if t is not None and (t.startswith("-") or t in ("(", "!", ",", ")")):
            break
        roots.append(argv[i])
        i += 1
    return roots or [Value.literal(".")], i


@handles("find")
def _find(j: Judge, c: Call) -> list[str] | None:
    """find's roots, then its expression: -exec/-execdir/-ok/-okdir run commands on each
    match ({} is a path under a root), -delete and -fprint* write."""
    argv = c.argv
    roots, i = find_roots(argv)
    unders: list[str | None] = []
    for r in roots:
        real = j.paths.real(r.text, c.state.cwd) if r.text is not None and not r.glob else None
        unders.append(real)
    own = ["find"]
    while i < len(argv):
        t = argv[i].text
        if t in ("-exec", "-execdir", "-ok", "-okdir"):
            end = i + 1
            while end < len(argv) and not (argv[end].text == ";" or (
                    argv[end].text == "+" and end > i + 1 and argv[end - 1].text == "{}")):
                end += 1
            if end >= len(argv):  # find refuses it, but judge the command all the same
                j.note(UNSURE, f"`find {t}` without its closing ';' or '+'")
            cmd = argv[i + 1:end]
            if not cmd:
                j.note(UNSURE, f"`find {t}` without a command")
                return None
            for under in unders:
                inner = [Value(None, v.raw, under=under) if v.text is not None and "{}" in
                         v.text else v for v in cmd]
                with j.inside(f"find {t}"):
                    j.run_argv(inner, c.state.copy(), None)
            i = end + 1
            continue
        if t == "-delete":
            own.append("-delete")
            for r, under in zip(roots, unders, strict=True):
                j.write(Value(None, r.raw, under=under) if under else r, c.state,
                        "`find -delete`", c.edits)
        elif t in ("-fprint", "-fprint0", "-fls", "-fprintf") and i + 1 < len(argv):
            j.write(argv[i + 1], c.state, f"`find {t}`", c.edits)
            i += 1
        i += 1
    return own


def _joined(j: Judge, c: Call, words: list[Value], label: str) -> None:
    """Commands that join their arguments into one shell command line (watch, parallel,
    ssh) run that line through a shell: it is judged as one."""
    if any(v.text is None for v in words):
        j.note(UNSURE, f"`{label}` runs a command line only known at run time")
        return
    j.run_string(" ".join(v.text or "" for v in words), c.state.copy(), label)


@handles("watch")
def _watch(j: Judge, c: Call) -> list[str] | None:
    opts = parse_opts(c.argv, 1, "bcdeghtpxrw", "nq",
                      F({"--beep", "--color", "--differences", "--errexit", "--chgexit",
                         "--no-title", "--exec", "--precise", "--no-wrap", "--no-linewrap"}),
                      F({"--interval", "--equexit"}))
    if opts.unknown or opts.dynamic:
        j.note(UNSURE, "`watch` with options it is not known to take")
        return None
    rest = c.argv[opts.rest:]
    if not rest:
        return ["true"]
    if opts.has("-x", "--exec"):
        return j.inner(c, opts.rest, "watch")
    _joined(j, c, rest, "watch")
    return None


@handles("parallel", "sem")
def _parallel(j: Judge, c: Call) -> list[str] | None:
    """GNU parallel runs `COMMAND {}` through a shell for each argument (after `:::`), or
    each input line as a command when no command is given."""
    argv = c.argv
    i = 1
    takes_arg = {"-j", "-P", "-S", "-a", "-d", "-E", "-I", "-n", "-N", "-L", "-l", "-s",
                 "--jobs", "--sshlogin", "--arg-file", "--delimiter", "--tmpdir", "--results",
                 "--joblog", "--workdir", "--timeout", "--retries", "--delay", "--memfree",
                 "--load", "--colsep", "--tag-string", "--env", "--basefile", "--return",
                 "--transferfile", "--sshloginfile", "--max-args", "--max-replace-args"}
    while i < len(argv) and (argv[i].text or "x").startswith("-") and argv[i].text != "--":
        t = argv[i].text or ""
        name = t.split("=", 1)[0]
        if name in ("--results", "--joblog", "--tmpdir", "--files"):
            val = t.split("=", 1)[1] if "=" in t else (argv[i + 1].text if i + 1 < len(argv)
                                                       else None)
            j.write(Value(val, val or ""), c.state, f"`parallel {name}`", c.edits)
        if name in ("--sshlogin", "-S", "--sshloginfile", "--slf"):
            j.note(ASK, "`parallel` runs commands on other machines")
        i += 2 if name in takes_arg and "=" not in t and len(t) == len(name) else 1
    if i < len(argv) and argv[i].text == "--":
        i += 1
    seps = [k for k in range(i, len(argv)) if argv[k].text in (":::", "::::", ":::+", "::::+")]
    cmd = argv[i:seps[0]] if seps else argv[i:]
    if not cmd:
        stdin = c.stdin or Stdin("pipe")
        from hrmcli.tools.shellinterp import judge_shell_stdin

        judge_shell_stdin(j, c, stdin, "parallel")
        return None
    args = argv[seps[0] + 1:] if seps else []
    if args and all(v.text is not None for v in args) and len(args) <= 16:
        for a in args:
            words = [Value((v.text or "").replace("{}", a.text or ""), v.raw) for v in cmd]
            if not any("{}" in (v.text or "") for v in cmd):
                words.append(Value(shlex.quote(a.text or ""), a.raw))
            _joined(j, c, words, "parallel")
    else:
        state = c.state.copy()
        state.vars["__item"] = None
        text = " ".join((v.text or "").replace("{}", '"$__item"') for v in cmd)
        if not any("{}" in (v.text or "") for v in cmd):
            text += ' "$__item"'
        if any(v.text is None for v in cmd):
            j.note(UNSURE, "`parallel` runs a command only known at run time")
            return None
        j.run_string(text, state, "parallel")
    return None


@handles("flock")
def _flock(j: Judge, c: Call) -> list[str] | None:
    """`flock [opts] FILE COMMAND...` or `flock [opts] FILE -c STRING` (the lock file is only
    opened, never truncated)."""
    opts = parse_opts(c.argv, 1, "sxunoFvh", "wEc",
                      F({"--shared", "--exclusive", "--unlock", "--nonblock", "--close",
                         "--no-fork", "--verbose"}),
                      F({"--timeout", "--wait", "--conflict-exit-code", "--command"}))
    if opts.unknown or opts.dynamic:
        j.note(UNSURE, "`flock` with options it is not known to take")
        return None
    rest = c.argv[opts.rest:]
    strings = opts.values("-c", "--command")
    if len(rest) >= 3 and rest[1].text in ("-c", "--command"):
        strings.append(rest[2])
        rest = rest[:1]
    for s in strings:
        if s.text is None:
            j.note(UNSURE, "`flock -c` with a command only known at run time")
        else:
            j.run_string(s.text, c.state.copy(), "flock -c")
    if len(rest) > 1:
        return j.inner(c, opts.rest + 1, "flock")
    return None if strings else ["true"]


@handles("su", "runuser", "ksu")
def _su(j: Judge, c: Call) -> list[str] | None:
    """su runs a shell (or `-c STRING`) as another user."""
    j.note(ASK, f"`{c.base}` runs commands as another user")
    opts = parse_opts(c.argv, 1, "lmpfPT", "cgGsuwC",
                      F({"--login", "--preserve-environment", "--pty", "--fast"}),
                      F({"--command", "--session-command", "--group", "--supp-group",
                         "--shell", "--user", "--whitelist-environment"}),
                      stop_at_operand=False)
    strings = opts.values("-c", "--command", "--session-command")
    for s in strings:
        if s.text is None:
            j.note(UNSURE, f"`{c.base} -c` with a command only known at run time")
        else:
            j.run_string(s.text, c.state.copy(), f"{c.base} -c")
    if not strings:
        j.note(UNSURE, f"`{c.base}` opens a shell as another user")
    return None


@handles("script")
def _script(j: Judge, c: Call) -> list[str] | None:
    """`script [-c CMD] [FILE]` records a session into FILE (default ./typescript)."""
    opts = parse_opts(c.argv, 1, "aefqkh", "cEImoOBTt",
                      F({"--append", "--return", "--flush", "--force", "--quiet",
                         "--log-in", "--log-out", "--logging-format"}),
                      F({"--command", "--echo", "--log-io", "--log-timing", "--output-limit",
                         "--timing"}), stop_at_operand=False)
    for v in opts.values("-O", "-B", "-T", "--log-out", "--log-io", "--log-timing"):
        j.write(v, c.state, "`script`", c.edits)
    for v in opts.operands[:1] or [Value.literal("typescript")]:
        j.write(v, c.state, "`script`", c.edits)
    strings = opts.values("-c", "--command")
    for s in strings:
        if s.text is None:
            j.note(UNSURE, "`script -c` with a command only known at run time")
        else:
            j.run_string(s.text, c.state.copy(), "script -c")
    if not strings:
        j.note(UNSURE, "`script` without -c starts a shell")
    return None


@handles("at", "batch")
def _at(j: Judge, c: Call) -> list[str] | None:
    if any(v.text in ("-l", "-r", "-d", "-c") for v in c.args) or c.base == "atq":
        return ["true"]
    j.note(UNSURE, f"`{c.base}` schedules commands to run later")
    return None


@handles("tmux", "screen", "byobu", "nohup-daemon", "daemonize", "start-stop-daemon")
def _session(j: Judge, c: Call) -> list[str] | None:
    texts = c.texts(1)
    if c.base == "tmux" and texts and all(t in ("ls", "list-sessions", "-V") for t in texts):
        return ["true"]
    j.note(UNSURE, f"`{c.base}` starts commands outside this one (sessions or daemons)")
    return None


@handles("perf")
def _perf(j: Judge, c: Call) -> list[str] | None:
    """`perf record|stat|trace [opts] COMMAND`: the command after the options runs."""
    sub = c.args[0].text if c.args else None
    if sub not in ("record", "stat", "trace", "sched", "kmem", "lock", "mem", "c2c"):
        return c.texts()
    opts = parse_opts(c.argv, 2, "aAgnqsvBdTu", "eopcFCGtrmIMN", any_option=True)
    for v in opts.values("-o", "--output"):
        j.write(v, c.state, "`perf -o`", c.edits)
    if opts.rest < len(c.argv):
        return j.inner(c, opts.rest, f"perf {sub}")
    return c.texts()


@handles("ps")
def _ps(j: Judge, c: Call) -> list[str] | None:
    """BSD-style `ps e`/`ps eww` prints every process's environment (API keys included)."""
    for v in c.args:
        t = v.text or ""
        if (not t.startswith("-") and "e" in t) or t in ("--env", "-E"):
            j.note(UNSURE, "`ps e` shows the environment of processes, which can hold secrets")
    return ["ps"]
