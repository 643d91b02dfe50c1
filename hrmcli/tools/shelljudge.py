"""Judge a shell command line: every simple command it will run, every file it touches.

The policy (hrmcli.tools.permissions) hands a command line here. It is parsed
(hrmcli.tools.shellparse) and walked: lists, pipelines, subshells, groups, loops,
functions, and the programs inside `$(...)`, backticks, process substitutions and
here-documents. Each simple command is expanded as the shell would (hrmcli.tools.shellwords),
then judged by its name: the user's rules and the default deny list, a handler that knows
what the command does (hrmcli.tools.shellcmds and friends: wrappers are unwrapped and the
inner command judged, written files are resolved), and finally its category.

The result is the strictest finding. What cannot be parsed or known before running (a
variable in command position, inline interpreter code, `eval`) is UNSURE: asked, and denied
under --yes, because --yes only answers questions the policy could judge.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from hrmcli.tools import shellcmds as _shellcmds  # noqa: F401  (registers the handlers)
from hrmcli.tools.shellcall import (
    ALLOW,
    ASK,
    DENY,
    LEVEL_NAMES,
    UNSURE,
    Call,
    Stdin,
    command_base,
    handler_for,
)
from hrmcli.tools.shellflow import (
    FETCH_RE,
    all_items,
    all_pipelines,
    known_output,
    listed_under,
    raw_words,
    runs_code,
)
from hrmcli.tools.shellparse import (
    Arith,
    CmdSub,
    Compound,
    Param,
    ParseError,
    Pipeline,
    ProcSub,
    Program,
    Redirect,
    Simple,
    Word,
    parse,
    scan_substitutions,
    walk_commands,
)
from hrmcli.tools.shellpaths import PathContext
from hrmcli.tools.shellwords import ShellState, Value, expand, expand_text

if TYPE_CHECKING:
    from hrmcli.tools.permissions import Policy

__all__ = ["ALLOW", "ASK", "DENY", "UNSURE", "Judge"]

MAX_DEPTH = 24          # nested shells, scripts, substitutions
MAX_PARSED_CHARS = 200_000  # all text parsed for one judgement (eval eval eval ...)
MAX_COMMANDS = 4_000        # simple commands judged for one judgement


class Judge:
    """One judgement: walk a command, collect findings, keep the strictest."""

    def __init__(self, policy: Policy, root: str, here: str) -> None:
        self.policy = policy
        self.paths = PathContext(root)
        self.root = self.paths.root
        self.here = here
        self.level = -1
        self.reason = ""
        self.labels: list[str] = []
        self.depth = 0
        self.cap = 0             # > 0 while judging a script file: UNSURE counts as ASK
        self.written: set[str] = set()  # real paths this command line writes
        self.parsed_chars = 0
        self.commands = 0

    # ---------------------------------------------------------------- findings

    def note(self, level: int, reason: str) -> None:
        """Record a finding; the first one at the strictest level gives the reason."""
        if self.cap and level == UNSURE:
            level = ASK  # a script file is like `python FILE`: running it is only asked
        if level > self.level:
            where = f" (inside {', inside '.join(reversed(self.labels))})" if self.labels else ""
            self.level, self.reason = level, reason + where

    @contextlib.contextmanager
    def inside(self, label: str) -> Iterator[None]:
        """Findings made in the block are reported as being inside `label`."""
        self.labels.append(label)
        self.depth += 1
        try:
            yield
        finally:
            self.labels.pop()
            self.depth -= 1

    @contextlib.contextmanager
    def capped(self) -> Iterator[None]:
        """Inside a script file that is run: what cannot be judged there asks."""
        self.cap += 1
        try:
            yield
        finally:
            self.cap -= 1

    def verdict(self, assume_yes: bool) -> tuple[str, str, bool]:
        """(decision, reason, unjudged) after --yes has answered what it may answer."""
        level = max(self.level, ALLOW)
        reason = self.reason or "nothing to run"
        if level == UNSURE and assume_yes:
            return "deny", f"{reason}; --yes does not answer this", True
        if level == ASK and assume_yes:
            return "allow", f"{reason}; allowed by --yes", False
        return LEVEL_NAMES[level], reason, level == UNSURE

    @property
    def edit_level(self) -> int:
        return {"allow": ALLOW, "ask": ASK, "deny": DENY}[self.policy.categories["edit"]]

    # ---------------------------------------------------------------- entry points

    def judge_string(self, text: str) -> None:
        self.run_string(text, ShellState.initial(self.here), None)

    def judge_argv(self, argv: list[str]) -> None:
        """A command executed directly: no shell, so no expansion at all."""
        if not argv:
            self.note(ASK, "an empty command")
            return
        self.run_argv([Value.literal(a) for a in argv], ShellState.initial(self.here))

    def run_string(self, text: str, state: ShellState, label: str | None,
                   stdin: Stdin | None = None) -> None:
        """Parse and judge a shell script (a command line, `bash -c` text, a script file)."""
        if self.depth >= MAX_DEPTH:
            self.note(UNSURE, "commands nested too deeply to judge")
            return
        self.parsed_chars += len(text)
        if self.parsed_chars > MAX_PARSED_CHARS:
            self.note(UNSURE, "too much command text to judge")
            return
        try:
            prog = parse(text)
        except ParseError as e:
            shown = text if len(text) <= 60 else text[:57] + "..."
            self.note(UNSURE, f"cannot parse {shown!r}: {e}")
            return
        if label is None:
            self.program(prog, state, stdin)
            return
        with self.inside(label):
            self.program(prog, state, stdin)

    # ---------------------------------------------------------------- the tree

    def program(self, prog: Program, state: ShellState, stdin: Stdin | None = None) -> None:
        for and_or, sep in prog.items:
            here = state.copy() if sep == "&" else state
            for pipeline in and_or.pipelines:
                self.pipeline(pipeline, here, stdin)

    def pipeline(self, pl: Pipeline, state: ShellState, stdin: Stdin | None) -> None:
        if len(pl.commands) == 1:
            self.command(pl.commands[0], state, stdin)
            return
        fetched = bool(stdin and stdin.fetch)
        for i, cmd in enumerate(pl.commands):
            feed = stdin if i == 0 else self.pipe_stdin(pl.commands[i - 1], state)
            if feed is not None and fetched:  # `curl ... | tee f | sh` still runs a download
                feed.fetch = True
            fetched = fetched or bool(feed and feed.fetch)
            self.command(cmd, state.copy(), feed)

    def command(self, cmd: Simple | Compound, state: ShellState, stdin: Stdin | None) -> None:
        if isinstance(cmd, Simple):
            self.simple(cmd, state, stdin)
            return
        for r in cmd.redirects:
            self.subs_in_redirect(r, state)
            got = self.redirect(r, state, None)
            stdin = got or stdin
        kind = cmd.kind
        if kind == "subshell":
            self.program(cmd.bodies[0], state.copy(), stdin)
        elif kind == "function":
            self.define_function(cmd, state)
        elif kind in ("for", "select"):
            self.for_loop(cmd, state, stdin)
        elif kind == "arith":
            for sub in scan_substitutions(cmd.text):
                self.program(sub.program, state.copy())
        else:  # group, if, while, until, case, cond
            for w in cmd.words:
                self.subs(w, state)
            if kind in ("while", "until") and any(
                    sep == "&" for body in cmd.bodies for _, sep in body.items):
                self.note(UNSURE, f"a {kind} loop that starts background jobs")
            for body in cmd.bodies:
                self.program(body, state, stdin)

    def for_loop(self, cmd: Compound, state: ShellState, stdin: Stdin | None) -> None:
        values: list[Value] = []
        for w in cmd.words:
            self.subs(w, state)
            values.extend(expand(w, state))
        known: list[str] = []
        for v in values:
            if v.text is None:
                break
            if v.glob:  # the names it matches now, `..` where it can match that, or itself
                matches = self.paths.candidates(v.text, state.cwd) or [v.text]
                known.extend(matches if len(matches) <= 16 else [v.text])
            else:
                known.append(v.text)
        else:
            values = [Value(k, k) for k in known]
        if len(known) == len(values) and 0 < len(known) <= 24:
            for text in known:
                state.vars[cmd.name] = text
                self.program(cmd.bodies[0], state, stdin)
            return
        state.vars[cmd.name] = None
        self.program(cmd.bodies[0], state, stdin)

    def define_function(self, cmd: Compound, state: ShellState) -> None:
        """Judge a function's body where it is defined; calling it later adds nothing."""
        name = cmd.name
        state.functions[name] = cmd
        body = cmd.bodies[0]
        calls_itself = background = False
        for inner in walk_commands(body):
            if isinstance(inner, Simple) and inner.words and inner.words[0].static == name:
                calls_itself = True
        for _ao, sep in all_items(body):
            background |= sep == "&"
        piped = any(len(pl.commands) > 1 for pl in all_pipelines(body))
        if calls_itself and (background or piped):
            self.note(DENY, f"function {name} calls itself in the background or a pipe "
                            "(a fork bomb)")
        elif calls_itself:
            self.note(UNSURE, f"function {name} calls itself")
        inner_state = state.copy()
        inner_state.positional = None
        with self.inside(f"function {name}"):
            self.program(body, inner_state)

    # ---------------------------------------------------------------- simple commands

    def simple(self, cmd: Simple, state: ShellState, stdin: Stdin | None) -> None:
        for w in cmd.words:
            self.subs(w, state)
        for a in cmd.assigns:
            for w in ([a.value] if a.value is not None else []) + (a.array or []):
                self.subs(w, state)
        for r in cmd.redirects:
            self.subs_in_redirect(r, state)
        argv = [v for w in cmd.words for v in expand(w, state)]
        if cmd.words and any(isinstance(p, (Param, CmdSub, Arith)) for p in cmd.words[0].parts):
            self.note(UNSURE, f"the command name {cmd.words[0].raw!r} comes from a variable or "
                              "substitution")
        if argv and argv[0].text is not None and runs_code(command_base(argv[0].text)):
            for w in cmd.words[1:]:
                for part in w.parts:
                    if isinstance(part, (CmdSub, ProcSub)) and FETCH_RE.search(
                            " ".join(r for c in walk_commands(part.program)
                                     for r in raw_words(c))):
                        self.note(DENY, f"`{argv[0].text}` runs downloaded code ({w.raw[:40]})")
        run_state = state.copy() if argv and cmd.assigns else state
        for a in cmd.assigns:
            text = expand_text(a.value, state) if a.value is not None else None
            if a.append and text is not None:
                old = state.vars.get(a.name, "")
                text = None if old is None else old + text
            raw = a.value.raw if a.value is not None else "(...)"
            self.assignment(a.name.rstrip("[]"), text, raw, state)
            run_state.vars[a.name.rstrip("[]")] = text
        call_edits: list[str] = []
        for r in cmd.redirects:
            got = self.redirect(r, state, call_edits)
            stdin = got or stdin
        if not argv:
            if call_edits:
                self.note(self.edit_level, f"writes {call_edits[0]}")
            elif not cmd.assigns and cmd.words:
                self.note(ALLOW, "expands to nothing")
            return
        self.run_argv(argv, run_state, stdin, call_edits)

    def subs(self, word: Word | None, state: ShellState) -> None:
        """Judge the programs a word runs while it is expanded: $(...), `...`, <(...)."""
        if word is None:
            return
        if "${!" in word.raw:
            self.note(UNSURE, f"indirect expansion {word.raw!r} can read any variable")
        for part in word.parts:
            if isinstance(part, (CmdSub, ProcSub)):
                kind = "process substitution" if isinstance(part, ProcSub) else "$(...)"
                with self.inside(kind):
                    self.program(part.program, state.copy())
            elif isinstance(part, Arith):
                for sub in part.subs:
                    with self.inside("$((...))"):
                        self.program(sub.program, state.copy())
            elif isinstance(part, Param):
                from hrmcli.tools.shellcmds import SECRET_VAR

                if SECRET_VAR.search(part.name):
                    self.note(UNSURE, f"uses ${part.name}, which looks like a secret")
                for sub in part.subs:
                    with self.inside("${...[...]}"):
                        self.program(sub.program, state.copy())
                if part.arg is not None:
                    self.subs(part.arg, state)

    def subs_in_redirect(self, r: Redirect, state: ShellState) -> None:
        self.subs(r.target, state)
        self.subs(r.heredoc, state)

    def redirect(self, r: Redirect, state: ShellState, edits: list[str] | None) -> Stdin | None:
        """Check one redirection; returns what it feeds to standard input, if anything."""
        op = r.op
        if op in ("<<", "<<-"):
            return Stdin("text", expand_text(r.heredoc, state) if r.heredoc else "")
        if r.target is None:
            return None
        target = expand(r.target, state, split=False)[0]
        if op == "<<<":
            return Stdin("text", None if target.text is None else target.text + "\n")
        if op in ("<&", ">&") and target.text is not None and (
                target.text.isdigit() or target.text == "-"):
            return None  # duplicates or closes a descriptor
        what = f"the redirection `{op} {target.raw or target.shown}`"
        if op in ("<", "<>", "<&"):
            self.read(target, state, what, must_know=True)
            if op != "<>":
                return Stdin("file", path=target)
        got: list[str] = []
        self.write(target, state, what, got)
        if got:
            if edits is None:
                self.note(self.edit_level, f"writes {got[0]}")
            else:
                edits.extend(got)
        return None

    def pipe_stdin(self, producer: Simple | Compound, state: ShellState) -> Stdin:
        """What a pipe carries: downloaded data, known text (echo/printf/cat), or unknown."""
        raws = " ".join(raw_words(producer))
        fetch = bool(FETCH_RE.search(raws))
        text = under = None
        if isinstance(producer, Simple) and producer.words:
            argv = [v for w in producer.words for v in expand(w, state)]
            if not producer.redirects:
                text = known_output(argv, self.paths, state)
            elif len(argv) == 1 and argv[0].text == "cat" and len(producer.redirects) == 1:
                fed = self.redirect(producer.redirects[0], state, [])  # cat <<EOF | sh
                text = fed.text if fed is not None and fed.kind == "text" else None
            under = listed_under(argv, self.paths, state)
        return Stdin("pipe", text, fetch=fetch, under=under)

    def assignment(self, name: str, text: str | None, raw: str, state: ShellState) -> None:
        """Variables that decide which program runs or what it loads."""
        from hrmcli.tools.shellcmds import CMD_ENV, CODE_ENV, CODE_ENV_PREFIXES

        if name in CODE_ENV or name.startswith(CODE_ENV_PREFIXES):
            self.note(UNSURE, f"setting {name} changes which code runs")
        elif name in CMD_ENV:
            if text is None:
                self.note(UNSURE, f"{name} names a program that is only known at run time")
            elif text.strip():
                self.run_string(text, state.copy(), f"${name}")

    # ---------------------------------------------------------------- one command

    def run_argv(self, argv: list[Value], state: ShellState, stdin: Stdin | None = None,
                 edits: list[str] | None = None) -> None:
        """Judge one command about to be executed with these (expanded) arguments."""
        self.commands += 1
        if self.depth >= MAX_DEPTH or self.commands > MAX_COMMANDS:
            self.note(UNSURE, "commands nested too deeply or too many to judge")
            return
        first = argv[0]
        if first.text is None:
            self.note(UNSURE, f"the command name {first.raw!r} is only known at run time")
            return
        if first.glob:
            self.note(UNSURE, f"the command name {first.text!r} is a file-name pattern")
        name = first.text
        if "/" not in name and name in state.functions:
            self.note(ALLOW, f"calls the function {name} judged above")
            return
        if "/" in name:
            real = self.paths.real(name, state.cwd)
            if real is None or real in self.written:
                self.note(UNSURE, f"runs {name}, which this command line writes first")
        call = Call(argv, state, stdin, list(edits or []))
        base = call.base
        texts = call.texts()
        rule = self.policy._rule_level(texts)
        raw_rule = self.policy._rule_level([v.raw or v.shown for v in argv])
        for found in (rule, raw_rule):
            if found is not None and found[0] == DENY:
                self.note(DENY, found[1])
                return
        found = handler_for(base)
        if found is not None:
            call.kind = found[0]
        own = found[1](self, call) if found is not None else texts
        self.generic_args(call)
        if own is None:  # a wrapper: the inner command was judged
            if rule is not None and rule[0] >= ASK:
                self.note(rule[0], f"`{base}` {rule[1]}")
            return
        if rule is not None:
            self.note(rule[0], f"`{base}` {rule[1]}")
            return
        level, category = self.policy._category_level(own)
        self.note(level, f"`{base}` is in the {category} category ({LEVEL_NAMES[level]})")
        if call.edits and level < self.edit_level:
            self.note(self.edit_level, f"`{base}` writes {call.edits[0]}")

    def inner(self, call: Call, start: int, label: str | None = None,
              stdin: Stdin | None = None) -> list[str] | None:
        """Judge argv[start:] as the command a wrapper runs; None (the wrapper is see-through),
        or the wrapper's own words when it runs nothing."""
        rest = call.argv[start:]
        if not rest:
            return call.texts()
        with self.inside(label or call.base):
            self.run_argv(rest, call.state, stdin if stdin is not None else call.stdin)
        return None

    def generic_args(self, call: Call) -> None:
        """Every argument that names a secret (also as `--opt=PATH`, `@PATH`, `k=@PATH`) asks;
        output options (`--output=PATH`, ...) must stay inside the repository."""
        from hrmcli.tools.shellcmds import OUTPUT_OPTIONS

        if not call.reads_args:
            return
        for v in call.args:
            t = v.text
            if t is None:
                continue
            names = [t]
            if t.startswith("-") and "=" in t:
                opt, _, val = t.partition("=")
                names.append(val)
                if opt in OUTPUT_OPTIONS:
                    self.write(Value(val, val), call.state, f"`{opt}`", [])
            if "@" in t:
                names.append(t.split("@", 1)[1])
            bare_is_inside = call.state.cwd is not None and self.paths.inside(call.state.cwd)
            for n in names:
                if n and ("/" in n or n.startswith((".", "~")) or (n == t and not bare_is_inside)):
                    n = os.path.expanduser(n) if n.startswith("~") else n
                    self.read(Value(n, v.raw), call.state, f"`{call.base}`",
                              recursive=call.recursive, must_know=False)

    # ---------------------------------------------------------------- files

    def write(self, v: Value, state: ShellState, what: str, edits: list[str] | None,
              remove: bool = False) -> None:
        """A file the command creates, changes or deletes: inside the repository or denied."""
        if v.text is None:
            if v.under is not None:
                real = os.path.realpath(v.under)
                self.written.add(real)
                if not self.paths.inside(real):
                    self.note(DENY, f"{what} writes inside {real}, outside the repository")
                elif edits is not None:
                    edits.append(f"files under {real}")
                return
            if "/" in v.prefix:
                top = self.paths.real(v.prefix[: v.prefix.rfind("/") + 1] or "/", state.cwd)
                if top is not None and not self.paths.inside(top):
                    self.note(DENY, f"{what} writes under {top}, outside the repository")
                    return
            self.note(UNSURE, f"{what} writes to {v.raw!r}, a path only known at run time")
            return
        lex = self.paths.lexical(v.text, state.cwd)
        if lex is None:
            self.note(UNSURE, f"{what} writes to {v.text!r} in a folder only known at run time")
            return
        if self.paths.is_harmless_write(lex):
            return
        if not self.paths.inside(lex):
            self.note(DENY, f"{what} writes {lex}, outside the repository {self.root}")
            return
        for real in self.paths.candidates(v.text, state.cwd, follow_last=not remove) or [lex]:
            self.written.add(real)
            if not self.paths.inside(real):
                self.note(DENY, f"{what} writes {real}, outside the repository {self.root}")
                return
            why = self.paths.removes_repo(real) if remove else None
            why = why or self.paths.code_in_git(real)
            if why:
                self.note(DENY, f"{what} would change {why}")
                return
        if edits is not None:
            edits.append(v.text)

    def read(self, v: Value, state: ShellState, what: str, recursive: bool = False,
             must_know: bool = True) -> None:
        """A file the command reads: secrets ask; with must_know an unknown path is UNSURE."""
        if v.text is None:
            if v.under is not None:
                why = self.paths.secret(os.path.realpath(v.under), recursive=True)
                if why:
                    self.note(UNSURE, f"{what} reads secrets: {why}")
            elif must_know:
                self.note(UNSURE, f"{what} reads {v.raw!r}, a path only known at run time")
            return
        cands = self.paths.candidates(v.text, state.cwd)
        if cands is None:
            if must_know:
                self.note(UNSURE, f"{what} reads {v.text!r} in a folder only known at run time")
            return
        lex = self.paths.lexical(v.text, state.cwd) or ""
        if lex.startswith(("/dev/tcp/", "/dev/udp/")):
            self.note(ASK, f"{what} opens a network connection ({lex})")
        if v.glob:
            why = self.paths.secret_pattern(lex, recursive=recursive)
            if why:
                self.note(UNSURE, f"{what} reads secrets: {why}")
                return
        for real in [*cands, lex]:
            why = self.paths.secret(real, recursive=recursive or v.glob)
            if why:
                self.note(UNSURE, f"{what} reads secrets: {why}")
                return




