"""Build and search tools for the judge: cmake -E, compilers' -o, grep/rg, go, cargo, npm.

These are the agent's everyday commands, so they stay allowed; what is checked is the part
that reaches outside the repository: `cmake -E rm -rf /home`, `gcc -o /usr/local/bin/x`,
`grep -r token ~/.config`, `go test -exec 'sh -c ...'`, `cargo --config` runners,
`npm config set` (the user's ~/.npmrc).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hrmcli.tools.shellcall import ASK, UNSURE, Call, handles, parse_opts
from hrmcli.tools.shellwords import Value

if TYPE_CHECKING:
    from hrmcli.tools.shelljudge import Judge

F = frozenset
_CMAKE_REMOVE = F({"rm", "remove", "remove_directory"})
_CMAKE_CREATE = F({"make_directory", "touch", "touch_nocreate"})
_CMAKE_COPY = F({"copy", "copy_directory", "copy_if_different", "copy_directory_if_different",
                 "create_symlink", "create_hardlink", "rename"})
_CMAKE_READ = F({"echo", "echo_append", "cat", "compare_files", "md5sum", "sha1sum",
                 "sha224sum", "sha256sum", "sha384sum", "sha512sum", "capabilities", "sleep",
                 "true", "false", "delete_regv", "write_regv", "server", "tar"})


@handles("cmake")
def _cmake(j: Judge, c: Call) -> list[str] | None:
    """`cmake -E TOOL ARGS` is a portable coreutils: judged like the tool it stands for;
    `-B`/`--build`/`--install` folders must be in the repository; `-P` runs a script."""
    texts = [v.text for v in c.args]
    if texts[:1] == ["-E"]:
        return _cmake_tool(j, c, c.args[1:])
    for k, t in enumerate(texts):
        nxt = c.args[k + 1] if k + 1 < len(c.args) else None
        if t in ("-B", "--build", "--install", "--prefix") and nxt is not None:
            j.write(nxt, c.state, f"`cmake {t}`", None)
        elif t is not None and t.startswith("-B") and len(t) > 2:
            j.write(Value(t[2:], t[2:]), c.state, "`cmake -B`", None)
        elif t in ("-P",):
            j.note(ASK, "`cmake -P` runs a cmake script")
        elif t in ("-C", "--preset") and nxt is not None:
            j.read(nxt, c.state, f"`cmake {t}`", must_know=False)
    if "--install" in texts and "--prefix" not in texts:
        j.note(UNSURE, "`cmake --install` without --prefix installs where the cache says")
    return ["cmake"]


def _cmake_tool(j: Judge, c: Call, args: list[Value]) -> list[str] | None:
    if not args or args[0].text is None:
        j.note(UNSURE, "`cmake -E` with a tool only known at run time")
        return None
    tool, ops = args[0].text, [v for v in args[1:] if not (v.text or "").startswith("-")]
    label = f"`cmake -E {tool}`"
    if tool in _CMAKE_REMOVE:
        for v in ops:
            j.write(v, c.state, label, c.edits, remove=True)
        return ["rm"]
    if tool in _CMAKE_CREATE:
        for v in ops:
            j.write(v, c.state, label, c.edits)
        return ["touch"]
    if tool in _CMAKE_COPY:
        if ops:
            j.write(ops[-1], c.state, label, c.edits)
        for v in ops[:-1]:
            j.read(v, c.state, label, recursive=True)
            if tool == "rename":
                j.write(v, c.state, label, c.edits, remove=True)
            if tool.startswith("create_"):
                from hrmcli.tools.shellfiles import _link_target

                _link_target(j, c, v, ops[-1] if ops else None, tool == "create_symlink")
        return ["cp"]
    if tool in ("env", "chdir", "time"):
        state = c.state.copy()
        rest = list(args[1:])
        if tool == "chdir" and rest:
            d = rest.pop(0)
            state.cwd = j.paths.real(d.text, state.cwd) if d.text is not None else None
        while tool == "env" and rest and (rest[0].text or "").startswith("-"):
            rest.pop(0)
        while tool == "env" and rest and rest[0].text and "=" in rest[0].text:
            name, _, value = rest.pop(0).text.partition("=")  # type: ignore[union-attr]
            j.assignment(name, value, name, state)
        if rest:
            with j.inside(f"cmake -E {tool}"):
                j.run_argv(rest, state, None)
        return None
    if tool == "environment":
        j.note(UNSURE, "`cmake -E environment` prints the environment, which can hold secrets")
        return ["env"]
    if tool == "tar" and ops:
        mode = ops[0].text or ""
        if "c" in mode and len(ops) > 1:
            j.write(ops[1], c.state, label, c.edits)
        elif "x" in mode:
            j.write(Value(".", "."), c.state, label, c.edits)
        return ["tar"]
    if tool in _CMAKE_READ:
        for v in ops:
            j.read(v, c.state, label, must_know=False)
        return ["cat"]
    return ["cmake", "-E", tool]


_COMPILERS = ("gcc", "g++", "cc", "c++", "clang", "clang++", "ld", "ld.lld", "ld.gold", "as",
              "nasm", "yasm", "gfortran", "rustc", "tcc", "zig", "javac", "tsc", "esbuild",
              "swiftc", "ghc", "nim", "pandoc", "objcopy", "strip", "ocamlc", "ocamlopt",
              "emcc", "icc", "icx", "cython", "nvcc")


@handles(*_COMPILERS, pattern=r"(gcc|g\+\+|clang|clang\+\+|cc)-\d+(\.\d+)*")
def _compiler(j: Judge, c: Call) -> list[str] | None:
    """Compilers write their output (-o FILE, -d DIR, --outDir): it must stay inside the
    repository. `-B DIR` and `-wrapper` pick the programs the compiler runs."""
    args = c.args
    for k, v in enumerate(args):
        t = v.text
        if t is None:
            continue
        nxt = args[k + 1] if k + 1 < len(args) else None
        if t in ("-o", "--out-dir", "--outDir", "--outFile", "--outdir", "--outfile") or (
                t == "-d" and c.base == "javac"):
            if nxt is not None:
                j.write(nxt, c.state, f"`{c.base} {t}`", None)
        elif t.startswith("-o") and len(t) > 2 and c.base not in ("tsc", "pandoc"):
            j.write(Value(t[2:], t[2:]), c.state, f"`{c.base} -o`", None)
        elif t.startswith(("-B", "-wrapper", "-fplugin=", "-specs=", "--specs=", "-Xclang")):
            j.note(UNSURE, f"`{c.base} {t}` changes which programs or plugins the compiler runs")
    return [c.base.split("-")[0] if "-" in c.base else c.base]


_GREP_ARG = "efmABCdDX"
_GREP_LONG = F({"--regexp", "--file", "--max-count", "--after-context", "--before-context",
                "--context", "--directories", "--devices", "--include", "--exclude",
                "--exclude-dir", "--exclude-from", "--label", "--binary-files", "--color",
                "--colour", "--group-separator"})
_RG_ARG = "efgtTmABCjMdrEM"
_RG_LONG = F({"--regexp", "--file", "--glob", "--iglob", "--type", "--type-not", "--max-count",
              "--after-context", "--before-context", "--context", "--threads", "--max-columns",
              "--max-depth", "--replace", "--encoding", "--pre", "--pre-glob", "--type-add",
              "--ignore-file", "--engine", "--sort", "--sortr", "--path-separator",
              "--context-separator", "--field-match-separator", "--colors", "--max-filesize",
              "--dfa-size-limit", "--regex-size-limit", "--color", "--hostname-bin"})


@handles("grep", "egrep", "fgrep", "rg", "ag", "ack", "ugrep", "ripgrep", "git-grep", "zgrep")
def _grep(j: Judge, c: Call) -> list[str] | None:
    """Search tools: the pattern, then files or folders. Recursive searches (grep -r, rg,
    ag, ack) of a folder that holds secrets (~, ~/.config, /) ask."""
    rg_like = c.base in ("rg", "ripgrep", "ag", "ack", "ugrep")
    opts = parse_opts(c.argv, 1, "", _RG_ARG if rg_like else _GREP_ARG,
                      long_with_arg=_RG_LONG if rg_like else _GREP_LONG, any_option=True,
                      stop_at_operand=False)
    for v in opts.values("--pre", "--hostname-bin"):
        if v.text is None:
            j.note(UNSURE, f"`{c.base} --pre` with a program only known at run time")
        else:
            with j.inside(f"{c.base} --pre"):
                j.run_argv([v], c.state.copy(), None)
    recursive = rg_like or opts.has("-r", "-R", "--recursive", "--dereference-recursive") or \
        any((v.text or "") == "recurse" for v in opts.values("-d", "--directories"))
    c.recursive = recursive
    ops = opts.operands
    if not (opts.values("-e", "--regexp", "-f", "--file") or opts.has("--files")):
        ops = ops[1:]  # the pattern
    for v in opts.values("-f", "--file"):
        j.read(v, c.state, f"`{c.base} -f`")
    for v in ops:
        j.read(v, c.state, f"`{c.base}`", recursive=recursive)
    return ["grep"]


@handles("go")
def _go(j: Judge, c: Call) -> list[str] | None:
    """`go test -exec PROG` and `go build -toolexec PROG` run PROG; -o writes; `go env -w`
    changes the user's go config."""
    texts = [v.text for v in c.args]
    sub = texts[0] if texts else None
    if sub == "env" and any(t in ("-w", "-u") for t in texts):
        j.note(UNSURE, "`go env -w` changes the user's go settings (flags for every build)")
    for k, v in enumerate(c.args):
        t = v.text or ""
        name, eq, val = t.partition("=")
        if name in ("-exec", "-toolexec", "--exec", "--toolexec"):
            prog = val if eq else (texts[k + 1] if k + 1 < len(texts) else None)
            if prog is None:
                j.note(UNSURE, f"`go {name}` with a program only known at run time")
            else:
                j.run_string(prog, c.state.copy(), f"go {name}")
        if name in ("-o", "-coverprofile", "-cpuprofile", "-memprofile", "-trace",
                    "-outputdir", "-blockprofile", "-mutexprofile", "-json-file"):
            out = val if eq else (texts[k + 1] if k + 1 < len(texts) else None)
            j.write(Value(out, out or ""), c.state, f"`go {name}`", None)
    return c.texts()


@handles("cargo")
def _cargo(j: Judge, c: Call) -> list[str] | None:
    texts = [v.text or "" for v in c.args]
    for k, t in enumerate(texts):
        name, eq, val = t.partition("=")
        if name == "--config":
            cfg = val if eq else (texts[k + 1] if k + 1 < len(texts) else "")
            if any(w in cfg for w in ("runner", "wrapper", "linker", "rustc", "rustdoc",
                                      "credential", "alias", "env", "target-dir", "ar")):
                j.note(UNSURE, "`cargo --config` names programs cargo runs")
            elif cfg and "=" not in cfg:
                j.read(Value(cfg, cfg), c.state, "`cargo --config`")
                j.note(ASK, "`cargo --config FILE` reads settings that can name programs")
        if name in ("--target-dir", "--out-dir", "--artifact-dir", "--root") and not eq and \
                k + 1 < len(texts):
            j.write(c.args[k + 1], c.state, f"`cargo {name}`", None)
        if name in ("-Z",) and "unstable" not in t:
            continue
    return c.texts()


@handles("npm", "pnpm", "yarn", "pip", "pip3", "uv", "poetry", "gem", "bundle", "composer")
def _package(j: Judge, c: Call) -> list[str] | None:
    """Package managers ask (their category); changing their user-wide configuration, which
    can name scripts and registries, cannot be judged."""
    texts = [v.text or "" for v in c.args]
    words = [t for t in texts if not t.startswith("-")]
    if words[:1] == ["config"] and len(words) > 1 and words[1] in ("set", "unset", "delete",
                                                                  "edit", "add"):
        if not any(t in ("--location=project", "--project", "--site", "--local") for t in texts):
            j.note(UNSURE, f"`{c.base} config {words[1]}` changes settings for every project")
    for k, t in enumerate(texts):
        if t in ("--prefix", "--target", "-t", "--root", "--global-folder", "--cache-dir",
                 "--cache", "--modules-folder", "--store-dir") and k + 1 < len(texts):
            j.write(c.args[k + 1], c.state, f"`{c.base} {t}`", None)
    return c.texts()


@handles("pytest", "py.test")
def _pytest(j: Judge, c: Call) -> list[str] | None:
    """pytest writes --basetemp (and deletes what is there first), --junitxml, and -o ini
    values such as cache_dir."""
    texts = [v.text or "" for v in c.args]
    for k, t in enumerate(texts):
        if t in ("--basetemp", "--junitxml", "--junit-xml", "--result-log", "--report-log",
                 "--html", "--json-report-file") and k + 1 < len(texts):
            j.write(c.args[k + 1], c.state, f"`pytest {t}`", None, remove=True)
        if t == "-o" and k + 1 < len(texts) and "cache_dir=" in texts[k + 1]:
            d = texts[k + 1].split("=", 1)[1]
            j.write(Value(d, d), c.state, "`pytest -o cache_dir`", None)
    return ["pytest", *texts]


@handles("venv", "virtualenv")
def _venv(j: Judge, c: Call) -> list[str] | None:
    """`python -m venv DIR` / `virtualenv DIR` create DIR."""
    for v in c.args:
        if not (v.text or "").startswith("-"):
            j.write(v, c.state, f"`{c.base}`", None)
    return ["virtualenv"]


# (command, words that make it print or hand out a credential)
_CREDENTIAL_TOOLS: dict[str, tuple[tuple[str, ...], ...]] = {
    "security": (("find-generic-password",), ("find-internet-password",), ("dump-keychain",),
                 ("export",)),
    "secret-tool": (("lookup",), ("search",)),
    "pass": ((),), "gopass": ((),), "lpass": ((),), "bw": (("get",), ("export",)),
    "op": (("read",), ("item",), ("inject",), ("run",)), "keyctl": (("print",), ("read",),
                                                                   ("pipe",)),
    "gh": (("auth", "token"), ("auth", "status", "-t"), ("auth", "status", "--show-token")),
    "gcloud": (("auth", "print-access-token"), ("auth", "print-identity-token"),
               ("auth", "application-default", "print-access-token"),
               ("secrets", "versions", "access")),
    "aws": (("configure", "get"), ("configure", "export-credentials"),
            ("sts", "get-session-token"), ("ecr", "get-login-password"),
            ("secretsmanager", "get-secret-value"), ("ssm", "get-parameter"),
            ("ssm", "get-parameters")),
    "az": (("account", "get-access-token"), ("keyvault", "secret", "show")),
    "kubectl": (("config", "view"), ("get", "secret"), ("get", "secrets"),
                ("create", "token")),
    "vault": (("read",), ("kv", "get"), ("token", "create"), ("print", "token")),
    "heroku": (("auth:token",),), "npm": (("token",),), "doctl": (("auth",),),
    "gpg": (("--decrypt",), ("-d",), ("--export-secret-keys",), ("--export-secret-subkeys",)),
    "gpg2": (("--decrypt",), ("-d",), ("--export-secret-keys",)),
    "ssh-keygen": (("-y",),), "ssh-add": (("-L",),),
}


def _credential_tool(j: Judge, c: Call) -> list[str] | None:
    words = [v.text or "" for v in c.args]
    for pattern in _CREDENTIAL_TOOLS.get(c.base, ()):
        if all(p in words for p in pattern):
            j.note(UNSURE, f"`{c.base} {' '.join(pattern)}` hands out a stored credential")
            break
    if c.base.startswith(("docker-credential-", "git-credential-")) and "get" in words:
        j.note(UNSURE, f"`{c.base} get` hands out a stored credential")
    if c.base == "npm":
        return _package(j, c)
    return c.texts()


for _tool in _CREDENTIAL_TOOLS:
    handles(_tool)(_credential_tool)
handles(pattern=r"(docker|git)-credential-[\w.-]+")(_credential_tool)


# Runners that start a command inside an environment: name -> (subcommands that run one,
# short options with an argument, long options with an argument, options whose value is a
# shell command line, whether the runner fetches and runs a package: then it also asks).
_RUNNERS: dict[str, tuple[tuple[str, ...], str, frozenset[str], frozenset[str], bool]] = {
    "uv": (("run", "tool"), "pw", F({"--with", "--with-requirements", "--python", "--package",
                                     "--env-file", "--directory", "--project", "--extra",
                                     "--group", "--index", "--from", "--only-group"}),
           F(), False),
    "uvx": ((), "p", F({"--with", "--python", "--from", "--index"}), F(), True),
    "poetry": (("run",), "CP", F({"--directory", "--project"}), F(), False),
    "pipenv": (("run",), "", F(), F(), False),
    "pdm": (("run",), "p", F({"--project"}), F(), False),
    "hatch": (("run",), "e", F({"--env"}), F(), False),
    "rye": (("run",), "", F(), F(), False),
    "conda": (("run",), "np", F({"--name", "--prefix", "--cwd"}), F(), False),
    "mamba": (("run",), "np", F({"--name", "--prefix", "--cwd"}), F(), False),
    "micromamba": (("run",), "np", F({"--name", "--prefix", "--cwd"}), F(), False),
    "bundle": (("exec",), "", F({"--gemfile"}), F(), False),
    "npx": ((), "pc", F({"--package", "--call"}), F({"-c", "--call"}), True),
    "bunx": ((), "p", F({"--package"}), F(), True),
    "pnpx": ((), "p", F({"--package"}), F(), True),
    "pipx": (("run",), "", F({"--spec", "--python", "--index-url", "--pip-args"}), F(), True),
    "direnv": (("exec",), "", F(), F(), False),
    "nix": (("develop", "shell"), "c", F({"--command", "--expr", "--file"}),
            F({"-c", "--command"}), True),
    "nix-shell": ((), "pIE", F({"--run", "--command", "--packages", "--expr"}),
                  F({"--run", "--command"}), True),
}


def _runner(j: Judge, c: Call) -> list[str] | None:
    """`uv run CMD`, `npx CMD`, `conda run -n ENV CMD`, `nix develop -c CMD`: the inner
    command is judged; runners that fetch packages also ask; `npm exec -c STRING` and
    `nix-shell --run STRING` are judged as shell text."""
    name = c.kind or c.base
    subs, short_arg, long_arg, cmd_opts, fetches = _RUNNERS[name]
    start = 1
    if subs:
        words = [v.text for v in c.args]
        first = next((k for k, w in enumerate(words) if w is None or not w.startswith("-")),
                     None)
        if first is None or words[first] not in subs:
            return c.texts() if name not in ("npm", "pnpm", "yarn") else _package(j, c)
        start = first + 2
    opts = parse_opts(c.argv, start, "", short_arg, long_with_arg=long_arg, any_option=True)
    if opts.dynamic:
        j.note(UNSURE, f"`{c.base}` with options only known at run time")
        return None
    for v in [v for o, v in opts.found if o in cmd_opts or o.lstrip("-") in
              {x.lstrip("-") for x in cmd_opts}]:
        if v is None or v.text is None:
            j.note(UNSURE, f"`{c.base}` runs a command only known at run time")
        else:
            j.run_string(v.text, c.state.copy(), f"{c.base} -c")
    if fetches:
        j.note(ASK, f"`{c.base}` fetches and runs a package")
    if name == "direnv" and opts.rest < len(c.argv):
        opts.rest += 1  # direnv exec DIR CMD
    if opts.rest < len(c.argv):
        return j.inner(c, opts.rest, f"{c.base} run")
    return None if fetches or opts.found else c.texts()


for _name in _RUNNERS:
    handles(_name)(_runner)


@handles("npm", "pnpm", "yarn")
def _node_runner(j: Judge, c: Call) -> list[str] | None:
    """`npm exec`/`npm x`/`pnpm dlx|exec`/`yarn dlx|exec` run a command (and `-c STRING`);
    everything else is the package manager."""
    words = [v.text for v in c.args if not (v.text or "").startswith("-")]
    if words[:1] and words[0] in ("exec", "x", "dlx"):
        sub = c.args.index(next(v for v in c.args if v.text == words[0]))
        texts = [v.text or "" for v in c.args]
        for k, t in enumerate(texts):
            if t in ("-c", "--call") and k + 1 < len(c.args):
                val = c.args[k + 1].text
                if val is None:
                    j.note(UNSURE, f"`{c.base} exec -c` with a command only known at run time")
                else:
                    j.run_string(val, c.state.copy(), f"{c.base} exec -c")
        j.note(ASK, f"`{c.base} {words[0]}` fetches and runs a package")
        opts = parse_opts(c.argv, sub + 2, "", "pcw", long_with_arg=F(
            {"--package", "--call", "--workspace"}), any_option=True)
        if opts.rest < len(c.argv):
            return j.inner(c, opts.rest, f"{c.base} {words[0]}")
        return None
    return _credential_tool(j, c) if c.base == "npm" else _package(j, c)
