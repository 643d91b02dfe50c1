"""Shell builtins for the judge, the lists of dangerous variables, and the handler modules.

Importing this module registers every handler (builtins here; wrappers, interpreters, file
writers and git in their own modules). Builtins matter because they change what later
commands mean: `cd` moves relative paths, `export`/`read` change variables, `eval` and
`source` run text as code, `alias` and `trap` store code to run later.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from hrmcli.tools.shellcall import DENY, UNSURE, Call, handles, parse_opts
from hrmcli.tools.shellwords import ShellState

if TYPE_CHECKING:
    from hrmcli.tools.shelljudge import Judge

# Setting these changes which code runs (preloaded libraries, startup files, search paths).
CODE_ENV = frozenset({
    "BASH_ENV", "ENV", "PROMPT_COMMAND", "SHELLOPTS", "BASHOPTS", "PS4", "PATH", "PERL5OPT",
    "PERL5LIB", "PERLLIB", "PERL5DB", "RUBYOPT", "RUBYLIB", "NODE_OPTIONS", "NODE_PATH",
    "PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONHOME", "PYTEST_ADDOPTS", "PYTEST_PLUGINS",
    "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "ZDOTDIR", "GIT_EXEC_PATH",
    "GIT_TEMPLATE_DIR", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "XDG_CONFIG_HOME", "GCONV_PATH",
    "HOSTALIASES", "MAKEFLAGS", "MFLAGS", "GNUMAKEFLAGS", "CDPATH", "FPATH", "EXECIGNORE",
    "HISTFILE", "INPUTRC", "TERMINFO", "MAGIC", "RUSTFLAGS", "CARGO_HOME", "npm_config_prefix",
    "NPM_CONFIG_PREFIX", "npm_config_userconfig", "PIP_CONFIG_FILE", "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL", "LESSKEY", "VIMINIT", "EXINIT", "MYVIMRC", "GEM_HOME", "GEM_PATH",
    "PYTHONUSERBASE", "BUNDLE_GEMFILE", "DOCKER_HOST", "KUBECONFIG",
})
CODE_ENV_PREFIXES = ("GIT_CONFIG_", "LD_", "DYLD_", "BASH_FUNC_")
# These hold a command line that a program runs: it is judged like one.
CMD_ENV = frozenset({
    "GIT_SSH_COMMAND", "GIT_SSH", "GIT_PAGER", "PAGER", "MANPAGER", "GIT_EDITOR", "EDITOR",
    "VISUAL", "SUDO_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_EXTERNAL_DIFF", "GIT_ASKPASS",
    "SSH_ASKPASS", "SUDO_ASKPASS", "GIT_PROXY_COMMAND", "LESSOPEN", "LESSCLOSE", "BROWSER",
    "CC", "CXX", "CPP", "LD", "AR", "AS", "FC", "MAKE", "SHELL", "CONFIG_SHELL", "RSYNC_RSH",
    "CVS_RSH", "RUSTC", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "RUSTDOC",
    "CARGO_BUILD_RUSTC_WRAPPER", "npm_config_script_shell", "NPM_CONFIG_SCRIPT_SHELL", "TAR",
    "GZIP_PROG", "PKG_CONFIG", "CMAKE_C_COMPILER_LAUNCHER", "CCACHE_PREFIX", "DIFFTOOL",
    "MERGETOOL", "TERMINAL", "FCEDIT", "MAILER",
})
# Long options whose value is a file or folder the command writes.
OUTPUT_OPTIONS = frozenset({
    "--output", "--output-file", "--output-dir", "--output-directory", "--outdir",
    "--out-dir", "--outfile", "--out-file", "--out", "--log-file", "--logfile", "--basetemp",
    "--junitxml", "--junit-xml", "--target-dir", "--dump-header", "--cookie-jar", "--trace",
    "--trace-ascii", "--libcurl", "--output-document", "--directory-prefix", "--html",
    "--report-log", "--result-log", "--dest", "--destination", "--target", "--install-dir",
    "--save", "--save-to", "--cache-dir", "--build-dir", "--distpath", "--workpath",
    "--prefix-file", "--dump", "--export", "--to", "--output-path", "--o",
})
# Variables whose value is a credential: using one sends it to the command.
SECRET_VAR = re.compile(
    r"(?i)(api_?key|secret|token|passw(or)?d|passphrase|credential|private_?key|"
    r"auth(?!or)|session|cookie|_key$|^aws_|^gh_|^github_|^openai|^anthropic|^hf_|"
    r"^hugging|^azure_|^gcp_|^google_app|^npm_token|^docker_pass|^vault_)")

# Importing the modules registers their handlers.
from hrmcli.tools import (  # noqa: E402,F401
    shellarchive,
    shellbuild,
    shellfiles,
    shellgit,
    shellinterp,
    shellnet,
    shellwrap,
)


def _cd_target(j: Judge, c: Call, target: str | None, state: ShellState) -> None:
    if target is None:
        state.cwd = None
        return
    if not os.path.isabs(target) and state.vars.get("CDPATH") and not target.startswith("."):
        state.cwd = None  # CDPATH may pick another folder
        return
    real = j.paths.real(target, state.cwd)
    state.vars["OLDPWD"] = state.cwd
    state.cwd = real
    state.vars["PWD"] = real


@handles("cd", "chdir")
def _cd(j: Judge, c: Call) -> list[str] | None:
    opts = parse_opts(c.argv, 1, flags="LPe@")
    rest = c.argv[opts.rest:]
    if opts.dynamic or (rest and rest[0].text is None):
        _cd_target(j, c, None, c.state)
    elif not rest:
        _cd_target(j, c, c.state.home(), c.state)
    elif rest[0].text == "-":
        old = c.state.vars.get("OLDPWD")
        _cd_target(j, c, old if isinstance(old, str) else None, c.state)
    else:
        _cd_target(j, c, rest[0].text, c.state)
    return ["cd"]


@handles("pushd")
def _pushd(j: Judge, c: Call) -> list[str] | None:
    rest = [v for v in c.args if not (v.text or "").startswith(("-", "+"))]
    c.state.dirstack.append(c.state.cwd)
    if rest and rest[0].text is not None:
        _cd_target(j, c, rest[0].text, c.state)
    else:
        _cd_target(j, c, None, c.state)
    return ["cd"]


@handles("popd")
def _popd(j: Judge, c: Call) -> list[str] | None:
    c.state.cwd = c.state.dirstack.pop() if c.state.dirstack and not c.args else None
    return ["cd"]


_ASSIGN_ARG = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\+?=)(.*)$", re.S)


@handles("export", "declare", "typeset", "local", "readonly")
def _declare(j: Judge, c: Call) -> list[str] | None:
    """Assignments that stay in the shell (and reach the environment of later commands)."""
    names = 0
    for v in c.args:
        t = v.text
        if t is None:
            j.note(UNSURE, f"`{c.base}` sets a variable named only at run time")
            continue
        if t.startswith(("-", "+")):
            if "f" in t:
                j.note(UNSURE, f"`{c.base} {t}` exports shell functions")
            continue
        names += 1
        m = _ASSIGN_ARG.match(t)
        if m:
            j.assignment(m.group(1), m.group(3), v.raw, c.state)
            c.state.vars[m.group(1)] = m.group(3)
    if not names and c.base != "local":
        j.note(UNSURE, f"`{c.base}` without names prints variables, which can hold secrets")
    return ["export"]


@handles("unset")
def _unset(j: Judge, c: Call) -> list[str] | None:
    for v in c.args:
        if v.text and not v.text.startswith("-"):
            c.state.vars.pop(v.text, None)
            c.state.functions.pop(v.text, None)
    return ["unset"]


@handles("read", "mapfile", "readarray", "getopts")
def _read_vars(j: Judge, c: Call) -> list[str] | None:
    """Variables these set are only known at run time."""
    for v in c.args:
        if v.text and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v.text):
            c.state.vars[v.text] = None
    if c.base in ("mapfile", "readarray") and not c.args:
        c.state.vars["MAPFILE"] = None
    return ["read"]


@handles("eval")
def _eval(j: Judge, c: Call) -> list[str] | None:
    """eval runs text as code: judged when the text is known, and never answered by --yes."""
    j.note(UNSURE, "`eval` runs text as code")
    if all(v.text is not None for v in c.args):
        j.run_string(" ".join(v.text or "" for v in c.args), c.state, "eval", c.stdin)
    return None


@handles("source", ".")
def _source(j: Judge, c: Call) -> list[str] | None:
    """The file's commands run in this shell: judged from the file as it is now."""
    if not c.args:
        return ["source"]
    from hrmcli.tools.shellinterp import judge_script_file

    judge_script_file(j, c, c.args[0], c.args[1:], in_place=True)
    return None


@handles("alias")
def _alias(j: Judge, c: Call) -> list[str] | None:
    for v in c.args:
        t = v.text
        if t is None:
            j.note(UNSURE, "an alias only known at run time")
        elif "=" in t and not t.startswith("-"):
            name, _, value = t.partition("=")
            j.run_string(value, c.state.copy(), f"alias {name}")
    return ["alias"]


@handles("trap")
def _trap(j: Judge, c: Call) -> list[str] | None:
    args = [v for v in c.args if v.text not in ("--",)]
    if args and args[0].text not in ("-p", "-l", "-"):
        if args[0].text is None:
            j.note(UNSURE, "`trap` with code only known at run time")
        else:
            j.run_string(args[0].text, c.state.copy(), "trap")
    return ["trap"]


@handles("exec")
def _exec(j: Judge, c: Call) -> list[str] | None:
    opts = parse_opts(c.argv, 1, flags="cl", with_arg="a")
    if opts.dynamic:
        j.note(UNSURE, "`exec` with arguments only known at run time")
        return None
    if opts.rest >= len(c.argv):
        return ["true"]  # only redirections, already judged
    return j.inner(c, opts.rest, "exec")


@handles("command")
def _command(j: Judge, c: Call) -> list[str] | None:
    opts = parse_opts(c.argv, 1, flags="pvV")
    if opts.has("-v", "-V") or opts.rest >= len(c.argv):
        return ["type"]
    return j.inner(c, opts.rest, "command")


@handles("builtin")
def _builtin(j: Judge, c: Call) -> list[str] | None:
    return j.inner(c, 1, "builtin") if c.args else ["true"]


@handles("enable", "fc", "coproc", "hash")
def _changes_commands(j: Judge, c: Call) -> list[str] | None:
    if c.base == "hash" and not any((v.text or "-").startswith("-p") for v in c.args):
        return ["true"]
    j.note(UNSURE, f"`{c.base}` changes or replays which commands run")
    return None


@handles("set")
def _set(j: Judge, c: Call) -> list[str] | None:
    if not c.args:
        j.note(UNSURE, "`set` without arguments prints variables, which can hold secrets")
    texts = [v.text for v in c.args]
    if "--" in texts:
        rest = c.args[texts.index("--") + 1:]
        c.state.positional = None if any(v.text is None for v in rest) else [
            v.text or "" for v in rest]
    return ["true"]


@handles("shopt", "ulimit", "umask", "wait", "jobs", "true", "false", ":", "exit", "return",
         "break", "continue", "shift", "times", "caller", "type", "let", "disown", "suspend",
         "bg", "fg", "dirs", "help", "logout", "compgen", "complete", "compopt", "history")
def _harmless_builtin(j: Judge, c: Call) -> list[str] | None:
    if c.base == "shift" and c.state.positional:
        c.state.positional = c.state.positional[1:]
    return ["true"]


@handles("kill", "pkill", "killall", "skill", "slay")
def _kill(j: Judge, c: Call) -> list[str] | None:
    """`kill -9 -1` signals every process the user has (the agent's own session too)."""
    args = c.texts(1)
    i = 0
    if args and args[0] in ("-s", "-n"):
        i = 2
    elif args and args[0].startswith("-") and args[0] not in ("--", "-l", "-L"):
        i = 1
    if i < len(args) and args[i] == "--":
        i += 1
    if c.base == "kill" and any(p in ("-1", "1") for p in args[i:]):
        j.note(DENY, "`kill` aimed at every process (-1) or at init (1)")
    return c.texts()


@handles("env", "printenv")
def _env(j: Judge, c: Call) -> list[str] | None:
    from hrmcli.tools.shellwrap import unwrap_env

    return unwrap_env(j, c)
