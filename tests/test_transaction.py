"""The one edit transaction on real git repositories: pending work saved in its own commit,
all or nothing, the hrm commit that undo drops, dry runs and non-git directories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hrmcli.agent.editblocks import EditBlock
from hrmcli.agent.history import History
from hrmcli.agent.transaction import EditTransaction, default_message
from hrmcli.agent.wholefile import WholeFile
from hrmcli.tools.git import GitError, GitRepo
from tests.cli_helpers import git, init_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", {"a.txt": "one\ntwo\n", "b.txt": "b\n"})


def subjects(root: Path) -> list[str]:
    return git(root, "log", "--format=%s").splitlines()


def test_pending_work_is_saved_apart_then_the_edit_is_committed_and_undone(repo: Path) -> None:
    (repo / "a.txt").write_text("one\ntwo\nmine\n")
    (repo / "b.txt").write_text("b, also mine\n")  # not touched by the edit: stays uncommitted
    done = EditTransaction(repo, "edit a.txt: number two").apply(
        [EditBlock(1, "a.txt", "two\n", "2\n")])
    assert done.ok and done.files == ["a.txt"] and done.in_repo
    assert "-two" in done.diff and "+2" in done.diff
    assert subjects(repo) == ["hrm: edit a.txt: number two",
                              "hrm: save your pending changes to a.txt before edit", "init"]
    assert git(repo, "rev-parse", "HEAD").strip() == done.commit
    assert git(repo, "rev-parse", "HEAD~1").strip() == done.pending_commit
    assert "Hrm-Edit: true" in git(repo, "log", "-1", "--format=%B")
    assert git(repo, "show", "--format=", "--name-only", "HEAD").split() == ["a.txt"]
    assert git(repo, "status", "--porcelain") == " M b.txt\n"
    git(repo, "stash")  # undo refuses a dirty tree; the user's b.txt is theirs to keep
    undone = GitRepo.find(repo).undo()
    assert undone.ok and undone.reverted == done.commit
    assert (repo / "a.txt").read_text() == "one\ntwo\nmine\n"  # the saved work survives undo


def test_one_failing_block_writes_nothing_and_commits_nothing(repo: Path) -> None:
    (repo / "a.txt").write_text("one\ntwo\nmine\n")
    done = EditTransaction(repo, "x").apply([
        EditBlock(1, "a.txt", "two\n", "2\n"),
        EditBlock(2, "b.txt", "not there\n", "x\n"),
    ])
    assert not done.ok and done.files == [] and done.diff == "" and done.commit is None
    assert [(f.block, f.path) for f in done.failed] == [(2, "b.txt")]
    assert "does not match" in done.errors[0]
    assert (repo / "a.txt").read_text() == "one\ntwo\nmine\n"
    assert subjects(repo) == ["init"]


def test_dry_run_computes_the_diff_and_writes_nothing(repo: Path) -> None:
    (repo / "a.txt").write_text("one\ntwo\nmine\n")
    done = EditTransaction(repo, dry_run=True).apply([EditBlock(1, "a.txt", "two\n", "2\n")])
    assert done.ok and done.dry_run and done.files == ["a.txt"] and "+2" in done.diff
    assert done.commit is None and done.pending_commit is None and not done.in_repo
    assert (repo / "a.txt").read_text() == "one\ntwo\nmine\n"
    assert subjects(repo) == ["init"]


def test_without_commit_or_outside_git_the_edit_is_only_written(repo: Path,
                                                               tmp_path: Path) -> None:
    done = EditTransaction(repo, commit=False).apply([EditBlock(1, "a.txt", "two\n", "2\n")])
    assert done.ok and done.commit is None and (repo / "a.txt").read_text() == "one\n2\n"
    assert subjects(repo) == ["init"] and not done.in_repo
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "c.txt").write_text("c\n")
    done = EditTransaction(plain).apply([WholeFile("c.txt", "C\n")], "whole")
    assert done.ok and done.files == ["c.txt"] and not done.in_repo
    assert (plain / "c.txt").read_text() == "C\n"


def test_a_merge_in_progress_refuses_before_writing(repo: Path) -> None:
    git(repo, "switch", "-qc", "other")
    (repo / "a.txt").write_text("one\ntheirs\n")
    git(repo, "commit", "-qam", "theirs")
    git(repo, "switch", "-q", "-")
    (repo / "a.txt").write_text("one\nours\n")
    git(repo, "commit", "-qam", "ours")
    subprocess.run(["git", "merge", "other"], cwd=repo, capture_output=True)
    conflicted = (repo / "b.txt").read_text()
    with pytest.raises(GitError, match="merge is in progress"):
        EditTransaction(repo).apply([EditBlock(1, "b.txt", "b\n", "B\n")])
    assert (repo / "b.txt").read_text() == conflicted == "b\n"


def test_the_session_logs_the_written_edit_and_the_default_message(repo: Path,
                                                                   tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as history:
        session = history.start("edit", "m", repo, "t")
        done = EditTransaction(repo, session=session).apply([
            EditBlock(1, "a.txt", "two\n", "2\n"), EditBlock(2, "b.txt", "b\n", "B\n")])
        edits = [e for e in history.events(session.id) if e["kind"] == "edit"]
    assert done.ok and subjects(repo)[0] == "hrm: edit a.txt, b.txt"
    assert len(edits) == 1 and edits[0]["ok"] and edits[0]["data"]["files"] == ["a.txt", "b.txt"]
    assert default_message(["a", "b", "c", "d", "e"]) == "edit a, b, c and 2 more"


def test_unknown_format_is_refused(repo: Path) -> None:
    with pytest.raises(ValueError, match="unknown edit format"):
        EditTransaction(repo).apply([], "udiff")


def test_stage_only_resolves_a_conflict_in_a_merge_without_committing(repo: Path) -> None:
    git(repo, "switch", "-qc", "other")
    (repo / "a.txt").write_text("one\ntheirs\n")
    git(repo, "commit", "-qam", "theirs")
    git(repo, "switch", "-q", "-")
    (repo / "a.txt").write_text("one\nours\n")
    git(repo, "commit", "-qam", "ours")
    head = git(repo, "rev-parse", "HEAD")
    subprocess.run(["git", "merge", "other"], cwd=repo, capture_output=True)
    (repo / "b.txt").write_text("b, changed by you\n")
    region = "<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> other\n"
    assert region in (repo / "a.txt").read_text()
    block = EditBlock(1, "a.txt", region, "ours and theirs\n",
                      splits=(("<<<<<<< HEAD\nours\n", "theirs\n>>>>>>> other\n=======\n"
                               "ours and theirs\n"), (region, "ours and theirs\n")),
                      divider_lines=(3, 6))
    # a SEARCH quoting the whole region reads two ways: refused unless the file is conflicted
    assert not EditTransaction(repo, dry_run=True).apply([block]).ok
    tx = EditTransaction(repo, stage_only=True)
    assert tx.conflicted() == ["a.txt"]
    done = tx.apply([block])
    assert done.ok and done.commit is None and done.pending_commit is None
    assert (repo / "a.txt").read_text() == "one\nours and theirs\n"
    assert git(repo, "ls-files", "-u") == ""  # staged: resolved
    assert git(repo, "rev-parse", "HEAD") == head and (repo / ".git" / "MERGE_HEAD").exists()
    # your own unstaged change to another file cannot be kept apart in a merge: refused
    with pytest.raises(GitError, match="b.txt hold uncommitted changes of yours"):
        tx.apply([EditBlock(2, "b.txt", "b, changed by you\n", "B\n")])
    assert (repo / "b.txt").read_text() == "b, changed by you\n"


def test_stage_only_outside_a_merge_saves_your_work_and_stages_the_edit(repo: Path) -> None:
    (repo / "b.txt").write_text("b\nyours\n")
    done = EditTransaction(repo, stage_only=True).apply([EditBlock(1, "b.txt", "yours\n",
                                                                   "hrm's\n")])
    assert done.ok and done.commit is None and done.pending_commit is not None
    assert subjects(repo)[0].startswith("hrm: save your pending changes to b.txt")
    assert git(repo, "diff", "--cached", "--name-only") == "b.txt\n"
