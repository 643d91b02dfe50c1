"""The benchmark sandbox (bench/sandbox.py) against hostile samples, as root and as nobody.

Each containment is shown twice on real processes: it holds inside the sandbox, and the very
same sample gets through with --no-sandbox, so every test fails if its containment is off.
"as-me" runs the sandbox from this process (root here: the sample drops to uid 65534); "as-
nobody" runs it from a driver process that is itself uid 65534 (the user-namespace path).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.sandbox import Limits, Sandbox, check
from tests.sandbox_hostile import (
    CASES,
    LIMITS,
    SECRET_VAR,
    nobody_python,
    python_solution,
    run_as_nobody,
    run_case,
    run_lcb,
    run_polyglot,
)

REPO = Path(__file__).resolve().parent.parent
ROOT = os.geteuid() == 0
SECRET = f"sk-test-{uuid.uuid4().hex}"
# In the sandbox the CPU loop ends at 1 s of CPU time, however long a loaded machine takes to
# give it that (a niced test next to a training job waited over 60 s), so its wall clock is
# generous; without the sandbox only the wall clock stops it, so that run gets 4 s.
TIMEOUTS = {True: {"cpu_loop": 300.0, "fork_bomb": 4.0}, False: {"cpu_loop": 4.0}}

pytestmark = pytest.mark.skipif(check() is not None, reason=f"no isolation here: {check()}")


class Listener:
    """A TCP listener on 127.0.0.1 that records what each connection sends."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(3)
            with conn:
                try:
                    self.received.append(conn.recv(200))
                except OSError:
                    self.received.append(b"")

    def got(self, token: str, wait: float = 2.0) -> bool:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if any(token.encode() in r for r in self.received):
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    srv = Listener()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def outside() -> Iterator[Path]:
    """A world-writable dir that is not the work dir, not a scratch dir and not a home, so
    only the read-only view of / keeps a sample (even as nobody) from writing there."""
    base = Path("/var/lib") if ROOT and os.access("/var/lib", os.W_OK) else REPO / "tests"
    d = Path(tempfile.mkdtemp(prefix=".hrm-sandbox-escape-", dir=base))
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def secret_env() -> Iterator[str]:
    """The parent's environment holds an API key, as it does when hrm talks to a server."""
    old = os.environ.get(SECRET_VAR)
    os.environ[SECRET_VAR] = SECRET
    yield SECRET
    if old is None:
        del os.environ[SECRET_VAR]
    else:
        os.environ[SECRET_VAR] = old


def _ctx(outside: Path, listener: Listener, isolate: bool) -> dict:
    return {"outside": str(outside), "token": f"tok-{uuid.uuid4().hex}", "port": listener.port,
            "timeouts": TIMEOUTS[isolate]}


Runner = Callable[[str, bool], dict]


@pytest.fixture(scope="module", params=["as-me", "as-nobody"])
def runner(request, outside: Path, listener: Listener, secret_env: str) -> Runner:
    """run(case, isolate) -> what the hostile sample achieved, for the mode under test."""
    if request.param == "as-me":
        return lambda case, isolate: run_case(case, isolate, _ctx(outside, listener, isolate))
    if not ROOT:
        pytest.skip("switching to uid 65534 needs root; as-me already runs unprivileged")
    if shutil.which("setpriv") is None or nobody_python() is None:
        pytest.skip("needs setpriv (util-linux) and a python3 that uid 65534 can run")
    batches: dict[bool, dict] = {}

    def run(case: str, isolate: bool) -> dict:
        if isolate not in batches:  # one driver process per mode runs every case
            cases = [c for c in CASES if isolate or c != "fork_bomb"]
            req = {"isolate": isolate, "cases": cases,
                   "ctx": _ctx(outside, listener, isolate)}
            batches[isolate] = run_as_nobody(req, secret_env, REPO)
        return batches[isolate][case]

    return run


def test_describe_says_which_isolation(runner: Runner, request) -> None:
    mode = request.node.callspec.params["runner"]
    line = runner("env_secret", True)["describe"]
    uid = 65534 if ROOT or mode == "as-nobody" else os.getuid()
    assert line.startswith(f"user+pid+net+mount+ipc+uts namespaces, uid {uid}")
    assert ("(yours, no capabilities)" in line) == (mode == "as-nobody" or not ROOT)
    assert "address space 1 GiB" in line and "32 processes" in line
    assert runner("env_secret", False)["describe"].startswith("none (--no-sandbox)")


def test_writes_outside_the_work_dir_are_contained(runner: Runner, outside: Path) -> None:
    r = runner("write_outside", True)
    tok = r["token"]
    escaped = [outside / f"escaped-{tok}", *(Path(d) / tok for d in ("/tmp", "/var/tmp",
                                                                    "/dev/shm"))]
    assert r["mine"], r["stderr"]  # the work dir itself stays writable
    assert [p for p in escaped if p.exists()] == []
    assert f"refused {outside}/escaped-{tok}" in r["stdout"]  # read-only, not just elsewhere
    off = runner("write_outside", False)
    try:
        assert (outside / f"escaped-{off['token']}").exists()
        assert Path("/tmp", off["token"]).exists()
    finally:
        for d in (outside, "/tmp", "/var/tmp", "/dev/shm"):
            Path(d, off["token"]).unlink(missing_ok=True)


def test_api_key_in_the_parent_environment_is_unreadable(runner: Runner) -> None:
    r = runner("env_secret", True)
    assert "env: <unset>" in r["stdout"], r["stderr"]
    assert SECRET not in r["stdout"] + r["stderr"]  # nor via /proc/<parent>/environ
    off = runner("env_secret", False)
    assert f"env: {SECRET}" in off["stdout"]


def test_host_processes_are_invisible(runner: Runner) -> None:
    r = runner("processes", True)
    assert int(r["stdout"].split("count")[1].split()[0]) <= 3  # init, the sample, its ps
    assert "pytest" not in r["stdout"]  # this test run's own command line
    off = runner("processes", False)
    assert "pytest" in off["stdout"]


def test_no_network_even_to_a_local_listener(runner: Runner, listener: Listener) -> None:
    r = runner("connect", True)
    assert "no connection" in r["stdout"], r["stderr"]
    assert not listener.got(r["token"], wait=0.5)
    off = runner("connect", False)
    assert "connected" in off["stdout"] and listener.got(off["token"])


def test_process_count_is_capped(runner: Runner) -> None:
    r = runner("fork_count", True)
    forked = int(r["stdout"].split("forked")[1].split()[0])
    assert 0 < forked < LIMITS["processes"]
    assert r["survivors"] == 0
    off = runner("fork_count", False)
    assert "forked 100" in off["stdout"]


def test_fork_bomb_is_contained_and_leaves_nothing(runner: Runner) -> None:
    # not run without the sandbox: that would take the machine down
    r = runner("fork_bomb", True)
    assert r["timed_out"] and r["survivors"] == 0
    assert r["seconds"] < 4.0 + 15  # the timeout plus the namespace teardown


def test_infinite_loop_is_stopped_by_the_cpu_limit(runner: Runner) -> None:
    r = runner("cpu_loop", True)
    assert not r["timed_out"] and r["returncode"] in (-signal.SIGXCPU, -signal.SIGKILL)
    off = runner("cpu_loop", False)
    assert off["timed_out"]  # only the 4 s wall clock stopped it


def test_huge_allocation_fails(runner: Runner) -> None:
    r = runner("huge_alloc", True)
    assert "MemoryError" in r["stdout"], r["stderr"]
    assert f"allocated {4 << 30}" in runner("huge_alloc", False)["stdout"]


def test_huge_file_is_cut_at_the_file_size_limit(runner: Runner) -> None:
    r = runner("huge_file", True)
    assert "refused 27" in r["stdout"]  # EFBIG
    assert r["big_size"] <= LIMITS["file_size"]
    off = runner("huge_file", False)
    assert off["big_size"] == 4 << 20


def test_setup_failure_is_an_error_not_a_result(tmp_path: Path) -> None:
    from bench.sandbox import DEFAULT_PATH, SandboxError

    sb = Sandbox(limits=Limits(cpu_seconds=2))
    sb.prepare_dir(tmp_path)
    with pytest.raises(SandboxError, match="cannot start no-such-program"):
        sb.run(["no-such-program"], tmp_path, {"PATH": DEFAULT_PATH})
    with pytest.raises(SandboxError, match="writable dir"):
        sb.run(["true"], tmp_path, {"PATH": DEFAULT_PATH}, writable=[tmp_path / "missing"])


def test_refused_namespaces_are_reported_not_bypassed(tmp_path: Path) -> None:
    """In a user namespace that may not create more (max_user_namespaces = 0), check() names
    the reason and a run fails instead of running the command unisolated."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux)")
    marker = tmp_path / "ran"
    script = ("import sys\nfrom pathlib import Path\nfrom bench.sandbox import Sandbox, check\n"
              "print('why:', check())\n"
              "try:\n    Sandbox(isolate=True).run(['touch', sys.argv[1]], Path(sys.argv[2]), "
              "{'PATH': '/usr/bin:/bin'})\nexcept Exception as e:\n"
              "    print('raised:', type(e).__name__)\n")
    r = subprocess.run(["unshare", "--user", "--map-root-user", "sh", "-c",
                        'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh",
                        os.path.realpath(sys.executable), "-c", script, str(marker),
                        str(tmp_path)],
                       capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr
    why = r.stdout.split("why:")[1].splitlines()[0].strip()
    assert why != "None" and why, r.stdout
    assert "raised: SandboxError" in r.stdout and not marker.exists()


# --- the benchmarks' own paths: LiveCodeBench's grader and polyglot's test runner ----------

FIX = REPO / "tests" / "fixtures" / "polyglot"
GO_OK = shutil.which("go") is not None


@pytest.fixture(scope="module", params=["as-me", "as-nobody"])
def bench_runner(request, outside: Path, listener: Listener, secret_env: str) -> Runner:
    """run("lcb" | "go", isolate) -> what the escape attempt achieved through that benchmark."""
    def ctx(isolate: bool) -> dict:
        return {**_ctx(outside, listener, isolate), "fixtures": str(FIX)}

    if request.param == "as-me":
        def run(kind: str, isolate: bool) -> dict:
            c = ctx(isolate)
            res = run_lcb(isolate, c) if kind == "lcb" else run_polyglot(isolate, c)
            return {**res, "token": c["token"]}

        return run
    if not ROOT:
        pytest.skip("switching to uid 65534 needs root; as-me already runs unprivileged")
    if shutil.which("setpriv") is None or nobody_python() is None:
        pytest.skip("needs setpriv (util-linux) and a python3 that uid 65534 can run")
    batches: dict[bool, dict] = {}

    def run_nobody(kind: str, isolate: bool) -> dict:
        if isolate not in batches:
            c = ctx(isolate)
            req = {"isolate": isolate, "cases": [], "lcb": True, "polyglot": GO_OK, "ctx": c}
            out = run_as_nobody(req, secret_env, REPO, FIX / "go/exercises/practice/digit-sum")
            batches[isolate] = {k: {**v, "token": c["token"]} for k, v in out.items()}
        return batches[isolate]["polyglot" if kind == "go" else "lcb"]

    return run_nobody


def test_lcb_grader_contains_an_escaping_sample(bench_runner: Runner, outside: Path,
                                                listener: Listener) -> None:
    r = bench_runner("lcb", True)
    assert r["verdict"] == "pass", r["detail"]  # it printed "contained"
    assert not (outside / f"escaped-lcb-{r['token']}").exists()
    assert not listener.got(r["token"], wait=0.2)
    off = bench_runner("lcb", False)
    assert off["verdict"] == "wrong answer" and "file env net" in off["detail"]
    assert (outside / f"escaped-lcb-{off['token']}").exists() and listener.got(off["token"])


@pytest.mark.skipif(not GO_OK, reason="go is not installed (apt-get install golang-go)")
def test_polyglot_go_tests_contain_an_escaping_solution(bench_runner: Runner, outside: Path,
                                                        listener: Listener) -> None:
    r = bench_runner("go", True)
    assert r["passed"], r["output"]  # the exercise's own tests still pass in the sandbox
    assert r["leak"] == ""  # the API key was not in its environment
    assert not (outside / f"escaped-go-{r['token']}").exists()
    assert not listener.got(r["token"], wait=0.2)
    off = bench_runner("go", False)
    assert off["passed"] and off["leak"] == SECRET
    assert (outside / f"escaped-go-{off['token']}").exists() and listener.got(off["token"])


@pytest.mark.parametrize("isolate", [True, False])
def test_polyglot_python_tests_contain_an_escaping_solution(
        isolate: bool, outside: Path, listener: Listener, secret_env: str,
        tmp_path: Path) -> None:
    from bench.polyglot.exercises import discover
    from bench.polyglot.testrun import run_tests, sandbox_for

    ex = discover(FIX, ["python"], ["digit-sum"])[0]
    work = tmp_path / ex.slug
    shutil.copytree(ex.path, work)
    ctx = _ctx(outside, listener, isolate)
    (work / "digit_sum.py").write_text(python_solution(ctx))
    passed, output, _ = run_tests(ex, work, 120, sandbox_for(isolate))
    assert passed, output
    escaped = (outside / f"escaped-py-{ctx['token']}").exists()
    assert escaped == (not isolate)
    assert (work / "leak.txt").read_text() == ("" if isolate else SECRET)
    assert listener.got(ctx["token"], wait=0.5 if isolate else 2.0) == (not isolate)


def test_polyglot_fork_bomb_in_a_solution_ends_with_the_run(tmp_path: Path) -> None:
    from bench.polyglot.exercises import discover
    from bench.polyglot.testrun import LIMITS, run_tests

    ex = discover(FIX, ["python"], ["digit-sum"])[0]
    work = tmp_path / ex.slug
    shutil.copytree(ex.path, work)
    name = f"bomb{uuid.uuid4().hex[:11]}"  # a process name (15 chars at most) to look for
    (work / "digit_sum.py").write_text(
        f"import os, time\nwith open('/proc/self/comm', 'w') as f:\n    f.write({name!r})\n"
        "n = 0\nwhile n < 5000:\n    try:\n        if os.fork() == 0:\n"
        "            time.sleep(60)\n            os._exit(0)\n        n += 1\n"
        "    except OSError:\n        break\nprint('forked', n)\ntime.sleep(60)\n")
    t0 = time.monotonic()
    passed, output, timed_out = run_tests(ex, work, timeout=15)
    assert not passed and timed_out and time.monotonic() - t0 < 15 + 30
    alive = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    assert alive == ""  # every process it started died with the sandbox
    assert LIMITS.processes < 5000


def test_polyglot_links_planted_by_a_solution_are_not_written_through(
        tmp_path: Path, outside: Path) -> None:
    """The tests run with write access to the exercise copy; restoring the pristine tests
    afterwards (as root here) must replace a planted link, not write to where it points."""
    from bench.polyglot.exercises import discover
    from bench.polyglot.testrun import run_tests

    ex = discover(FIX, ["python"], ["digit-sum"])[0]
    work = tmp_path / ex.slug
    shutil.copytree(ex.path, work)
    victim = outside / f"victim-{uuid.uuid4().hex}"
    victim.write_text("precious\n")
    (work / "digit_sum.py").write_text(
        "import os\nos.remove('digit_sum_test.py')\n"
        f"os.symlink({str(victim)!r}, 'digit_sum_test.py')\n"
        "def digit_sum(number):\n    return sum(int(d) for d in str(number))\n")
    run_tests(ex, work, 120)
    assert (work / "digit_sum_test.py").is_symlink()  # the solution did plant it
    passed, output, _ = run_tests(ex, work, 120)  # restores the tests over the link
    assert victim.read_text() == "precious\n"
    assert passed, output  # the pristine tests were in place (and ran) again
