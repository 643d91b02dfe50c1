"""The git wrapper on real repositories: hrm commits, undo safety, merges with conflicts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hrmcli.agent.editblocks import EditBlock
from hrmcli.agent.transaction import EditTransaction
from hrmcli.tools.git import GitError, GitRepo, is_hrm_message, parse_conflicts


def sh(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    sh(tmp_path, "init", "-q", "-b", "main")
    sh(tmp_path, "config", "user.email", "dev@example.com")
    sh(tmp_path, "config", "user.name", "Dev")
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    (tmp_path / "b.txt").write_text("b\n")
    sh(tmp_path, "add", ".")
    sh(tmp_path, "commit", "-qm", "init")
    r = GitRepo.find(tmp_path)
    assert r is not None
    return r


def hrm_edit(repo: GitRepo, path: str, search: str, replace: str) -> str | None:
    """What every hrm edit does: the edit transaction (save pending changes, write, commit)."""
    result = EditTransaction(repo.root, f"edit {path}").apply([EditBlock(1, path, search, replace)])
    assert result.ok, result.failed
    return result.commit


def messages(root: Path) -> list[str]:
    return sh(root, "log", "--format=%B%x00").split("\0\n")


def test_find(tmp_path: Path, repo: GitRepo) -> None:
    (repo.root / "sub").mkdir()
    assert GitRepo.find(repo.root / "sub").root.resolve() == repo.root.resolve()
    outside = tmp_path.parent / f"{tmp_path.name}-plain"
    outside.mkdir()
    assert GitRepo.find(outside) is None


def test_status_add_commit_log_diff(repo: GitRepo) -> None:
    (repo.root / "a.txt").write_text("one\n")
    (repo.root / "new.txt").write_text("n\n")
    st = repo.status()
    assert st.branch == "main" and st.unstaged == ["a.txt"] and st.untracked == ["new.txt"]
    assert not st.clean
    assert "-two" in repo.diff()
    repo.add(["a.txt"])
    assert repo.status().staged == ["a.txt"] and "-two" in repo.diff(staged=True)
    sha = repo.commit("shorten a", ["a.txt"])
    log = repo.log(5)
    assert log[0].sha == sha and log[0].summary == "shorten a" and not log[0].is_hrm
    assert [c.summary for c in log] == ["shorten a", "init"]
    assert repo.status().untracked == ["new.txt"] and repo.status().clean


def test_commit_paths_leaves_other_staged_changes_alone(repo: GitRepo) -> None:
    (repo.root / "a.txt").write_text("A\n")
    (repo.root / "b.txt").write_text("B\n")
    repo.add(["b.txt"])
    repo.commit("a only", ["a.txt"])
    assert repo.status().staged == ["b.txt"]
    assert sh(repo.root, "show", "--name-only", "--format=", "HEAD").split() == ["a.txt"]


def test_branch_switch_stash(repo: GitRepo) -> None:
    repo.branch_create("feature")
    repo.branch_switch("feature")
    assert repo.status().branch == "feature"
    (repo.root / "a.txt").write_text("wip\n")
    (repo.root / "u.txt").write_text("u\n")
    assert repo.stash("wip") is True
    assert repo.status().clean and not (repo.root / "u.txt").exists()
    assert repo.stash() is False
    repo.stash_pop()
    assert (repo.root / "a.txt").read_text() == "wip\n" and (repo.root / "u.txt").exists()
    with pytest.raises(GitError, match="switch"):
        repo.branch_switch("no-such-branch")


def test_hrm_edit_on_clean_tree_makes_one_commit_with_trailer(repo: GitRepo) -> None:
    sha = hrm_edit(repo, "a.txt", "two\n", "2\n")
    assert sha == repo.head_sha()
    msg = messages(repo.root)[0]
    assert msg.startswith("hrm: edit a.txt") and "Hrm-Edit: true" in msg
    assert is_hrm_message(msg) and repo.log(1)[0].is_hrm
    assert len(repo.log(10)) == 2


def test_dirty_touched_file_gets_pending_changes_commit_first(repo: GitRepo) -> None:
    (repo.root / "a.txt").write_text("one\ntwo\nmine\n")
    (repo.root / "b.txt").write_text("b untouched but dirty\n")
    hrm_edit(repo, "a.txt", "two\n", "2\n")
    log = repo.log(3)
    assert log[0].is_hrm and log[1].summary == "hrm: save your pending changes to a.txt before edit"
    assert not log[1].is_hrm
    assert sh(repo.root, "show", "HEAD~1:a.txt") == "one\ntwo\nmine\n"
    assert sh(repo.root, "show", "HEAD:a.txt") == "one\n2\nmine\n"
    # b.txt is not part of either commit and stays dirty
    assert repo.status().unstaged == ["b.txt"]


def test_untracked_touched_file_is_saved_first(repo: GitRepo) -> None:
    (repo.root / "notes.txt").write_text("draft\n")
    hrm_edit(repo, "notes.txt", "draft\n", "final\n")
    assert sh(repo.root, "show", "HEAD~1:notes.txt") == "draft\n"
    assert repo.log(1)[0].is_hrm


def test_new_file_edit_committed(repo: GitRepo) -> None:
    hrm_edit(repo, "src/new.py", "", "x = 1\n")
    assert sh(repo.root, "show", "HEAD:src/new.py") == "x = 1\n"
    assert len(repo.log(10)) == 2


def test_undo_restores_state_before_edit(repo: GitRepo) -> None:
    (repo.root / "a.txt").write_text("one\ntwo\nmine\n")
    hrm_edit(repo, "a.txt", "two\n", "2\n")
    hrm_edit(repo, "c.txt", "", "new\n")
    r = repo.undo()
    assert r.ok and "undid" in r.message
    assert not (repo.root / "c.txt").exists()
    r = repo.undo()
    assert r.ok
    # the user's pending change survives, committed on its own
    assert (repo.root / "a.txt").read_text() == "one\ntwo\nmine\n"
    assert repo.log(1)[0].summary.startswith("hrm: save your pending changes")
    r = repo.undo()
    assert not r.ok and "not an hrm edit commit" in r.message


def test_undo_refused_after_head_moved(repo: GitRepo) -> None:
    hrm_edit(repo, "a.txt", "two\n", "2\n")
    (repo.root / "b.txt").write_text("user commit\n")
    repo.commit("user work", ["b.txt"])
    head = repo.head_sha()
    r = repo.undo()
    assert not r.ok and "HEAD moved" in r.message and "1 commit(s)" in r.message
    assert repo.head_sha() == head and (repo.root / "b.txt").read_text() == "user commit\n"


def test_undo_refused_on_dirty_tree(repo: GitRepo) -> None:
    hrm_edit(repo, "a.txt", "two\n", "2\n")
    (repo.root / "b.txt").write_text("unsaved work\n")
    head = repo.head_sha()
    r = repo.undo()
    assert not r.ok and "uncommitted changes (b.txt)" in r.message
    assert repo.head_sha() == head and (repo.root / "b.txt").read_text() == "unsaved work\n"


def test_undo_refused_for_non_hrm_head_and_empty_repo(tmp_path: Path, repo: GitRepo) -> None:
    assert "not an hrm edit commit" in repo.undo().message
    empty = tmp_path.parent / f"{tmp_path.name}-empty"
    empty.mkdir()
    sh(empty, "init", "-q")
    assert "no commits yet" in GitRepo.find(empty).undo().message


def test_merge_conflict_reported_with_files_and_hunks(repo: GitRepo) -> None:
    repo.branch_create("other")
    (repo.root / "a.txt").write_text("one\nours\n")
    repo.commit("ours", ["a.txt"])
    repo.branch_switch("other")
    (repo.root / "a.txt").write_text("one\ntheirs\n")
    (repo.root / "b.txt").write_text("b changed cleanly\n")
    repo.commit("theirs", ["a.txt", "b.txt"])
    repo.branch_switch("main")
    result = repo.merge("other")
    assert not result.ok
    assert [c.path for c in result.conflicts] == ["a.txt"]
    assert result.conflicts[0].hunks == [("ours\n", "theirs\n")]
    with pytest.raises(GitError, match="merge is in progress"):
        repo.save_pending_changes(["a.txt"])
    repo.merge_abort()
    assert repo.status().clean and (repo.root / "a.txt").read_text() == "one\nours\n"


def test_clean_merge(repo: GitRepo) -> None:
    repo.branch_create("other")
    repo.branch_switch("other")
    (repo.root / "b.txt").write_text("bb\n")
    repo.commit("b", ["b.txt"])
    repo.branch_switch("main")
    assert repo.merge("other").ok and (repo.root / "b.txt").read_text() == "bb\n"


def test_parse_conflicts_diff3_style() -> None:
    text = "x\n<<<<<<< HEAD\na\n||||||| base\no\n=======\nb\nc\n>>>>>>> other\ny\n"
    assert parse_conflicts(text) == [("a\n", "b\nc\n")]


def test_commit_without_configured_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "r"
    root.mkdir()
    repo = GitRepo.init(root)
    (root / "f.txt").write_text("f\n")
    repo.commit("first", ["f.txt"])
    assert repo.log(1)[0].author == "hrm"
