"""The sandbox launcher: executed as the child's argv, it isolates itself, then execs the command.

    python -I -S -B sandbox_launch.py CONFIG_JSON -- COMMAND...

Why a separate program: the parent (hrm, with grading threads) must never run Python between
fork and exec (`preexec_fn` can deadlock under threads). This file runs in a fresh interpreter,
so it may take its time: it imports only the standard library, and everything it needs is
imported before the file system is narrowed.

Process tree, and why each exists:
- this launcher (outside the new PID namespace) sets up user, mount, network, PID, IPC and UTS
  namespaces and the file system view, forks pid 1, waits, and exits with the command's own
  status (re-raising its signal), so the parent sees what the command did;
- pid 1 (inside) mounts a fresh /proc (host processes and their environments stay invisible),
  forks the command and reaps orphans; when it exits, the kernel kills everything left in the
  namespace, so nothing a sample forked can outlive the run. It dies with the launcher
  (PR_SET_PDEATHSIG), and the launcher kills it on SIGTERM or when its deadline passes;
- the command drops to the sandbox uid, sets no_new_privs and the rlimits, then execs.

Setup failures are reported on the status fd (CLOEXEC, so it reads empty once the command
has started) and the launcher exits 125; the parent turns that into an error, never a verdict.
"""

import ctypes
import json
import os
import resource
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
SYS_MOUNT_SETATTR = 442  # the same number on every architecture since Linux 5.12
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
SETUP_FAILED = 125
RLIMITS = {"cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS, "fsize": resource.RLIMIT_FSIZE,
           "nproc": resource.RLIMIT_NPROC, "nofile": resource.RLIMIT_NOFILE,
           "core": resource.RLIMIT_CORE}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class SetupError(Exception):
    """A step of the isolation failed; the message names the step and the kernel's reason."""


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


def _enc(s):
    return s.encode() if s is not None else None


def _mount(src, target, fstype, flags, data=None) -> None:
    rc = _libc.mount(_enc(src), _enc(target), _enc(fstype), ctypes.c_ulong(flags), _enc(data))
    _check(rc, f"mount {target}")


def _setattr(path: str, set_: int, clr: int, recursive: bool) -> None:
    attr = _MountAttr(set_, clr, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    rc = _libc.syscall(ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD),
                       ctypes.c_char_p(path.encode()), ctypes.c_uint(flags),
                       ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)))
    if rc != 0:
        err = ctypes.get_errno()
        hint = " (needs Linux >= 5.12)" if err == 38 else ""
        raise SetupError(f"mount_setattr {path}: {os.strerror(err)}{hint}")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    except OSError as e:
        raise SetupError(f"write {path}: {e.strerror}") from None
    finally:
        os.close(fd)


def _under(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _mountpoint(path: str, is_dir: bool) -> None:
    """Create the mount point inside a fresh tmpfs mask (it exists already elsewhere)."""
    if os.path.lexists(path):
        return
    os.makedirs(path if is_dir else os.path.dirname(path), mode=0o755, exist_ok=True)
    if not is_dir:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))


def _unshare_as_root(flags: int, sid: int, sgid: int) -> None:
    """Root keeps uid 0 inside (to mount) and maps the sandbox uid the command drops to.

    A two-uid map needs CAP_SETUID in the parent namespace, which the launcher loses by
    unsharing, so a helper forked beforehand (still outside) writes the maps.
    """
    go_r, go_w = os.pipe()
    err_r, err_w = os.pipe()
    me = os.getpid()
    helper = os.fork()
    if helper == 0:
        os.close(go_w)
        os.close(err_r)
        try:
            if os.read(go_r, 1) != b"u":
                os._exit(1)
            _write(f"/proc/{me}/uid_map", f"0 0 1\n{sid} {sid} 1\n")
            _write(f"/proc/{me}/gid_map", f"0 0 1\n{sgid} {sgid} 1\n")
            os._exit(0)
        except BaseException as e:
            os.write(err_w, str(e).encode()[:500])
            os._exit(1)
    os.close(go_r)
    os.close(err_w)
    try:
        _check(_libc.unshare(flags), "unshare(user, mount, net, pid, ipc, uts namespaces)")
        os.write(go_w, b"u")
    finally:
        os.close(go_w)
        _, status = os.waitpid(helper, 0)
    why = os.read(err_r, 500).decode(errors="replace")
    os.close(err_r)
    if status != 0:
        raise SetupError(f"uid/gid map: {why or 'helper failed'}")


def isolate(cfg: dict) -> None:
    """Namespaces and the file system view; runs in the launcher before pid 1 is forked."""
    uid, gid = os.getuid(), os.getgid()
    flags = (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC
             | CLONE_NEWUTS)
    if uid == 0:
        _unshare_as_root(flags, cfg["uid"], cfg["gid"])
    else:
        _check(_libc.unshare(flags), "unshare(user, mount, net, pid, ipc, uts namespaces)")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
        _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)

    # fds of what stays reachable, opened in this mount namespace before anything is hidden
    binds = []  # (path, fd, is_dir, writable)
    for path, writable in [(p, False) for p in cfg["readable"]] + \
                          [(p, True) for p in cfg["writable"]]:
        try:
            fd = os.open(path, os.O_PATH)
        except OSError as e:
            if writable:
                raise SetupError(f"writable dir {path}: {e.strerror}") from None
            continue  # an optional toolchain path that is not there
        binds.append((path, fd, os.path.isdir(path), writable))

    _setattr("/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, recursive=True)
    for d in cfg["scratch"]:  # private, size-bounded, world-writable like the originals
        if os.path.isdir(d):
            _mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['tmp_size']},mode=1777")
    for d in cfg["masks"]:  # homes and dirs the sandbox uid cannot traverse
        if os.path.isdir(d):
            _mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    hidden = list(cfg["scratch"]) + list(cfg["masks"])
    for path, fd, is_dir, writable in sorted(binds, key=lambda b: (b[0].count("/"), b[0])):
        if _under(path, hidden):
            _mountpoint(path, is_dir)
        elif not writable:
            os.close(fd)
            continue  # visible as it is, read-only with the rest of /
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
        if writable:
            _setattr(path, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, MOUNT_ATTR_RDONLY,
                     recursive=False)
    for d in cfg["masks"]:
        if os.path.isdir(d):
            _setattr(d, MOUNT_ATTR_RDONLY, 0, recursive=False)
    os.chdir(cfg["cwd"])


def _set_limits(cfg: dict) -> None:
    for name, value in cfg["limits"].items():
        v = resource.RLIM_INFINITY if value is None else int(value)
        soft = v
        if name == "cpu" and v != resource.RLIM_INFINITY:
            v += 1  # SIGXCPU at the soft limit, SIGKILL a second later
        resource.setrlimit(RLIMITS[name], (soft, v))


def _exec_command(cfg: dict, argv: list, status_fd: int) -> None:
    """The command's process: drop privileges, limit, exec. Never returns."""
    try:
        os.setsid()
        if os.getuid() == 0:
            os.setgroups([])
            os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
            os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
        _set_limits(cfg)
        os.set_inheritable(status_fd, False)
        os.execve(_which(argv[0]), argv, os.environ)
    except BaseException as e:  # anything at all: report it, never run on
        _report(status_fd, f"cannot start {argv[0]}: {getattr(e, 'strerror', None) or e}")
        os._exit(127)


def _which(name: str) -> str:
    """PATH lookup done here (os.execvp imports modules lazily, and the launcher's own
    python may be hidden by now)."""
    if "/" in name:
        return name
    for d in os.environ.get("PATH", "").split(":"):
        full = os.path.join(d or ".", name)
        if os.path.isfile(full) and os.access(full, os.X_OK):
            return full
    raise FileNotFoundError(2, "not found on the sandbox's PATH")


def _report(fd: int, message: str) -> None:
    try:
        os.write(fd, message.encode("utf-8", "replace")[:4000])
    except OSError:
        pass


def _pid1(cfg: dict, argv: list, status_fd: int, result_w: int) -> None:
    """Init of the namespace: fresh /proc, the command as pid 2, orphans reaped."""
    try:
        _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(pdeathsig)")
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except SetupError as e:
        _report(status_fd, str(e))
        os._exit(SETUP_FAILED)
    child = os.fork()
    if child == 0:
        os.close(result_w)
        _exec_command(cfg, argv, status_fd)
    os.close(status_fd)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        if pid == child:
            if os.WIFSIGNALED(status):
                os.write(result_w, f"signal {os.WTERMSIG(status)}".encode())
            else:
                os.write(result_w, f"exit {os.WEXITSTATUS(status)}".encode())
            os._exit(0)  # the kernel now kills whatever the command left behind


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.stderr.write("usage: sandbox_launch.py CONFIG_JSON -- COMMAND...\n")
        os._exit(2)
    cfg = json.loads(sys.argv[1])
    argv = sys.argv[3:]
    status_fd = cfg["status_fd"]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        isolate(cfg)
    except (SetupError, OSError) as e:
        _report(status_fd, f"sandbox setup failed: {e}")
        os._exit(SETUP_FAILED)
    result_r, result_w = os.pipe()
    pid1 = os.fork()
    if pid1 == 0:
        os.close(result_r)
        _pid1(cfg, argv, status_fd, result_w)
    os.close(result_w)
    os.close(status_fd)

    def stop(signum, frame) -> None:  # the parent's timeout, or our own deadline
        try:
            os.kill(pid1, signal.SIGKILL)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)
    signal.alarm(max(1, int(cfg["deadline"])))
    os.waitpid(pid1, 0)  # returns once the whole namespace is gone
    signal.alarm(0)
    result = os.read(result_r, 64).decode().split()
    if not result:  # killed before the command finished
        os._exit(137)
    kind, n = result[0], int(result[1])
    if kind == "signal":  # die the same way, so the parent sees the signal
        if n not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(n, signal.SIG_DFL)
        os.kill(os.getpid(), n)
        os._exit(128 + n)  # a signal whose default is to be ignored
    os._exit(n)


if __name__ == "__main__":
    main()
