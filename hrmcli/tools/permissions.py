"""Whether the agent may run a command: allow, ask the user, or deny.

A command a model wrote is treated as hostile: the policy parses it (hrmcli.tools.shellparse)
into every simple command it will run, unwraps wrappers (`bash -c`, `env`, `nice`, `timeout`,
`xargs`, `find -exec`, `git -c alias...`, `sudo`, ...) and judges each inner command, and
resolves every file the command writes or reads against the repository root. When it cannot
tell what will run (a command it cannot parse, a variable in command position, inline code
for an interpreter, `eval`) it asks, and `--yes` does not answer that question: it is denied.

Order of strictness: deny > cannot-judge (ask; deny under --yes) > ask (allow under --yes) >
allow. Deny always wins. What is denied:
- a command on the deny list (the defaults: sudo and the other privilege tools, mkfs,
  shutdown, ...; plus the user's `[permissions] deny`), wherever it is nested;
- a write outside the repository (redirections and the file arguments of writing commands,
  following `..`, `~`, `$HOME`, absolute paths and existing symlinks; `/dev/null`,
  `/dev/stdout` and `/dev/stderr` are fine), or removing the repository or its `.git`;
- a force push in any spelling, downloaded code piped into an interpreter, a fork bomb.
Reading a known secret location outside the repository (~/.ssh, ~/.aws, /etc/shadow, private
keys, ...) asks. Everything else gets its category's decision (reads and tests run; edits,
other shell commands, package managers and git writes ask), which the user's allow/ask rules
can override for each inner command.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from hrmcli.tools.shelljudge import ALLOW, ASK, DENY, UNSURE, Judge

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
    # privilege: these run commands as another user
    "sudo", "su", "doas", "pkexec", "run0", "sudoedit", "runuser", "setpriv", "chroot",
    "nsenter", "machinectl", "systemd-run", "sg", "newgrp", "ksu", "calife", "super",
    # the machine itself
    "mkfs", "mke2fs", "mkswap", "wipefs", "fdisk", "sfdisk", "cfdisk", "parted", "gdisk",
    "sgdisk", "blkdiscard", "dmsetup", "cryptsetup", "losetup", "mount", "umount", "swapon",
    "swapoff", "insmod", "rmmod", "modprobe", "kexec", "shutdown", "reboot", "halt",
    "poweroff", "init", "telinit", "systemctl poweroff", "systemctl reboot", "systemctl halt",
    "systemctl kexec", "systemctl rescue", "systemctl emergency", "killall5",
    "passwd", "chpasswd", "useradd", "userdel", "usermod", "groupadd", "groupdel", "visudo",
    "chsh", "chfn", "crontab", "chmod -R 777 /", "dd of=/dev/sda", "iptables", "ip6tables",
    "nft", "ufw", "firewall-cmd", "sysctl -w", "hdparm", "setcap", "grub-install",
    "update-grub", "efibootmgr", "dracut", "mkinitcpio", "update-initramfs",
)

_READ = [
    "ls", "cat", "head", "tail", "wc", "grep", "egrep", "fgrep", "rg", "ag", "ack", "pwd",
    "echo", "printf", "which", "file", "stat", "tree", "du", "df", "sort", "uniq", "diff",
    "cmp", "comm", "less", "more", "true", "false", "test", "[", ":", "basename", "dirname",
    "realpath", "readlink", "date", "whoami", "id", "uname", "hostname", "nproc", "env",
    "printenv", "tac", "nl", "cut", "paste", "tr", "column", "join", "fold", "fmt", "expand",
    "unexpand", "od", "xxd", "hexdump", "strings", "md5sum", "sha1sum", "sha256sum",
    "sha512sum", "b2sum", "cksum", "base64", "base32", "jq", "yq", "seq", "sleep", "expr",
    "bc", "type", "command", "cd", "pushd", "popd", "dirs", "export", "unset", "set",
    "shift", "local", "declare", "typeset", "readonly", "exit", "return", "break",
    "continue", "wait", "read", "getopts", "umask", "ulimit", "jobs", "let", "shopt",
    "times", "hash", "find", "fd", "fdfind", "locate", "whereis", "sed", "awk", "gawk",
    "mawk", "nawk", "xargs", "ps", "free", "uptime", "lscpu", "tput", "clear", "mktemp",
    "ldd", "nm", "objdump", "readelf", "size", "python --version", "python -V",
    "node --version", "node -v", "npm --version", "go version", "go env", "go list",
    "cargo --version", "rustc --version", "java -version", "javac -version", "json.tool",
    "git --version", "uv --version", "pip --version", "pip list", "pip show", "pip freeze",
    "npm ls", "npm list", "cargo tree", "cargo metadata",
    "git status", "git diff", "git log", "git show", "git blame", "git rev-parse",
    "git ls-files", "git grep", "git describe", "git shortlog", "git remote -v",
    "git ls-tree", "git rev-list", "git cat-file", "git show-ref", "git for-each-ref",
    "git merge-base", "git reflog show", "git branch --show-current", "git branch --list",
    "git branch -a", "git branch -r", "git tag --list", "git tag -l", "git stash list",
    "git stash show", "git config --get", "git config --list", "git config -l",
    "git config --get-regexp", "git remote show", "git remote get-url", "git version",
    "git help", "git check-ignore", "git check-attr", "git diff-tree", "git diff-index",
    "git diff-files", "git count-objects", "git worktree list", "git whatchanged",
    "git name-rev", "git cherry", "git range-diff", "git var",
]
_TEST = [
    "pytest", "unittest", "tox", "nox", "go test", "go build", "go vet", "cargo test",
    "cargo build", "cargo check", "cargo clippy", "cargo fmt", "npm test", "npm run test",
    "npx jest", "jest", "node --test", "yarn test", "pnpm test", "mvn test", "mvn compile",
    "mvn verify", "gradle test", "gradle build", "./gradlew test", "./gradlew build", "ctest",
    "cmake", "make", "javac", "gcc", "g++", "cc", "c++", "clang", "clang++", "ruff", "flake8",
    "mypy", "tsc", "black --check", "isort --check",
]
_PACKAGE = [
    "pip install", "pip uninstall", "pip3 install", "uv pip install", "uv add", "poetry add",
    "conda install", "npm install", "npm i", "npm ci", "npm uninstall", "npm add", "yarn add",
    "yarn install", "pnpm add", "pnpm install", "cargo install", "cargo add", "go get",
    "go install", "go mod download", "mvn install", "mvn dependency:get",
    "gradle dependencies", "apt", "apt-get", "brew install", "gem install", "npx", "bunx",
    "pnpx", "pnpm dlx", "yarn dlx", "pipx",
]
_GIT_WRITE = [
    "git commit", "git merge", "git push", "git pull", "git reset", "git checkout",
    "git switch", "git restore", "git branch -D", "git branch -d", "git branch -m",
    "git rebase", "git cherry-pick", "git revert", "git stash", "git clean", "git tag",
    "git am", "git apply", "git rm", "git mv", "git add", "git fetch", "git init",
    "git config", "git clone", "git submodule", "git worktree", "git notes", "git bisect",
    "git format-patch", "git gc", "git prune", "git update-ref", "git update-index",
    "git branch",
]
_EDIT = [
    "rm", "mv", "cp", "touch", "mkdir", "rmdir", "sed -i", "tee", "chmod", "chown", "ln",
    "patch", "truncate", "find -delete", "find -exec", "install", "unlink", "shred", "dd",
    "chgrp", "mkfifo", "mknod", "tar", "zip", "unzip", "gzip", "gunzip", "bzip2", "xz",
    "zstd", "rsync",
]
_CATEGORY_ORDER: tuple[tuple[Category, list[str]], ...] = (
    ("git_write", _GIT_WRITE), ("package", _PACKAGE), ("edit", _EDIT), ("test", _TEST),
    ("read", _READ),
)
_WRAPPERS = {"env", "time", "nohup", "nice", "command", "exec"}
_FLAG_ALIASES = {"--force": "-f", "--recursive": "-r", "-R": "-r"}
_PY = re.compile(r"^(python|pypy)(\d+(\.\d+)*)?m?$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


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
        """Words are a prefix of the command's (`mkfs` also names `mkfs.ext4`); flags a
        subset of its flags, wherever they stand."""
        if len(words) < len(self.words) or not self.flags <= flags:
            return False
        first, rule_first = words[0], self.words[0]
        if first != rule_first and not first.startswith(rule_first + "."):
            return False
        return tuple(words[1:len(self.words)]) == self.words[1:]

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
    return _command_words(args)


def _command_words(args: list[str]) -> list[str]:
    """The command's name as rules and categories see it: a path's basename (`./gradlew`
    kept), `python -m X` as X, pip3 as pip, zsh's `=cmd` as cmd."""
    if not args:
        return args
    head = args[0].lstrip("=") or args[0]
    if "/" in head and not head.startswith("./"):
        head = os.path.basename(head.rstrip("/")) or head
    if _PY.match(head):
        if len(args) > 2 and args[1] == "-m":
            return _command_words(args[2:])
        return ["python", *args[1:]]
    if head == "pip3":
        head = "pip"
    return [head, *args[1:]]


def category_of(argv: Sequence[str]) -> Category:
    """The kind of thing a single (non-shell-string) command does.

    The most specific matching entry wins (`git branch -a` is a read although `git branch`
    writes); between equally specific entries the stricter category, in _CATEGORY_ORDER."""
    words, flags = _split_words_flags(_normalise(argv))
    best: tuple[int, int, Category] | None = None
    for order, (category, prefixes) in enumerate(_CATEGORY_ORDER):
        for text in prefixes:
            rule_words, rule_flags = _split_words_flags(text.split())
            if tuple(words[: len(rule_words)]) == tuple(rule_words) and set(rule_flags) <= flags:
                key = (len(rule_words) + len(rule_flags), -order, category)
                best = key if best is None or key[:2] > best[:2] else best
    return best[2] if best is not None else "shell"


def _rules(texts: Iterable[str]) -> list[_Rule]:
    return [_Rule.parse(t) for t in texts]


@dataclass(frozen=True)
class Verdict:
    """A decision with the reason a person can read; `unjudged` marks an ask that comes from
    not being able to tell what would run (denied under --yes)."""
    decision: Decision
    reason: str
    command: str
    unjudged: bool = False

    def to_json(self) -> dict:
        return {"decision": self.decision, "reason": self.reason, "command": self.command}


@dataclass
class Policy:
    allow: list[str] = field(default_factory=lambda: list(DEFAULT_ALLOW))
    ask: list[str] = field(default_factory=lambda: list(DEFAULT_ASK))
    deny: list[str] = field(default_factory=lambda: list(DEFAULT_DENY))
    categories: dict[str, Decision] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    assume_yes: bool = False  # --yes: every "ask" becomes "allow"; "deny" stays
    root: str | Path | None = None  # the repository; None: the current directory

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
    def from_config(cls, config: dict | None = None, assume_yes: bool = False,
                    root: str | Path | None = None) -> Policy:
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
        return cls(lists["allow"], lists["ask"], lists["deny"], cats, assume_yes, root)

    def with_root(self, root: str | Path) -> Policy:
        """The same rules judged against another repository root."""
        return replace(self, root=root)

    def decide(self, argv: Sequence[str] | str, cwd: str | Path | None = None) -> Decision:
        """A string is a shell command line; a list is one command executed directly."""
        return self.check(argv, cwd).decision

    def check(self, argv: Sequence[str] | str, cwd: str | Path | None = None) -> Verdict:
        """The decision and why. `cwd` is where the command runs (default: the root)."""
        root = os.path.realpath(self.root if self.root is not None else os.getcwd())
        here = os.path.realpath(os.path.join(root, cwd)) if cwd is not None else root
        judge = Judge(self, root, here)
        shown = argv if isinstance(argv, str) else shlex.join([str(a) for a in argv])
        try:
            if isinstance(argv, str):
                judge.judge_string(argv)
            else:
                judge.judge_argv([str(a) for a in argv])
        except (RecursionError, ValueError, TypeError, KeyError, IndexError, AttributeError,
                OSError) as e:  # fail closed: what the judge trips over is not judged
            judge.note(UNSURE, f"the policy could not judge this command ({type(e).__name__})")
        decision, reason, unjudged = judge.verdict(self.assume_yes)
        return Verdict(decision, reason, shown, unjudged)  # type: ignore[arg-type]

    def decide_category(self, category: Category) -> Decision:
        """For actions that are not commands, such as the agent editing a file ("edit")."""
        decision = self.categories[category]
        return "allow" if decision == "ask" and self.assume_yes else decision

    # --------------------------------------------------------------- rules for the judge

    def _rule_level(self, texts: list[str]) -> tuple[int, str] | None:
        """The config rules on one simple command: (level, reason), or None if none match."""
        words, flags = _split_words_flags(_command_words(texts))
        if not words:
            return None
        for rule in self._deny:
            if rule.matches(words, flags):
                return DENY, f"`{words[0]}` matches the deny rule '{rule.text}'"
        best: tuple[int, int, str] | None = None  # (weight, strictness, rule)
        for decision, rules in (("allow", self._allow), ("ask", self._ask)):
            for rule in rules:
                if rule.matches(words, flags):
                    key = (rule.weight, _STRICTNESS[decision], rule.text)
                    best = key if best is None or key[:2] > best[:2] else best
        if best is None:
            return None
        name = "ask" if best[1] else "allow"
        return (ASK if best[1] else ALLOW), f"matches the {name} rule '{best[2]}'"

    def _category_level(self, texts: list[str]) -> tuple[int, str]:
        """The category's decision for one simple command."""
        cat = category_of(texts)
        return {"allow": ALLOW, "ask": ASK, "deny": DENY}[self.categories[cat]], cat
