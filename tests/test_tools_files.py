"""read_file / list_files / grep on real files and real git repos."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hrmcli.tools.errors import ToolError
from hrmcli.tools.files import grep, list_files, read_file
from hrmcli.tools.paths import Refused, resolve_in_root


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("import os\n\ndef main():\n    return os.getcwd()\n")
    (root / "README.md").write_text("hello\nworld\n")
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    (root / "debug.log").write_text("main secret\n")
    (root / "build").mkdir()
    (root / "build" / "out.py").write_text("def main(): pass\n")
    return root


def test_read_file_numbers_lines_like_cat_n(repo: Path) -> None:
    assert read_file(repo, "README.md") == "     1\thello\n     2\tworld\n"


def test_read_file_range_is_inclusive_and_clamped(repo: Path) -> None:
    assert read_file(repo, "src/app.py", 3, 4) == "     3\tdef main():\n     4\t    return os.getcwd()\n"
    assert read_file(repo, "src/app.py", start=4, end=99) == "     4\t    return os.getcwd()\n"
    with pytest.raises(ToolError, match="only 4 lines"):
        read_file(repo, "src/app.py", start=9)
    with pytest.raises(ToolError, match="bad line range"):
        read_file(repo, "src/app.py", start=3, end=2)
    with pytest.raises(ToolError, match="bad line range"):
        read_file(repo, "src/app.py", start=0)


@pytest.mark.parametrize("path", ["../outside.txt", "src/../../outside.txt"])
def test_read_file_refuses_dotdot(repo: Path, path: str) -> None:
    (repo.parent / "outside.txt").write_text("secret\n")
    with pytest.raises(ToolError, match="outside the project root"):
        read_file(repo, path)


def test_read_file_refuses_absolute_path_outside_but_takes_one_inside(repo: Path) -> None:
    outside = repo.parent / "outside.txt"
    outside.write_text("secret\n")
    with pytest.raises(ToolError, match="outside the project root"):
        read_file(repo, outside)
    assert read_file(repo, repo / "README.md").startswith("     1\thello")


def test_read_file_refuses_symlink_that_leaves_the_repo(repo: Path) -> None:
    outside = repo.parent / "secret.txt"
    outside.write_text("token\n")
    (repo / "link.txt").symlink_to(outside)
    with pytest.raises(ToolError, match="outside the project root"):
        read_file(repo, "link.txt")
    (repo / "inner.md").symlink_to(repo / "README.md")
    assert "hello" in read_file(repo, "inner.md")


def test_read_file_refuses_binary_non_utf8_missing_and_dirs(repo: Path) -> None:
    (repo / "blob.bin").write_bytes(b"\x7fELF\x00\x01\x02")
    (repo / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(ToolError, match="binary"):
        read_file(repo, "blob.bin")
    with pytest.raises(ToolError, match="not valid UTF-8.*offset 3"):
        read_file(repo, "latin1.txt")
    with pytest.raises(ToolError, match="does not exist"):
        read_file(repo, "nope.py")
    with pytest.raises(ToolError, match="not a regular file"):
        read_file(repo, "src")


def test_resolve_in_root_returns_the_relative_and_the_real_path(repo: Path) -> None:
    real = (repo / "src" / "app.py").resolve()
    assert resolve_in_root(repo, "src/./app.py") == ("src/app.py", real)
    assert resolve_in_root(repo, "src\\app.py") == ("src/app.py", real)
    assert resolve_in_root(repo, repo / "src" / "app.py") == ("src/app.py", real)
    assert resolve_in_root(repo, ".", allow_root=True) == (".", repo.resolve())
    with pytest.raises(Refused, match="is the project root, not a file"):
        resolve_in_root(repo, ".")


def test_one_strict_rule_for_reads_too(repo: Path) -> None:
    """Reads follow the edit engine's rule: .git is off limits, and `..` may not climb
    above the root even when the path would resolve back inside it."""
    (repo / ".git").mkdir()
    (repo / ".git" / "config").write_text("[credential]\n")
    with pytest.raises(ToolError, match="inside .git"):
        read_file(repo, ".git/config")
    with pytest.raises(ToolError, match="points outside the project root"):
        read_file(repo, f"../{repo.name}/README.md")
    assert read_file(repo, "src/../README.md").startswith("     1\thello")
    with pytest.raises(ToolError, match="empty file path"):
        read_file(repo, " ")


def test_list_files_in_git_repo_uses_gitignore_and_sees_untracked(repo: Path) -> None:
    _git(repo, "init", "-q")
    _git(repo, "add", "README.md", ".gitignore")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (repo / "new.txt").write_text("untracked\n")
    assert list_files(repo) == [".gitignore", "README.md", "new.txt", "src/app.py"]
    (repo / "README.md").unlink()  # deleted in the work tree, still in the index
    assert "README.md" not in list_files(repo)
    assert list_files(repo / "src") == ["app.py"]


def test_list_files_outside_git_walks_and_applies_gitignore(repo: Path) -> None:
    (repo / "node_modules" / "x").mkdir(parents=True)
    (repo / "node_modules" / "x" / "index.js").write_text("x\n")
    (repo / "src" / ".gitignore").write_text("gen_*\n!gen_keep.py\n/local.txt\n")
    (repo / "src" / "gen_a.py").write_text("a\n")
    (repo / "src" / "gen_keep.py").write_text("k\n")
    (repo / "src" / "local.txt").write_text("l\n")
    (repo / "local.txt").write_text("root copy is not anchored by src/.gitignore\n")
    assert list_files(repo) == [
        ".gitignore", "README.md", "local.txt", "src/.gitignore", "src/app.py", "src/gen_keep.py",
    ]


def test_list_files_refuses_a_non_directory(repo: Path) -> None:
    with pytest.raises(ToolError, match="not a directory"):
        list_files(repo / "README.md")


def test_grep_finds_regex_matches_in_listed_files_only(repo: Path) -> None:
    (repo / "blob.bin").write_bytes(b"def main\x00")
    matches = grep(repo, r"def \w+\(")
    assert [(m.path, m.line_no, m.line) for m in matches] == [("src/app.py", 3, "def main():")]
    assert grep(repo, "secret") == []  # debug.log is ignored


def test_grep_glob_and_max_results(repo: Path) -> None:
    for i in range(5):
        (repo / f"m{i}.txt").write_text("main\nmain\n")
    assert {m.path for m in grep(repo, "main", glob="*.py")} == {"src/app.py"}
    assert {m.path for m in grep(repo, "main", glob="src/*")} == {"src/app.py"}
    assert len(grep(repo, "main", max_results=3)) == 3


def test_grep_bad_regex_is_a_clear_error(repo: Path) -> None:
    with pytest.raises(ToolError, match="bad regular expression"):
        grep(repo, "(unclosed")
