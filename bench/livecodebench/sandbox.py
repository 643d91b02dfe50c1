"""Run untrusted programs in a child process that cannot hurt the machine or the run.

Why each layer exists:
- rlimits (CPU, address space, file size, process count) stop loops, huge allocations,
  disk filling and fork bombs;
- RLIMIT_NPROC is not enforced for uid 0, so as root the child drops to a private
  unprivileged uid (one per worker slot, so parallel samples do not share a process budget)
  and cannot write root-owned files;
- a new mount namespace hides the world-writable dirs (/tmp, /var/tmp, /dev/shm) behind
  fresh tmpfs mounts, so the only writable place is the sample's own directory;
- a new network namespace has no interfaces but loopback: no network;
- on exit or timeout every process of the sandbox uid is killed with kill(-1) from that uid,
  which also reaps children that escaped the process group.

As a non-root user the same is done inside a new user namespace where possible; when the
kernel refuses namespaces we still apply the rlimits and clear proxy variables, and report
that through `Sandbox.isolated`.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
_MASKED_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
_UID_BASE = 200_000
_uid_counter = itertools.count()
SANDBOX_CWD = "/tmp/sandbox"  # where the program sees its working dir


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 10
    address_space: int = 4 << 30
    file_size: int = 64 << 20
    processes: int = 64


@dataclass
class RunResult:
    returncode: int | None  # None when killed for the wall-clock timeout
    stdout: bytes
    stderr: bytes
    timed_out: bool
    seconds: float


@dataclass
class Sandbox:
    """One sandbox per worker slot; `uid` is only used when running as root."""

    slot: int = 0
    limits: Limits = field(default_factory=Limits)
    uid: int = field(init=False)

    def __post_init__(self) -> None:
        self.uid = _fresh_uid()

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def prepare_dir(self, path: Path) -> None:
        """Hand the working dir to the sandbox uid so the program can write there (only)."""
        if self.as_root:
            for p in [path, *path.rglob("*")]:
                os.chown(p, self.uid, self.uid, follow_symlinks=False)

    def run(self, argv: list[str], cwd: Path, stdin: bytes = b"",
            timeout: float = 10.0) -> RunResult:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(cwd),
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        py_lib = _python_lib_dir()
        if py_lib:
            env["LD_LIBRARY_PATH"] = py_lib
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, start_new_session=True,
                                preexec_fn=self._preexec)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            self.kill_all(proc)
            out, err = proc.communicate()
            timed_out = True
        finally:
            self.kill_all(proc)
        return RunResult(None if timed_out else proc.returncode, out, err, timed_out,
                         time.perf_counter() - t0)

    def kill_all(self, proc: subprocess.Popen) -> None:
        """Kill the process group, then (as root) everything still running as the sandbox uid."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.as_root and not _kill_uid(self.uid):
            # killed processes linger as zombies until init reaps them, and they still count
            # against RLIMIT_NPROC: give the next sample a fresh uid instead of waiting
            self.uid = _fresh_uid()

    def _preexec(self) -> None:
        # Runs in the child between fork and exec: only async-signal-tolerant, simple work.
        _isolate(self.uid if self.as_root else None)
        lim = self.limits
        resource.setrlimit(resource.RLIMIT_CPU, (lim.cpu_seconds, lim.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (lim.address_space, lim.address_space))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim.file_size, lim.file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        nproc = lim.processes
        if not self.as_root:  # the count covers all the user's processes, not just ours
            nproc += _count_own_processes()
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if self.as_root:
            os.setgroups([])
            os.setresgid(self.uid, self.uid, self.uid)
            os.setresuid(self.uid, self.uid, self.uid)


def base_interpreter() -> str:
    """The base install's python, not a virtual environment's: venvs often live under /tmp,
    which the sandbox masks, and samples may only use the standard library anyway."""
    exe = getattr(sys, "_base_executable", "") or sys.executable
    return os.path.realpath(exe)


def namespaces_available() -> bool:
    """Whether the kernel lets us isolate (tested once in a throwaway child)."""
    global _NS_OK
    if _NS_OK is None:
        pid = os.fork()
        if pid == 0:
            try:
                _isolate(_UID_BASE if os.geteuid() == 0 else None, strict=True)
                os._exit(0)
            except BaseException:
                os._exit(1)
        _NS_OK = os.waitpid(pid, 0)[1] == 0
    return _NS_OK


_NS_OK: bool | None = None
_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    def enc(s: str | None) -> bytes | None:
        return s.encode() if s is not None else None

    _check(_libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def _isolate(sandbox_uid: int | None, strict: bool = False) -> None:
    """New network + mount namespaces, world-writable dirs masked, python kept reachable."""
    try:
        flags = CLONE_NEWNS | CLONE_NEWNET
        if sandbox_uid is None:
            uid, gid = os.getuid(), os.getgid()
            _check(_libc.unshare(flags | CLONE_NEWUSER), "unshare")
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
            Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        else:
            _check(_libc.unshare(flags), "unshare")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        prefix = Path(sys.base_prefix)
        blocked = _untraversable_ancestor(prefix) if sandbox_uid is not None else None
        keep = os.open(prefix, os.O_PATH) if blocked else None
        cwd = os.open(".", os.O_PATH)
        for d in _MASKED_DIRS:
            if os.path.isdir(d):
                _mount("tmpfs", d, "tmpfs", 0, "size=64m,mode=1777")
        # the working dir may itself live under a masked dir: re-expose it at a fixed path
        os.mkdir(SANDBOX_CWD)
        _mount(f"/proc/self/fd/{cwd}", SANDBOX_CWD, None, MS_BIND | MS_REC)
        os.close(cwd)
        os.chdir(SANDBOX_CWD)
        if blocked and keep is not None:
            # e.g. python under /root (mode 700): hide the dir, re-expose only the prefix
            _mount("tmpfs", str(blocked), "tmpfs", 0, "size=1m,mode=755")
            prefix.mkdir(parents=True, exist_ok=True)
            _mount(f"/proc/self/fd/{keep}", str(prefix), None, MS_BIND | MS_REC)
            os.close(keep)
    except OSError:
        if strict:
            raise
        for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
            os.environ.pop(k, None)


def _untraversable_ancestor(path: Path) -> Path | None:
    for anc in reversed([path, *path.parents]):
        if not os.stat(anc).st_mode & stat.S_IXOTH:
            return anc
    return None


def _python_lib_dir() -> str | None:
    lib = Path(sys.base_prefix) / "lib"
    return str(lib) if any(lib.glob("libpython*.so*")) else None


def _count_own_processes() -> int:
    uid, n = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    n += 1
            except OSError:
                pass
    return n


def _fresh_uid() -> int:
    """Per hrm process and allocation, so parallel runs and workers never share a uid."""
    return _UID_BASE + (os.getpid() % 4096) * 1024 + next(_uid_counter) % 1024


def _kill_uid(uid: int) -> bool:
    """kill(-1) as `uid` signals every process of that uid at once; True when none is left."""
    for _ in range(20):
        pid = os.fork()
        if pid == 0:
            try:
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            os._exit(0)
        os.waitpid(pid, 0)
        if not _uid_has_processes(uid):
            return True
        time.sleep(0.01)
    return False


def _uid_has_processes(uid: int) -> bool:
    # /proc/<pid> ownership follows the dumpable flag, so read the real uid from status.
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("Uid:") and int(line.split()[1]) == uid:
                    return True
    return False
