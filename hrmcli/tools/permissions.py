"""Whether the agent may run a command: allow, ask the user, or deny.

Rules are command prefixes ("git push --force"). A rule's words must start the command and
its options may appear anywhere after them, so "git push origin main -f" still meets
"git push --force". Deny always wins, even over --yes; among allow and ask rules the most
specific (longest) match wins; otherwise the command's category decides.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

Decision = Literal["allow", "ask", "deny"]
Category = Literal["read", "test", "edit", "shell", "package", "git_write"]
_STRICTNESS: dict[str, int] = {"allow": 0, "ask": 1, "deny": 2}
_DECISIONS = frozenset(_STRICTNESS)

DEFAULT_CATEGORIES: dict[str, Decision] = {
    "read": "allow",
    "test": "allow",  # test and build commands: the agent's feedback loop
    "edit": "ask",
    "shell": "ask",
    "package": "ask",
    "git_write": "ask",
}
DEFAULT_ALLOW: tuple[str, ...] = ()
DEFAULT_ASK: tuple[str, ...] = ()
DEFAULT_DENY: tuple[str, ...] = (
    "rm -rf /", "rm -rf /*", "rm -rf ~", "rm -rf ~/", "rm -rf $HOME",
    "git push --force", "git push --force-with-lease", "git push --mirror",
    "sudo", "su", "doas", "mkfs", "shutdown", "reboot", "halt", "poweroff",
    "chmod -R 777 /", "dd of=/dev/sda",
)

_READ = [
    "ls", "cat", "head", "tail", "wc", "grep", "rg", "ag", "pwd", "echo", "printf", "which",
    "file", "stat", "tree", "du", "df", "sort", "uniq", "diff", "cmp", "less", "more", "true",
    "false", "test", "basename", "dirname", "realpath", "readlink", "date", "whoami", "env",
    "git status", "git diff", "git log", "git show", "git blame", "git rev-parse",
    "git ls-files", "git grep", "git describe", "git shortlog", "git remote -v",
]
_TEST = [
    "pytest", "unittest", "tox", "go test", "go build", "go vet", "cargo test", "cargo build",
    "cargo check", "cargo clippy", "cargo fmt", "npm test", "npm run test", "npx jest", "jest",
    "node --test", "yarn test", "pnpm test", "mvn test", "mvn compile", "mvn verify",
    "gradle test", "gradle build", "./gradlew test", "./gradlew build", "ctest", "cmake",
    "make", "javac", "gcc", "g++", "clang", "clang++", "ruff", "flake8", "mypy", "tsc",
]
_PACKAGE = [
    "pip install", "pip uninstall", "pip3 install", "uv pip install", "uv add", "poetry add",
    "conda install", "npm install", "npm i", "npm ci", "npm uninstall", "npm add", "yarn add",
    "yarn install", "pnpm add", "pnpm install", "cargo install", "cargo add", "go get",
    "go install", "go mod download", "mvn install", "mvn dependency:get", "gradle dependencies",
    "apt", "apt-get", "brew install", "gem install",
]
_GIT_WRITE = [
    "git commit", "git merge", "git push", "git pull", "git reset", "git checkout",
    "git switch", "git restore", "git branch -D", "git branch -d", "git branch -m",
    "git rebase", "git cherry-pick", "git revert", "git stash", "git clean", "git tag",
    "git am", "git apply", "git rm", "git mv", "git add", "git fetch", "git init",
]
_EDIT = [
    "rm", "mv", "cp", "touch", "mkdir", "rmdir", "sed -i", "tee", "chmod", "chown", "ln",
    "patch", "truncate", "find -delete", "find -exec",
]
_CATEGORY_ORDER: tuple[tuple[Category, list[str]], ...] = (
    ("git_write", _GIT_WRITE), ("package", _PACKAGE), ("edit", _EDIT), ("test", _TEST),
    ("read", _READ),
)
_WRAPPERS = {"env", "time", "nohup", "nice", "command", "exec"}
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh"}
_FETCHERS = {"curl", "wget"}
_INTERPRETERS = _SHELLS | {"python", "perl", "ruby", "node"}
_FLAG_ALIASES = {"--force": "-f", "--recursive": "-r", "-R": "-r"}
_PY = re.compile(r"^python(\d+(\.\d+)*)?$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_OPERATORS = {"|", "||", "&&", ";", "&", ";;", "|&"}


@dataclass(frozen=True)
class _Rule:
    words: tuple[str, ...]
    flags: frozenset[str]
    text: str

    @classmethod
    def parse(cls, text: str) -> _Rule:
        words, flags = _split_words_flags(_normalise(shlex.split(text)))
        if not words:
            raise ValueError(f"permission rule {text!r} names no command")
        return cls(tuple(words), frozenset(flags), text)

    def matches(self, words: list[str], flags: set[str]) -> bool:
        return tuple(words[: len(self.words)]) == self.words and self.flags <= flags

    @property
    def weight(self) -> int:
        return len(self.words) + len(self.flags)


def _expand_flag(tok: str) -> list[str]:
    tok = _FLAG_ALIASES.get(tok, tok)
    if re.fullmatch(r"-[A-Za-z]{2,}", tok):  # -rf -> -r -f
        return [_FLAG_ALIASES.get(f"-{c}", f"-{c}") for c in tok[1:]]
    return [tok]


def _split_words_flags(argv: Sequence[str]) -> tuple[list[str], set[str]]:
    words: list[str] = []
    flags: set[str] = set()
    for tok in argv:
        if tok.startswith("-") and len(tok) > 1:
            flags.update(_expand_flag(tok.split("=", 1)[0]))
        else:
            words.append(tok)
    return words, flags


def _normalise(argv: Sequence[str]) -> list[str]:
    """Strip env assignments and wrappers, and spell `python3 -m pytest` as `pytest`."""
    args = list(argv)
    while args:
        head = os.path.basename(args[0])
        if _ASSIGNMENT.match(args[0]):
            args = args[1:]
        elif head in _WRAPPERS:
            args = args[1:]
        elif head == "timeout" and len(args) > 1:
            args = args[2:]
        else:
            break
    if not args:
        return args
    head = os.path.basename(args[0]) if "/" in args[0] and not args[0].startswith("./") else args[0]
    if _PY.match(head):
        if len(args) > 2 and args[1] == "-m":
            return _normalise(args[2:])
        return ["python", *args[1:]]
    if head in ("pip3",):
        head = "pip"
    return [head, *args[1:]]


def _segments(tokens: list[str]) -> list[tuple[list[str], str]]:
    """Split shell tokens at operators; each segment keeps the operator that follows it."""
    out: list[tuple[list[str], str]] = []
    cur: list[str] = []
    for tok in tokens:
        if tok in _OPERATORS:
            out.append((cur, tok))
            cur = []
        else:
            cur.append(tok)
    out.append((cur, ""))
    return [(seg, op) for seg, op in out if seg]


def category_of(argv: Sequence[str]) -> Category:
    """The kind of thing a single (non-shell-string) command does."""
    words, flags = _split_words_flags(_normalise(argv))
    for category, prefixes in _CATEGORY_ORDER:
        for text in prefixes:
            rule_words, rule_flags = _split_words_flags(text.split())
            if tuple(words[: len(rule_words)]) == tuple(rule_words) and set(rule_flags) <= flags:
                return category
    return "shell"


def _rules(texts: Iterable[str]) -> list[_Rule]:
    return [_Rule.parse(t) for t in texts]


@dataclass
class Policy:
    allow: list[str] = field(default_factory=lambda: list(DEFAULT_ALLOW))
    ask: list[str] = field(default_factory=lambda: list(DEFAULT_ASK))
    deny: list[str] = field(default_factory=lambda: list(DEFAULT_DENY))
    categories: dict[str, Decision] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    assume_yes: bool = False  # --yes: every "ask" becomes "allow"; "deny" stays

    def __post_init__(self) -> None:
        self._allow = _rules(self.allow)
        self._ask = _rules(self.ask)
        self._deny = _rules(self.deny)
        for cat, dec in self.categories.items():
            if cat not in DEFAULT_CATEGORIES or dec not in _DECISIONS:
                raise ValueError(
                    f"[permissions.categories] {cat} = {dec!r}: categories are "
                    f"{', '.join(DEFAULT_CATEGORIES)} and values allow, ask or deny"
                )

    @classmethod
    def from_config(cls, config: dict | None = None, assume_yes: bool = False) -> Policy:
        """The `[permissions]` table of the TOML config (load_config() when not given).

        allow/ask/deny lists add to the defaults; `defaults = false` starts from empty lists.
        """
        if config is None:
            from hrmcli.config import load_config

            config = load_config()
        table = config.get("permissions", {})
        if not isinstance(table, dict):
            raise ValueError("[permissions] in the config must be a table")
        use_defaults = table.get("defaults", True)
        lists: dict[str, list[str]] = {}
        for key, default in (("allow", DEFAULT_ALLOW), ("ask", DEFAULT_ASK), ("deny", DEFAULT_DENY)):
            extra = table.get(key, [])
            if not isinstance(extra, list) or not all(isinstance(x, str) for x in extra):
                raise ValueError(f"[permissions] {key} must be a list of command strings")
            lists[key] = (list(default) if use_defaults else []) + extra
        cats = dict(DEFAULT_CATEGORIES)
        user_cats = table.get("categories", {})
        if not isinstance(user_cats, dict):
            raise ValueError("[permissions.categories] must be a table of category = decision")
        cats.update(user_cats)
        return cls(lists["allow"], lists["ask"], lists["deny"], cats, assume_yes)

    def decide(self, argv: Sequence[str] | str) -> Decision:
        """A shell string is split at pipes and `;`/`&&`; the strictest part decides."""
        decision = self._decide_raw(argv)
        if decision == "ask" and self.assume_yes:
            return "allow"
        return decision

    def decide_category(self, category: Category) -> Decision:
        """For actions that are not commands, such as the agent editing a file ("edit")."""
        decision = self.categories[category]
        return "allow" if decision == "ask" and self.assume_yes else decision

    def _decide_raw(self, argv: Sequence[str] | str) -> Decision:
        if isinstance(argv, str):
            return self._decide_string(argv)
        args = _normalise(argv)
        if not args:
            return "ask"
        if os.path.basename(args[0]) in _SHELLS and len(args) > 2 and args[1] == "-c":
            return _strictest([self._decide_string(args[2]), self._decide_argv(args)])
        return self._decide_argv(args)

    def _decide_string(self, command: str) -> Decision:
        if "`" in command or "$(" in command:
            base: Decision = "ask"  # command substitution hides what will run
        else:
            base = "allow"
        try:
            lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|<>")
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            return "ask"
        decisions: list[Decision] = [base]
        segments = _segments(tokens)
        for i, (seg, op) in enumerate(segments):
            args, writes = _strip_redirects(seg)
            if writes:
                decisions.append(self.categories["edit"])
            if not args:
                continue
            decisions.append(self._decide_raw(args))
            nxt = _normalise(segments[i + 1][0]) if i + 1 < len(segments) else []
            here = _normalise(args)
            if (op in ("|", "|&") and here and nxt and os.path.basename(here[0]) in _FETCHERS
                    and os.path.basename(nxt[0]) in _INTERPRETERS):
                decisions.append("deny")  # curl ... | sh runs unreviewed code
        return _strictest(decisions)

    def _decide_argv(self, args: list[str]) -> Decision:
        words, flags = _split_words_flags(args)
        if any(rule.matches(words, flags) for rule in self._deny):
            return "deny"
        best: tuple[int, int] | None = None  # (weight, strictness)
        for decision, rules in (("allow", self._allow), ("ask", self._ask)):
            for rule in rules:
                if rule.matches(words, flags):
                    key = (rule.weight, _STRICTNESS[decision])
                    best = key if best is None or key > best else best
        if best is not None:
            return "ask" if best[1] else "allow"
        return self.categories[category_of(args)]


def _strip_redirects(seg: list[str]) -> tuple[list[str], bool]:
    """The command words without redirections, and whether a redirection writes a file.

    `2>&1` and `> /dev/null` only move output around, so they do not make a command an edit.
    """
    args: list[str] = []
    writes = False
    j = 0
    while j < len(seg):
        tok = seg[j]
        if tok and set(tok) <= set("<>&"):
            target = seg[j + 1] if j + 1 < len(seg) else ""
            dup = tok.endswith("&") and (target.isdigit() or target == "-")
            if ">" in tok and not dup and target != "/dev/null":
                writes = True
            if args and args[-1].isdigit():
                args.pop()  # the fd number in 2>file
            j += 2
            continue
        args.append(tok)
        j += 1
    return args, writes


def _strictest(decisions: Iterable[Decision]) -> Decision:
    return max(decisions, key=_STRICTNESS.__getitem__)
