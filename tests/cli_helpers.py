"""What the end-to-end CLI tests share: real git repos and `hrm` run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout


def init_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repo at root with `files` committed and an identity configured."""
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "T")
    for name, text in files.items():
        (root / name).write_text(text)
    git(root, "add", ".")
    git(root, "commit", "-qm", "init")
    return root


def hrm(root: Path, home: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """`python -m hrmcli ARGS` in root with its own HRM_HOME and no stdin."""
    env = {**os.environ, "HRM_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "hrmcli", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
