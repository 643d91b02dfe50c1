"""One edit transaction: the single path every hrm edit takes from parsed edits to the disk.

`hrm edit`, `hrm apply`, the agent loop (`hrm run`) and the chat TUI all write through
`EditTransaction`, so an edit means the same thing wherever it comes from:

1. The edits are matched against the files in memory (hrmcli.agent.apply). If any block
   fails, nothing is written and every failure is reported.
2. Just before writing, files the edit touches that hold uncommitted changes of yours are
   committed on their own ("hrm: save your pending changes to ... before edit"), so your
   work is never mixed into, or lost with, hrm's edit. If that commit is refused (a merge
   in progress), nothing is written.
3. All files are written at once or not at all.
4. The edit is committed as "hrm: <message>" with the "Hrm-Edit: true" trailer, which is
   what `hrm undo` drops; the history session, when there is one, logs the edit.

A dry run stops after step 1: it computes the diff and writes nothing, not even a commit.
Outside a git repository (or with commit=False) steps 2 and 4 are skipped.

With stage_only=True (`hrm run` when its plan commits, or resolves a merge) step 4 stages
the written files instead of committing them: the run's own `git_commit` step commits
them once the tests pass. During a merge step 2 cannot commit, so a file holding changes
of yours that are not the merge's (unstaged, or untracked) is refused instead, and in
the files git left conflicted a SEARCH may quote whole conflict regions; staging a
resolved file marks it resolved.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hrmcli.agent.apply import DEFAULT_MAX_FILE_BYTES, apply_edits, apply_whole_files
from hrmcli.agent.editblocks import BlockFailure, EditBlock
from hrmcli.agent.wholefile import WholeFile
from hrmcli.tools.git import GitError, GitRepo

if TYPE_CHECKING:  # `hrm apply` has no history session; do not open the history module
    from hrmcli.agent.history import Session

EDIT_FORMATS = ("diff", "whole")


@dataclass
class TransactionResult:
    """What one transaction did. On failure nothing was written: `files` and `diff` are
    empty and `failed` says why, block by block."""

    files: list[str] = field(default_factory=list)  # written (dry run: would be), root-relative
    failed: list[BlockFailure] = field(default_factory=list)
    diff: str = ""
    dry_run: bool = False
    in_repo: bool = False  # a git repository was found and commits were made in it
    pending_commit: str | None = None  # sha of the "save your pending changes" commit
    commit: str | None = None  # sha of the hrm edit commit (what `hrm undo` drops)
    commit_error: str = ""  # the edit was written but the commit failed: why

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def errors(self) -> list[str]:
        return [str(f) for f in self.failed]


def default_message(files: Sequence[str]) -> str:
    """The commit summary when the caller gives none: the files edited, the first three."""
    more = f" and {len(files) - 3} more" if len(files) > 3 else ""
    return "edit " + ", ".join(files[:3]) + more


class EditTransaction:
    """Save pending changes, apply all or nothing, commit as an hrm edit, log it.

    `message` is the commit summary ("hrm: " is added); empty means default_message of
    the files written. `commit=False` writes without touching git (`hrm apply
    --no-commit`). `dry_run=True` computes the diff and writes nothing.
    """

    def __init__(self, root: Path | str, message: str = "", *, commit: bool = True,
                 dry_run: bool = False, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 session: Session | None = None, stage_only: bool = False) -> None:
        self.root = Path(root)
        self.message = message
        self.dry_run = dry_run
        self.stage_only = stage_only
        self.max_file_bytes = max_file_bytes
        self.session = session
        self.repo = GitRepo.find(self.root) if commit and not dry_run else None

    def apply(self, edits: Sequence[EditBlock] | Sequence[WholeFile],
              edit_format: str = "diff") -> TransactionResult:
        """Run the transaction for parsed edits (SEARCH/REPLACE blocks for "diff", whole
        files for "whole").

        Raises GitError when your pending changes cannot be saved first (a merge or rebase
        in progress); nothing is written then. A failed edit commit after the write is not
        raised: the edit stays on disk and `commit_error` says why.
        """
        if edit_format not in EDIT_FORMATS:
            raise ValueError(f"unknown edit format {edit_format!r}; use one of {EDIT_FORMATS}")
        out = TransactionResult(dry_run=self.dry_run, in_repo=self.repo is not None)
        merging = self.stage_only and self.repo is not None and self.repo.merging()
        conflicted = self.conflicted() if merging else []

        def save_pending(paths: list[str]) -> None:
            if self.repo is None:
                return
            if merging:
                self._refuse_own_changes_in_merge(paths, conflicted)
            else:
                out.pending_commit = self.repo.save_pending_changes(paths, base=self.root)

        if edit_format == "whole":
            engine = apply_whole_files
        else:
            engine = functools.partial(apply_edits, conflicted=conflicted)
        result = engine(edits, self.root, dry_run=self.dry_run,
                        max_file_bytes=self.max_file_bytes, before_write=save_pending)
        if result.failed:
            out.failed = list(result.failed)
            return out
        out.files, out.diff = list(result.applied), result.diff
        if self.dry_run or not out.files:
            return out
        if self.repo is not None and self.stage_only:
            try:
                self.repo.add(self._repo_paths(out.files))
            except GitError as e:
                out.commit_error = str(e)
        elif self.repo is not None:
            try:
                out.commit = self.repo.commit_hrm_edit(
                    out.files, self.message or default_message(out.files), base=self.root)
            except GitError as e:
                out.commit_error = str(e)
        if self.session is not None:
            self.session.edit(out.files, out.diff, applied=True, well_formed=True)
        return out

    def conflicted(self) -> list[str]:
        """Files git left conflicted, relative to this transaction's root (during a merge
        run with stage_only; empty otherwise)."""
        if self.repo is None or not (self.stage_only and self.repo.merging()):
            return []
        top, here = self.repo.root.resolve(), self.root.resolve()
        out = []
        for path in self.repo.status().conflicted:
            try:
                out.append((top / path).relative_to(here).as_posix())
            except ValueError:
                continue  # outside the folder this transaction edits
        return out

    def _repo_paths(self, paths: list[str]) -> list[str]:
        top = self.repo.root.resolve() if self.repo else self.root.resolve()
        return [(self.root.resolve() / p).relative_to(top).as_posix() for p in paths]

    def _refuse_own_changes_in_merge(self, paths: list[str], conflicted: list[str]) -> None:
        """During a merge your own changes cannot be committed apart from hrm's; refuse to
        edit a file that holds some (the merge's staged results and conflicts are fine)."""
        assert self.repo is not None
        st = self.repo.status()
        yours = set(st.unstaged) | set(st.untracked)
        rel = self._repo_paths([p for p in paths if p not in conflicted])
        mine = [p for p in rel if p in yours]
        if mine:
            raise GitError(
                f"{', '.join(mine)} hold uncommitted changes of yours during a merge; commit "
                "the merge without them (or stash them) first, then run hrm again"
            )
