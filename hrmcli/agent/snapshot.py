"""Take the repository's state before an agent step and put it back if the step fails.

Every step of `hrm run` either fully applies or is rolled back, including when the user
presses Ctrl-C halfway through an edit, a commit or a shell command. In a git work tree
the snapshot is cheap and complete for everything git can see: all refs, HEAD, the index,
merge state, and the bytes of every file that differed from the index (files that matched
it come back from the restored index). Outside git only the files named up front are
saved. Ignored files (build output, node_modules) are not restored.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from hrmcli.tools.errors import ToolError
from hrmcli.tools.paths import resolve_in_root

# Files under .git that mark an operation in progress; a step may start one (git merge).
_STATE_FILES = ("MERGE_HEAD", "MERGE_MSG", "MERGE_MODE", "CHERRY_PICK_HEAD", "REVERT_HEAD",
                "AUTO_MERGE")


def _git(root: Path, *args: str, check: bool = True, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, input=input)
    if check and proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def _git_dirs(root: Path) -> tuple[Path, Path] | None:
    """(git dir, top level of the work tree), or None outside a work tree."""
    proc = subprocess.run(["git", "rev-parse", "--absolute-git-dir", "--show-toplevel"],
                          cwd=root, capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 2:
        return None
    return Path(lines[0]), Path(lines[1])


def _changed_paths(root: Path) -> list[str]:
    """Paths (relative to root) that differ from the index or are untracked, not ignored."""
    out = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all",
               "--no-renames", "--ignore-submodules=all")
    paths = []
    for entry in out.decode("utf-8", "surrogateescape").split("\0"):
        if len(entry) > 3:
            paths.append(entry[3:])
    return paths


def _read(file: Path) -> bytes | None:
    try:
        return file.read_bytes() if file.is_file() and not file.is_symlink() else None
    except OSError:
        return None


@dataclass
class Snapshot:
    root: Path
    git_dir: Path | None
    files: dict[str, bytes | None] = field(default_factory=dict)  # None: did not exist
    refs: dict[str, str] = field(default_factory=dict)
    head: str = ""  # "ref: refs/heads/x" or a sha, as in .git/HEAD
    index: bytes | None = None
    state: dict[str, bytes | None] = field(default_factory=dict)

    @classmethod
    def take(cls, root: str | Path, paths: list[str] = ()) -> Snapshot:
        """Save what a step might change; `paths` are extra files to save (relative to root).

        In a git work tree the snapshot covers the whole work tree, not only `root`."""
        root = Path(root).resolve()
        dirs = _git_dirs(root)
        names = []
        for p in paths:
            try:
                real = resolve_in_root(root, p)[1]
                names.append(real.relative_to(dirs[1] if dirs else root).as_posix())
            except (ToolError, ValueError):
                continue  # outside the repo: the step itself will refuse it
        snap = cls(dirs[1], dirs[0]) if dirs else cls(root, None)
        root = snap.root
        if snap.git_dir is not None:
            names += _changed_paths(root)
            snap.head = (snap.git_dir / "HEAD").read_text().strip()
            for line in _git(root, "for-each-ref", "--format=%(objectname) %(refname)").decode().splitlines():
                sha, _, ref = line.partition(" ")
                snap.refs[ref] = sha
            snap.index = _read(snap.git_dir / "index")
            snap.state = {n: _read(snap.git_dir / n) for n in _STATE_FILES}
        for rel in names:
            snap.files[rel] = _read(root / rel)
        return snap

    def restore(self) -> list[str]:
        """Put everything back; returns the paths whose content was restored or removed.

        A second Ctrl-C during the restore would leave a half-restored tree, so SIGINT is
        ignored until it finishes."""
        with _no_interrupts():
            if self.git_dir is not None:
                self._restore_git()
            return self._restore_files()

    def _restore_git(self) -> None:
        assert self.git_dir is not None
        current: dict[str, str] = {}
        for line in _git(self.root, "for-each-ref", "--format=%(objectname) %(refname)").decode().splitlines():
            sha, _, ref = line.partition(" ")
            current[ref] = sha
        for ref in current:
            if ref not in self.refs:
                _git(self.root, "update-ref", "-d", ref, check=False)
        for ref, sha in self.refs.items():
            if current.get(ref) != sha:
                _git(self.root, "update-ref", ref, sha)
        head_file = self.git_dir / "HEAD"
        if head_file.read_text().strip() != self.head:
            head_file.write_text(self.head + "\n")
        index_file = self.git_dir / "index"
        if self.index is None:
            index_file.unlink(missing_ok=True)
        else:
            index_file.write_bytes(self.index)
        for name, data in self.state.items():
            f = self.git_dir / name
            if data is None:
                f.unlink(missing_ok=True)
            else:
                f.write_bytes(data)

    def _restore_files(self) -> list[str]:
        candidates = dict.fromkeys(self.files)
        if self.git_dir is not None:
            candidates.update(dict.fromkeys(_changed_paths(self.root)))
        restored = []
        for rel in candidates:
            file = self.root / rel
            if rel in self.files:
                want = self.files[rel]
                if _read(file) == want:
                    continue
                if want is None:
                    file.unlink(missing_ok=True)
                else:
                    file.parent.mkdir(parents=True, exist_ok=True)
                    file.write_bytes(want)
            elif _git(self.root, "ls-files", "-z", "--", rel):
                # matched the index before the step: the restored index has its content
                _git(self.root, "checkout-index", "-f", "-q", "--", rel)
            else:
                file.unlink(missing_ok=True)  # created by the step
            restored.append(rel)
        return restored


@contextlib.contextmanager
def _no_interrupts():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
