"""Runs inside the sandbox: grade one sample against its tests with LiveCodeBench semantics.

Copied into the sample's working dir and run as `python -I _harness.py`; it must use only
the standard library. One forked child per test (cheap after the interpreter is up) so a
test that hangs or crashes is killed alone and state never leaks between tests. The verdict
goes to the harness's own stdout as one JSON line; children write theirs to files.
"""

import json
import os
import resource
import select
import signal
import sys
from decimal import Decimal, InvalidOperation

# LiveCodeBench runs every program after a prelude of star-imports and a raised recursion
# limit; programs rely on it (e.g. `List[int]` or `defaultdict` without an import).
_PRELUDE_MODULES = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy",
                    "math", "random", "statistics", "itertools", "functools", "operator",
                    "io", "sys", "json", "builtins", "typing")
PRELUDE = "".join(f"from {m} import *\n" for m in _PRELUDE_MODULES) + \
    "import " + ", ".join(m for m in _PRELUDE_MODULES if m != "builtins") + "\n" + \
    "sys.setrecursionlimit(50000)\n"


def lines_equal(got: str, want: str) -> bool:
    """Line-by-line after stripping; a differing line passes when its tokens are equal decimals."""
    got_lines = [line.strip() for line in got.strip().split("\n")]
    want_lines = [line.strip() for line in want.strip().split("\n")]
    if len(got_lines) != len(want_lines):
        return False
    for a, b in zip(got_lines, want_lines, strict=True):
        if a == b:
            continue
        try:
            if [Decimal(t) for t in a.split()] != [Decimal(t) for t in b.split()]:
                return False
        except InvalidOperation:
            return False
    return True


def _child(code, test, kind, func_name, cpu_seconds):
    os.setpgid(0, 0)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        cpu_seconds = min(cpu_seconds, hard - 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    with open("in.txt", "w", encoding="utf-8") as f:
        f.write(test["input"])
    fd_in = os.open("in.txt", os.O_RDONLY)
    fd_out = os.open("out.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    fd_err = os.open("err.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd_in, 0)
    os.dup2(fd_out, 1)
    os.dup2(fd_err, 2)
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    scope = {"__name__": "__main__", "__builtins__": __builtins__}
    status = "ok"
    try:
        exec(PRELUDE, scope)
        if kind == "stdin":
            exec(code, scope)
        else:
            status = "compile"
            exec(code, scope)
            method = getattr(scope["Solution"](), func_name)
            status = "ok"
            args = [json.loads(line) for line in test["input"].split("\n")]
            got = method(*args)
            if isinstance(got, tuple):
                got = list(got)
            if got != json.loads(test["output"]):
                status = "wrong"
    except SystemExit as e:
        if e.code not in (None, 0):
            status = "runtime"
    except BaseException as e:  # the program's own failure, reported as a verdict
        status = status if status == "compile" else "runtime"
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        with open("status.txt", "w") as f:
            f.write(status)
    except BaseException:
        os._exit(3)
    os._exit(0)


def _run_test(code, test, kind, func_name, timeout):
    for name in ("status.txt", "out.txt"):
        if os.path.exists(name):
            os.unlink(name)
    pid = os.fork()
    if pid == 0:
        try:
            _child(code, test, kind, func_name, int(timeout) + 1)
        finally:
            os._exit(4)
    pidfd = os.pidfd_open(pid)
    ready, _, _ = select.select([pidfd], [], [], timeout)
    if not ready:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(pidfd)
        return "time limit", "timed out"
    _, status = os.waitpid(pid, 0)
    os.close(pidfd)
    try:
        os.killpg(pid, signal.SIGKILL)  # leftovers the program forked
    except (ProcessLookupError, PermissionError):
        pass
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig in (signal.SIGXCPU, signal.SIGKILL):
            return "time limit", f"killed by signal {sig} (CPU limit)"
        return "runtime error", f"killed by signal {sig}"
    try:
        with open("status.txt") as f:
            result = f.read()
    except OSError:
        return "runtime error", f"exit status {os.WEXITSTATUS(status)}"
    err = _tail("err.txt")
    if result == "compile":
        return "compile error", err
    if result == "runtime":
        return "runtime error", err
    if result == "wrong":
        return "wrong answer", "result differs"
    if kind == "stdin":
        with open("out.txt", encoding="utf-8", errors="replace") as f:
            got = f.read()
        if not lines_equal(got, test["output"]):
            return "wrong answer", f"got {got[:200]!r}, want {test['output'][:200]!r}"
    return "pass", ""


def _tail(name):
    try:
        with open(name, encoding="utf-8", errors="replace") as f:
            return f.read()[-500:]
    except OSError:
        return ""


def main():
    with open("spec.json", encoding="utf-8") as f:
        spec = json.load(f)
    with open("solution.py", encoding="utf-8") as f:
        source = f.read()
    out = sys.stdout
    try:
        code = compile(source, "solution.py", "exec")
    except (SyntaxError, ValueError) as e:
        out.write(json.dumps({"verdict": "compile error", "passed": 0, "detail": str(e)}) + "\n")
        return
    passed = 0
    for test in spec["tests"]:
        verdict, detail = _run_test(code, test, spec["kind"], spec["func_name"], spec["timeout"])
        if verdict != "pass":
            out.write(json.dumps({"verdict": verdict, "passed": passed, "detail": detail}) + "\n")
            return
        passed += 1
    out.write(json.dumps({"verdict": "pass", "passed": passed, "detail": ""}) + "\n")


if __name__ == "__main__":
    main()
