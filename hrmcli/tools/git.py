"""Git for the agent and for `hrm apply` / `hrm undo`, built so that no user work is lost.

Commit policy for hrm edits (also in `hrm apply --help`):
- Before an edit is written, files it touches that hold uncommitted changes of yours
  (modified, staged or untracked) are committed first, on their own, as
  "hrm: save your pending changes to <files> before edit". Your work is then in
  history, and the edit commit that follows holds only hrm's change.
- The edit commit's message starts with "hrm: " and ends with the trailer
  "Hrm-Edit: true". Only the touched files are committed; anything else you have
  staged stays staged and uncommitted.
- `undo()` hard-resets to the parent of HEAD only when HEAD is an hrm edit commit and
  no tracked file has uncommitted changes, so the reset can only drop hrm's own edit.
  The "save your pending changes" commit is kept: undo brings back exactly the state
  before the edit, with your changes committed.

hrm commits skip commit hooks (--no-verify): hooks are for your commits, and a hook that
rewrites files would make the edit commit differ from the diff hrm showed you.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import git

HRM_TRAILER = "Hrm-Edit: true"
_TRAILER_RE = re.compile(r"^Hrm-Edit:\s*true\s*$", re.MULTILINE | re.IGNORECASE)
_FALLBACK_IDENTITY = {"user.name": "hrm", "user.email": "hrm@localhost"}
_HISTORY_SCAN = 200


class GitError(Exception):
    """A git operation failed; the message says what to do next."""


@dataclass(frozen=True)
class Status:
    branch: str | None  # None when HEAD is detached
    staged: list[str]
    unstaged: list[str]
    untracked: list[str]
    conflicted: list[str]

    @property
    def clean(self) -> bool:
        """No tracked file differs from HEAD (untracked files do not count)."""
        return not (self.staged or self.unstaged or self.conflicted)


@dataclass(frozen=True)
class Commit:
    sha: str
    summary: str
    author: str
    date: str
    is_hrm: bool


@dataclass(frozen=True)
class ConflictFile:
    path: str
    hunks: list[tuple[str, str]]  # (ours, theirs) text of each conflict region


@dataclass(frozen=True)
class MergeResult:
    ok: bool
    conflicts: list[ConflictFile] = field(default_factory=list)
    message: str = ""


@dataclass(frozen=True)
class UndoResult:
    ok: bool
    message: str
    reverted: str | None = None  # sha of the hrm commit that was undone


def is_hrm_message(message: str) -> bool:
    return message.startswith("hrm: ") and bool(_TRAILER_RE.search(message))


def hrm_message(summary: str, body: str = "") -> str:
    summary = summary if summary.startswith("hrm: ") else f"hrm: {summary}"
    parts = [summary.strip()]
    if body.strip():
        parts.append(body.strip())
    parts.append(HRM_TRAILER)
    return "\n\n".join(parts) + "\n"


def format_conflicts(files: list[ConflictFile]) -> str:
    """Conflicted files and their hunks as the agent's planner and the user read them."""
    out = []
    for f in files:
        out.append(f"conflict in {f.path}: {len(f.hunks)} hunk(s)")
        for k, (ours, theirs) in enumerate(f.hunks, 1):
            out.append(f"hunk {k} ours (HEAD):\n{ours.rstrip()}\nhunk {k} theirs:\n{theirs.rstrip()}")
    return "\n".join(out)


def parse_conflicts(text: str) -> list[tuple[str, str]]:
    """(ours, theirs) for each conflict region; diff3 base sections are dropped."""
    hunks: list[tuple[str, str]] = []
    part: str | None = None
    ours: list[str] = []
    theirs: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<< ") or line.rstrip("\r\n") == "<<<<<<<":
            part, ours, theirs = "ours", [], []
        elif part and line.startswith("|||||||"):
            part = "base"
        elif part and line.rstrip("\r\n") == "=======":
            part = "theirs"
        elif part == "theirs" and line.startswith(">>>>>>>"):
            hunks.append(("".join(ours), "".join(theirs)))
            part = None
        elif part == "ours":
            ours.append(line)
        elif part == "theirs":
            theirs.append(line)
    return hunks


class GitRepo:
    """A git work tree, driven through GitPython's git command wrapper."""

    def __init__(self, repo: git.Repo) -> None:
        self.repo = repo
        self.root = Path(repo.working_tree_dir or ".")

    @classmethod
    def find(cls, root: Path | str) -> GitRepo | None:
        """The repository containing `root`, or None when it is not in one."""
        try:
            return cls(git.Repo(Path(root), search_parent_directories=True))
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return None

    @classmethod
    def init(cls, root: Path | str) -> GitRepo:
        return cls(git.Repo.init(Path(root)))

    def _git(self, *args: str, identity: bool = False) -> str:
        opts: list[str] = []
        if identity:
            for key, value in _FALLBACK_IDENTITY.items():
                if not self._config(key):
                    opts += ["-c", f"{key}={value}"]
        try:
            return self.repo.git.execute(["git", *opts, *args], strip_newline_in_stdout=False)
        except git.GitCommandError as e:
            detail = (e.stderr or e.stdout or "").strip().removeprefix("stderr: ").strip(" '")
            raise GitError(f"git {args[0]} failed: {detail or e}") from None

    def _config(self, key: str) -> str:
        try:
            return self.repo.git.config("--get", key)
        except git.GitCommandError:
            return ""

    # ------------------------------------------------------------ reading

    def status(self) -> Status:
        out = self._git("status", "--porcelain=v1", "-z", "--branch", "--untracked-files=all")
        entries = out.split("\0")
        branch: str | None = None
        staged, unstaged, untracked, conflicted = [], [], [], []
        i = 0
        while i < len(entries):
            e = entries[i]
            i += 1
            if not e:
                continue
            if e.startswith("## "):
                head = e[3:].split("...")[0]
                branch = None if head.startswith("HEAD (no branch)") else head.removeprefix("No commits yet on ")
                continue
            x, y, path = e[0], e[1], e[3:]
            if x in "RC":
                i += 1  # the rename source follows
            if x == "?":
                untracked.append(path)
            elif x == "U" or y == "U" or (x, y) in {("A", "A"), ("D", "D")}:
                conflicted.append(path)
            else:
                if x not in " ?!":
                    staged.append(path)
                if y not in " ?!":
                    unstaged.append(path)
        return Status(branch, staged, unstaged, untracked, conflicted)

    def diff(self, *, staged: bool = False, paths: list[str] | None = None,
             rev: str | None = None) -> str:
        """The work tree's diff (or the index's, or against `rev`: a commit, `A..B` or
        `A...B`, the changes on B since it forked from A)."""
        args = ["diff"] + (["--cached"] if staged else []) + ([rev] if rev else [])
        return self._git(*args, "--", *(paths or []))

    def log(self, n: int = 10, rev: str = "HEAD") -> list[Commit]:
        """The last n commits reachable from `rev` (which may be a range, `main..HEAD`)."""
        if not self.repo.head.is_valid():
            return []
        return [
            Commit(c.hexsha, c.summary if isinstance(c.summary, str) else c.summary.decode(),
                   str(c.author), c.committed_datetime.isoformat(), is_hrm_message(str(c.message)))
            for c in self.repo.iter_commits(rev, max_count=n)
        ]

    def is_revision(self, text: str) -> bool:
        """Whether text names commits: a revision, or a range `A..B` / `A...B` of them."""
        ends = re.split(r"\.{2,3}", text, maxsplit=1)  # a range's ends; `A..` means A..HEAD
        if text.startswith("-") or not any(ends):
            return False
        try:
            for end in filter(None, ends):
                self.repo.git.rev_parse("--verify", "--quiet", "--end-of-options",
                                        f"{end}^{{commit}}")
        except git.GitCommandError:
            return False
        return True

    def conflicts(self) -> list[ConflictFile]:
        """Each conflicted file with the (ours, theirs) text of its conflict regions."""
        files = []
        for path in self.status().conflicted:
            full = self.root / path
            text = full.read_text(encoding="utf-8", errors="replace") if full.is_file() else ""
            files.append(ConflictFile(path, parse_conflicts(text)))
        return files

    def merging(self) -> bool:
        """A merge is in progress (MERGE_HEAD exists): the next commit has two parents."""
        return self._in_progress() == "a merge"

    def head_sha(self) -> str | None:
        return self.repo.head.commit.hexsha if self.repo.head.is_valid() else None

    def _in_progress(self) -> str | None:
        gitdir = Path(self.repo.git_dir)
        for name, what in [("MERGE_HEAD", "a merge"), ("rebase-merge", "a rebase"),
                           ("rebase-apply", "a rebase"), ("CHERRY_PICK_HEAD", "a cherry-pick"),
                           ("REVERT_HEAD", "a revert")]:
            if (gitdir / name).exists():
                return what
        return None

    # ------------------------------------------------------------ writing

    def add(self, paths: list[str]) -> None:
        self._git("add", "--", *paths)

    def commit(self, message: str, paths: list[str] | None = None) -> str:
        """Commit `paths` as they are in the work tree (only them: other staged changes
        stay staged), or everything staged when paths is None. Returns the new sha."""
        if paths is not None:
            self.add(paths)
            self._git("commit", "--no-verify", "-q", "-m", message, "--only", "--", *paths, identity=True)
        else:
            self._git("commit", "--no-verify", "-q", "-m", message, identity=True)
        return self.repo.head.commit.hexsha

    def branch_create(self, name: str, start: str = "HEAD") -> None:
        self._git("branch", name, start)

    def branch_switch(self, name: str) -> None:
        self._git("switch", name)

    def stash(self, message: str = "hrm stash") -> bool:
        """Stash tracked and untracked changes; False when there was nothing to stash."""
        before = self._git("stash", "list")
        self._git("stash", "push", "--include-untracked", "-m", message, identity=True)
        return self._git("stash", "list") != before

    def stash_pop(self) -> None:
        self._git("stash", "pop")

    def merge(self, branch: str) -> MergeResult:
        """Merge `branch` into HEAD. On conflicts the merge is left in progress (so it can
        be resolved, or undone with merge_abort) and each conflicted file's hunks are
        returned."""
        try:
            self._git("merge", "--no-edit", "--no-ff", branch, identity=True)
            return MergeResult(ok=True, message=f"merged {branch}")
        except GitError as e:
            files = self.conflicts()
            if not files:
                raise
            return MergeResult(ok=False, conflicts=files, message=str(e))

    def merge_abort(self) -> None:
        self._git("merge", "--abort")

    # ------------------------------------------------------------ hrm edits

    def _pending(self, paths: list[str]) -> list[str]:
        st = self.status()
        dirty = set(st.staged) | set(st.unstaged) | set(st.untracked)
        return [p for p in paths if p in dirty and not self._ignored(p)]

    def _ignored(self, path: str) -> bool:
        try:
            self.repo.git.check_ignore("-q", "--", path)
            return True
        except git.GitCommandError:
            return False

    def _rel(self, paths: list[str], base: Path) -> list[str]:
        root = self.root.resolve()
        return [(base.resolve() / p).resolve().relative_to(root).as_posix() for p in paths]

    def save_pending_changes(self, paths: list[str], base: Path | None = None) -> str | None:
        """Commit your uncommitted changes to `paths` (relative to `base`, default the repo
        root) before hrm edits them. Returns the commit's sha, or None when there were none.

        Refuses (GitError) during a merge, rebase or cherry-pick, where a partial commit
        would be wrong; call this before writing so that a refusal leaves files untouched."""
        what = self._in_progress()
        if what:
            raise GitError(
                f"{what} is in progress; finish or abort it first, or pass --no-commit"
            )
        rel = self._rel(paths, base or self.root)
        pending = self._pending(rel)
        if not pending:
            return None
        names = ", ".join(pending[:5]) + (f" and {len(pending) - 5} more" if len(pending) > 5 else "")
        return self.commit(f"hrm: save your pending changes to {names} before edit", pending)

    def commit_hrm_edit(self, paths: list[str], message: str, base: Path | None = None) -> str | None:
        """Commit an edit hrm just wrote to `paths` as "hrm: <message>" with the trailer.

        Call save_pending_changes(paths) before writing the edit (apply_edits' before_write
        hook does), so that your own changes land in their own commit. Returns the sha, or
        None when nothing in `paths` changed or they are ignored by git."""
        targets = self._pending(self._rel(paths, base or self.root))
        if not targets:
            return None
        return self.commit(hrm_message(message), targets)

    def undo(self) -> UndoResult:
        """Drop the last hrm edit commit, or explain why not and change nothing."""
        if not self.repo.head.is_valid():
            return UndoResult(False, "nothing to undo: this repository has no commits yet")
        head = self.repo.head.commit
        if not is_hrm_message(str(head.message)):
            return UndoResult(False, self._why_not_hrm(head))
        what = self._in_progress()
        if what:
            return UndoResult(False, f"{what} is in progress; finish or abort it, then run hrm undo")
        st = self.status()
        if not st.clean:
            files = ", ".join((st.staged + st.unstaged + st.conflicted)[:5])
            return UndoResult(
                False,
                f"you have uncommitted changes ({files}); commit or stash them, then run hrm undo",
            )
        if not head.parents:
            return UndoResult(False, "the hrm commit is the repository's first commit; nothing to reset to")
        summary = head.summary if isinstance(head.summary, str) else head.summary.decode()
        self._git("reset", "--hard", "-q", head.parents[0].hexsha)
        return UndoResult(True, f"undid {head.hexsha[:10]} {summary}", reverted=head.hexsha)

    def _why_not_hrm(self, head: git.Commit) -> str:
        for n, c in enumerate(self.repo.iter_commits("HEAD", max_count=_HISTORY_SCAN)):
            if is_hrm_message(str(c.message)):
                return (
                    f"HEAD moved since hrm's last edit ({c.hexsha[:10]}): {n} commit(s) came "
                    f"after it, and undo only drops an hrm edit that is the latest commit. "
                    f"To revert it anyway: git revert {c.hexsha[:10]}"
                )
        return f"HEAD ({head.hexsha[:10]}) is not an hrm edit commit; there is no hrm edit to undo"
