"""Run a command for the agent: confined cwd, merged and capped output, and no orphans.

Each child gets its own session (process group) so a timeout or Ctrl-C can kill everything
it spawned — test runners and build tools fork freely, and a leaked grandchild would hold the
output pipe open and keep burning CPU after we have moved on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hrmcli.tools.errors import ToolError
from hrmcli.tools.paths import resolve_in_root

_CHUNK = 65536
# After the main child exits, how long a background grandchild may keep the pipe open.
_STRAGGLER_GRACE_S = 1.0


@dataclass(frozen=True)
class ShellResult:
    argv: list[str]
    returncode: int
    output: str
    duration: float
    timed_out: bool
    via_shell: bool = False  # True when a string command went through /bin/sh -c

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


class _CappedBuffer:
    """Keeps the first and last halves of the output: errors show up early, summaries late."""

    def __init__(self, limit: int) -> None:
        self.head_cap = limit // 2
        self.tail_cap = limit - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.tail_cap:
                del self.tail[: len(self.tail) - self.tail_cap]

    def text(self) -> str:
        cut = self.total - len(self.head) - len(self.tail)
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if cut <= 0:
            return head + tail
        return f"{head}\n[... {cut} bytes of output cut ({self.total} in total) ...]\n{tail}"


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _pump(stream, buf: _CappedBuffer) -> None:
    while chunk := stream.read1(_CHUNK):
        buf.add(chunk)


def run(argv: list[str] | str, cwd: str | Path, root: str | Path, timeout: float = 120,
        max_output: int = 64_000, env: dict[str, str] | None = None) -> ShellResult:
    """Run `argv` in `cwd` (which must be inside `root`); `env` is added to the current environment.

    A string is run through `/bin/sh -c` (pipes, redirects); a list is executed directly.
    """
    via_shell = isinstance(argv, str)
    args = ["/bin/sh", "-c", argv] if via_shell else list(argv)
    if not args or (via_shell and not argv.strip()):
        raise ToolError("empty command.")
    real_cwd = resolve_in_root(root, cwd, allow_root=True)[1]
    if not real_cwd.is_dir():
        raise ToolError(f"working directory {cwd} is not a directory inside the repository.")
    full_env = {**os.environ, **env} if env else None
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            args, cwd=real_cwd, env=full_env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
    except FileNotFoundError as e:
        raise ToolError(f"command not found: {args[0]}; is it installed and on PATH?") from e
    except PermissionError as e:
        raise ToolError(f"{args[0]} is not executable.") from e
    buf = _CappedBuffer(max_output)
    reader = threading.Thread(target=_pump, args=(proc.stdout, buf), daemon=True)
    reader.start()
    timed_out = False
    try:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
        reader.join(_STRAGGLER_GRACE_S)
        if reader.is_alive():  # a background grandchild still holds the pipe
            _kill_group(proc)
            reader.join()
    except KeyboardInterrupt:
        _kill_group(proc)
        proc.wait()
        raise
    finally:
        proc.stdout.close()
    output = buf.text()
    if timed_out:
        output += f"\n[timed out after {timeout:g} s; the command and its children were killed]\n"
    return ShellResult(args, proc.returncode, output, time.monotonic() - started, timed_out,
                       via_shell)
