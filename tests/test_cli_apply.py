"""`hrm apply` and `hrm undo` through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EDIT = "a.txt\n```\n<<<<<<< SEARCH\ntwo\n=======\n2\n>>>>>>> REPLACE\n```\n"
BAD = EDIT + "b.txt\n<<<<<<< SEARCH\nmissing\n=======\nx\n>>>>>>> REPLACE\n"


def hrm(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hrmcli", *args], cwd=cwd, input=stdin,
        capture_output=True, text=True, timeout=60,
    )


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.txt").write_text("one\ntwo\n")
    (root / "b.txt").write_text("b\n")
    return root


@pytest.fixture
def repo(project: Path) -> Path:
    git(project, "init", "-q")
    git(project, "config", "user.email", "dev@example.com")
    git(project, "config", "user.name", "Dev")
    git(project, "add", ".")
    git(project, "commit", "-qm", "init")
    return project


def test_apply_from_file_exit_0_prints_diff(project: Path, tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text(EDIT)
    r = hrm("apply", str(tmp_path / "e.txt"), "--root", str(project), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "-two" in r.stdout and "+2" in r.stdout and "a/a.txt" in r.stdout
    assert (project / "a.txt").read_text() == "one\n2\n"


def test_apply_from_stdin_json(project: Path) -> None:
    r = hrm("apply", "-", "--json", cwd=project, stdin=EDIT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["applied"] == ["a.txt"] and out["failed"] == [] and "+2" in out["diff"]


def test_failed_block_exit_1_writes_nothing_json(project: Path) -> None:
    r = hrm("apply", "-", "--json", cwd=project, stdin=BAD)
    assert r.returncode == 1
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["applied"] == [] and out["diff"] == ""
    assert [(f["block"], f["path"]) for f in out["failed"]] == [(2, "b.txt")]
    assert "does not match" in out["failed"][0]["reason"]
    assert "nothing was written" in r.stderr and "block 2 (b.txt)" in r.stderr
    assert (project / "a.txt").read_text() == "one\ntwo\n"


def test_malformed_block_exit_1(project: Path) -> None:
    r = hrm("apply", "-", "--json", cwd=project, stdin=EDIT + "a.txt\n<<<<<<< SEARCH\none\n")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["failed"][0]["block"] == 2 and "no ======= divider" in out["failed"][0]["reason"]
    assert (project / "a.txt").read_text() == "one\ntwo\n"


def test_no_blocks_exit_1(project: Path) -> None:
    r = hrm("apply", "-", cwd=project, stdin="nothing to do here\n")
    assert r.returncode == 1 and "no edit blocks found" in r.stderr


def test_refused_path_exit_1(project: Path) -> None:
    r = hrm("apply", "-", cwd=project, stdin="../x.txt\n<<<<<<< SEARCH\n=======\nx\n>>>>>>> REPLACE\n")
    assert r.returncode == 1 and "outside the project root" in r.stderr
    assert not (project.parent / "x.txt").exists()


def test_ambiguous_search_exit_1_names_each_match_json(repo: Path) -> None:
    (repo / "c.txt").write_text("x = 1\ny\nx = 1\n")
    edit = EDIT + "c.txt\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
    r = hrm("apply", "-", "--json", cwd=repo, stdin=edit)
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["applied"] == [] and [f["block"] for f in out["failed"]] == [2]
    assert "SEARCH matches 2 places in c.txt, at lines 1, 3" in out["failed"][0]["reason"]
    assert (repo / "a.txt").read_text() == "one\ntwo\n"
    assert (repo / "c.txt").read_text() == "x = 1\ny\nx = 1\n"
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_rst_heading_in_replace_applies_through_the_cli(project: Path) -> None:
    edit = "a.txt\n<<<<<<< SEARCH\ntwo\n=======\ntwo\n\nUsage\n=======\n>>>>>>> REPLACE\n"
    r = hrm("apply", "-", cwd=project, stdin=edit)
    assert r.returncode == 0, r.stderr
    assert (project / "a.txt").read_text() == "one\ntwo\n\nUsage\n=======\n"


@pytest.mark.parametrize(
    "args",
    [["apply", "missing.txt"], ["apply", "-", "--root", "no/such/dir"], ["apply", "-", "--format", "xml"],
     ["apply"]],
)
def test_usage_errors_exit_2(project: Path, args: list[str]) -> None:
    r = hrm(*args, cwd=project, stdin=EDIT)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert (project / "a.txt").read_text() == "one\ntwo\n"


def test_dry_run_writes_nothing(repo: Path) -> None:
    r = hrm("apply", "-", "--dry-run", "--json", cwd=repo, stdin=EDIT)
    assert r.returncode == 0
    out = json.loads(r.stdout)
    assert out["applied"] == ["a.txt"] and out["dry_run"] and out["commit"] is None
    assert (repo / "a.txt").read_text() == "one\ntwo\n"
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_dry_run_with_failure_exit_1(project: Path) -> None:
    assert hrm("apply", "-", "--dry-run", cwd=project, stdin=BAD).returncode == 1


def test_whole_format(project: Path) -> None:
    r = hrm("apply", "-", "--format", "whole", cwd=project, stdin="b.txt\n```\nB\nB2\n```\n")
    assert r.returncode == 0, r.stderr
    assert (project / "b.txt").read_text() == "B\nB2\n"


def test_apply_in_repo_commits_and_undo_drops_it(repo: Path) -> None:
    (repo / "a.txt").write_text("one\ntwo\nmine\n")
    r = hrm("apply", "-", "--json", cwd=repo, stdin=EDIT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["commit"] and out["pending_commit"]
    log = git(repo, "log", "--format=%s").splitlines()
    assert log == ["hrm: edit a.txt", "hrm: save your pending changes to a.txt before edit", "init"]
    assert "Hrm-Edit: true" in git(repo, "log", "-1", "--format=%B")

    r = hrm("undo", cwd=repo)
    assert r.returncode == 0 and "undid" in r.stdout
    assert (repo / "a.txt").read_text() == "one\ntwo\nmine\n"
    r = hrm("undo", cwd=repo)
    assert r.returncode == 1 and "not an hrm edit commit" in r.stderr


def test_no_commit_flag(repo: Path) -> None:
    assert hrm("apply", "-", "--no-commit", cwd=repo, stdin=EDIT).returncode == 0
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(repo, "status", "--porcelain").strip() == "M a.txt"


def test_undo_refused_on_dirty_tree_and_outside_repo(repo: Path, tmp_path: Path) -> None:
    assert hrm("apply", "-", cwd=repo, stdin=EDIT).returncode == 0
    (repo / "b.txt").write_text("unsaved\n")
    r = hrm("undo", "--root", str(repo), cwd=tmp_path)
    assert r.returncode == 1 and "uncommitted changes" in r.stderr
    assert (repo / "a.txt").read_text() == "one\n2\n" and (repo / "b.txt").read_text() == "unsaved\n"
    plain = tmp_path / "plain"
    plain.mkdir()
    r = hrm("undo", cwd=plain)
    assert r.returncode == 1 and "not in a git repository" in r.stderr


def test_apply_refused_during_merge(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "a.txt").write_text("one\ntheirs\n")
    git(repo, "commit", "-qam", "theirs")
    git(repo, "checkout", "-q", "-")
    (repo / "a.txt").write_text("one\nours\n")
    git(repo, "commit", "-qam", "ours")
    subprocess.run(["git", "merge", "other"], cwd=repo, capture_output=True)
    before = (repo / "b.txt").read_bytes()
    r = hrm("apply", "-", cwd=repo, stdin="b.txt\n<<<<<<< SEARCH\nb\n=======\nB\n>>>>>>> REPLACE\n")
    assert r.returncode == 1 and "merge is in progress" in r.stderr and "nothing was written" in r.stderr
    assert (repo / "b.txt").read_bytes() == before
