"""Run model-written code (benchmark samples and the tests that exercise them) isolated.

Both benchmarks run code nobody reviewed, and a hostile or broken sample must not be able to
touch the machine, the run, or the user's secrets. Each run gets (see sandbox_launch.py):
- user, mount, network, PID, IPC and UTS namespaces: no network at all (not even loopback);
  every process the sample starts dies with the run; host processes are invisible;
- as root, the program drops to uid 65534 (nobody); as another user it keeps that uid inside
  a user namespace, without capabilities;
- a read-only, nosuid view of /: the only writable places are the dirs the caller names (the
  sample's work dir, toolchain caches) and a private, size-bounded /tmp, /var/tmp, /dev/shm;
  home directories (and dirs the sandbox uid cannot enter) are hidden behind empty tmpfs,
  and only the toolchain paths the caller names are shown again, read-only;
- only the environment the caller builds (an allow-list: API keys never get in);
- rlimits on CPU time, address space, file size, processes (per run: the count lives in the
  run's own user namespace) and open files;
- a wall-clock timeout after which the whole namespace is killed.

Nothing here runs Python between fork and exec: the child's argv is the launcher, a separate
program. Without namespaces (kernel or container refusal) `check()` says why and the callers
refuse to run unless the user passed --no-sandbox, which runs commands as plain
subprocesses: the user's uid, environment, network and files.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LAUNCHER = Path(__file__).with_name("sandbox_launch.py")
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_SETUP_FAILED = 125
_GRACE = 10.0  # seconds the launcher gets to tear the namespace down after SIGTERM


class SandboxUnavailable(RuntimeError):
    """This machine refuses the isolation (no user namespaces, seccomp, old kernel...)."""


class SandboxError(RuntimeError):
    """Setting up one run failed; its result would mean nothing, so it is not a verdict."""


def _nobody() -> tuple[int, int]:
    try:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return 65534, 65534


@dataclass(frozen=True)
class Limits:
    """Per-process rlimits; None leaves one unlimited (JVMs reserve address space freely)."""

    cpu_seconds: int = 10
    address_space: int | None = 4 << 30
    file_size: int = 64 << 20
    processes: int = 64  # tasks, threads included
    open_files: int = 1024

    def describe(self) -> str:
        space = "unlimited" if self.address_space is None else _size(self.address_space)
        return (f"cpu {self.cpu_seconds} s, address space {space}, file size "
                f"{_size(self.file_size)}, {self.processes} processes, "
                f"{self.open_files} open files")


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} bytes"


@dataclass
class RunResult:
    returncode: int | None  # None when killed for the wall-clock timeout; -N for signal N
    stdout: bytes
    stderr: bytes
    timed_out: bool
    seconds: float


@dataclass
class Sandbox:
    """How commands are run: isolated (the default) or as plain subprocesses (--no-sandbox)."""

    limits: Limits = field(default_factory=Limits)
    isolate: bool = True
    tmp_size: int = 256 << 20  # each private /tmp, /var/tmp and /dev/shm

    @property
    def uid(self) -> int:
        """The uid commands run as: nobody's when we are root, else our own."""
        return _nobody()[0] if self.isolate and os.geteuid() == 0 else os.getuid()

    @property
    def gid(self) -> int:
        return _nobody()[1] if self.isolate and os.geteuid() == 0 else os.getgid()

    def describe(self) -> str:
        """One line for the user: what isolation this run actually has."""
        if not self.isolate:
            return ("none (--no-sandbox): code runs as you, with your environment, network "
                    "and files; only the wall-clock timeout applies")
        who = f"uid {self.uid}" + ("" if os.geteuid() == 0 else " (yours, no capabilities)")
        return (f"user+pid+net+mount+ipc+uts namespaces, {who}, read-only / with writable "
                f"work dir and private /tmp, homes hidden, allow-listed environment, "
                f"rlimits: {self.limits.describe()}")

    def prepare_dir(self, path: Path) -> None:
        """Hand a writable dir to the sandbox uid (as root), so the program can write there."""
        if not (self.isolate and os.geteuid() == 0):
            return
        try:
            os.chown(path, self.uid, self.gid)
            for root, dirs, files in os.walk(path):  # never follows symlinks (node_modules)
                for name in dirs + files:
                    os.chown(os.path.join(root, name), self.uid, self.gid,
                             follow_symlinks=False)
        except OSError as e:  # e.g. root of a user namespace that does not map uid 65534
            raise SandboxError(f"cannot hand {path} to uid {self.uid}: {e.strerror}") from e

    def run(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str], *,
            stdin: bytes = b"", timeout: float = 10.0, writable: Iterable[Path] = (),
            readable: Iterable[Path] = (), merge_stderr: bool = False) -> RunResult:
        """Run argv in cwd; `env` is the whole environment inside the sandbox.

        `writable` (besides cwd) and `readable` name what must stay reachable: readable paths
        under a hidden home are shown again read-only, writable ones read-write. Without
        isolation, env is laid over the user's own environment.
        """
        if not self.isolate:
            return _spawn(list(argv), cwd, {**os.environ, **env}, stdin, timeout, merge_stderr,
                          None)
        cfg = self._config(cwd, [Path(p) for p in writable], [Path(p) for p in readable],
                           timeout)
        status_r, status_w = os.pipe()
        cfg["status_fd"] = status_w
        cmd = [base_interpreter(), "-I", "-S", "-B", str(LAUNCHER), json.dumps(cfg), "--",
               *argv]
        try:
            result = _spawn(cmd, cwd, dict(env), stdin, timeout, merge_stderr, status_w)
        finally:
            os.close(status_w)
            os.set_blocking(status_r, False)
            try:
                message = os.read(status_r, 8192).decode("utf-8", "replace").strip()
            except BlockingIOError:
                message = ""
            os.close(status_r)
        if message:
            raise SandboxError(message)
        return result

    def _config(self, cwd: Path, writable: list[Path], readable: list[Path],
                timeout: float) -> dict:
        write = _unique([_real(cwd), *map(_real, writable)])
        read = _unique(map(_real, readable))
        masks = _masks(write + read, as_root=os.geteuid() == 0)
        # a readable path that holds a mask would show the hidden dir again
        read = [r for r in read if not any(_within(m, r) for m in masks)]
        lim = self.limits
        nproc = lim.processes if os.geteuid() == 0 else lim.processes + 2  # launcher + pid 1
        return {"uid": self.uid, "gid": self.gid, "cwd": _real(cwd), "writable": write,
                "readable": read, "masks": masks, "scratch": list(SCRATCH_DIRS),
                "tmp_size": self.tmp_size, "deadline": timeout + 2 * _GRACE,
                "limits": {"cpu": lim.cpu_seconds, "as": lim.address_space,
                           "fsize": lim.file_size, "nproc": nproc, "nofile": lim.open_files,
                           "core": 0}}


def _spawn(argv: list[str], cwd: Path, env: dict[str, str], stdin: bytes, timeout: float,
           merge_stderr: bool, status_fd: int | None) -> RunResult:
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                            start_new_session=True,
                            pass_fds=(status_fd,) if status_fd is not None else ())
    timed_out = False
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        # the launcher kills the namespace's init on SIGTERM and waits until it is empty
        if status_fd is not None:
            proc.terminate()
        else:
            _killpg(proc.pid)
        try:
            out, err = proc.communicate(timeout=_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    finally:
        _killpg(proc.pid)
    return RunResult(None if timed_out else proc.returncode, out or b"", err or b"",
                     timed_out, time.perf_counter() - t0)


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _real(p: Path | str) -> str:
    return os.path.realpath(p)


def _unique(paths: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(paths))


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _masks(paths: list[str], as_root: bool) -> list[str]:
    """Dirs hidden behind an empty tmpfs: home directories (secrets: keys, tokens, shell
    history) and, as root, the first dir on each needed path that uid 65534 cannot enter."""
    found = set()
    for home in (os.path.expanduser("~"), pwd.getpwuid(os.geteuid()).pw_dir, "/root"):
        real = _real(home) if home else ""
        if real not in ("", "/") and os.path.isdir(real):
            found.add(real)
    if as_root:
        for p in paths:
            blocked = _untraversable_ancestor(p)
            if blocked:
                found.add(blocked)
    scratch = [_real(d) for d in SCRATCH_DIRS]
    kept = [m for m in found if not any(_within(m, s) for s in scratch)]
    return sorted(m for m in kept if not any(o != m and _within(m, o) for o in kept))


def _untraversable_ancestor(path: str) -> str | None:
    parts = Path(path).parts
    for i in range(2, len(parts) + 1):
        anc = os.path.join(*parts[:i])
        try:
            mode = os.stat(anc).st_mode
        except OSError:
            return None
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return anc
    return None


def base_interpreter() -> str:
    """The base install's python, not a virtual environment's: the launcher and LCB samples
    need only the standard library, and a venv's python would need the venv shown too."""
    exe = getattr(sys, "_base_executable", "") or sys.executable
    return os.path.realpath(exe)


def python_paths() -> list[Path]:
    """What a python (this venv's or the base one) needs to be visible inside the sandbox."""
    return [Path(_real(p)) for p in _unique([sys.prefix, sys.base_prefix,
                                             os.path.dirname(base_interpreter())])]


@functools.cache
def check() -> str | None:
    """None when this machine can isolate; else the reason (tried once, in a real run)."""
    probe = Sandbox(limits=Limits(cpu_seconds=5))
    with tempfile.TemporaryDirectory(prefix="hrm-sandbox-probe-") as d:
        work = Path(d)
        try:
            probe.prepare_dir(work)
            r = probe.run(["true"], work, {"PATH": DEFAULT_PATH}, timeout=30)
        except SandboxError as e:
            return str(e)
        except OSError as e:
            return f"cannot start the launcher: {e}"
    if r.returncode != 0:
        return f"the probe exited {r.returncode}: {r.stderr.decode(errors='replace')[-300:]}"
    return None


def open_sandbox(limits: Limits, no_sandbox: bool = False) -> Sandbox:
    """The sandbox a benchmark runs in; raises SandboxUnavailable (with the fix) when this
    machine cannot isolate and the user did not opt out."""
    if no_sandbox:
        return Sandbox(limits=limits, isolate=False)
    why = check()
    if why:
        raise SandboxUnavailable(
            f"cannot isolate model-written code here ({why}); refusing to run it. Enable "
            "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 or "
            "user.max_user_namespaces > 0), or pass --no-sandbox to run it as yourself, "
            "with your environment, network and files")
    return Sandbox(limits=limits)
