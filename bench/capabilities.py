"""How often a model does issue 13's capabilities: multi-file edits, docs, git workflows.

    python -m bench.capabilities [--model M] [--only NAME,...] [--timeout 300] [--json]

Each scenario is a small real git repository built in a temporary folder, one `hrm`
command run as a user runs it (`--yes`, the model named by --model, default the bundled
one) and a check of the result by running code or reading git:

- rename-py / rename-js: `hrm edit` on three files renames a function everywhere (the
  programs still run);
- doc-py: `hrm doc` gives every function a docstring and changes no code;
- merge: `hrm run "resolve the merge conflict in calc.py"` ends in a merge commit (two
  parents) whose tests pass;
- branch-fix: `hrm run "create a branch for this fix, ..."` commits a passing fix on a new
  branch and leaves main alone;
- summary: `hrm run "summarise what changed since main"` writes .hrm/pr-description.md
  naming the changed function.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def _repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "bench@example.invalid")
    _git(root, "config", "user.name", "bench")
    _commit(root, files, "start")
    return root


def _commit(repo: Path, files: dict[str, str], msg: str) -> None:
    for name, text in files.items():
        (repo / name).write_text(text, encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", msg)


def _ok(cmd: list[str], cwd: Path) -> bool:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=120).returncode == 0


PY_UTIL = "def compute_total(xs):\n    return sum(xs)\n"
PY_A = "from util import compute_total\n\nprint(compute_total([1, 2]))\n"
PY_B = "import util\n\nassert util.compute_total([3]) == 3\n"
JS_UTIL = "function computeTotal(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\nmodule.exports = { computeTotal };\n"
JS_A = "const { computeTotal } = require('./util');\nconsole.log(computeTotal([1, 2]));\n"
JS_B = "const util = require('./util');\nif (util.computeTotal([3]) !== 3) process.exit(1);\n"
CALC = "def total(items):\n    return sum(items)\n"
TEST = "from calc import total\n\n\ndef test_total():\n    assert total([1, 2, 3]) == 6\n"


def _renamed(repo: Path, old: str, new: str, files: list[str], run: list[list[str]]) -> bool:
    texts = [(repo / f).read_text() for f in files]
    return (all(old not in t and new in t for t in texts)
            and all(_ok(c, repo) for c in run))


def rename_py(tmp: Path):
    repo = _repo(tmp / "r", {"util.py": PY_UTIL, "a.py": PY_A, "b.py": PY_B})
    cmd = ["edit", "util.py", "a.py", "b.py", "rename compute_total to calculate_total"]
    return repo, cmd, lambda: _renamed(repo, "compute_total", "calculate_total",
                                       ["util.py", "a.py", "b.py"],
                                       [[sys.executable, "a.py"], [sys.executable, "b.py"]])


def rename_js(tmp: Path):
    repo = _repo(tmp / "r", {"util.js": JS_UTIL, "a.js": JS_A, "b.js": JS_B})
    cmd = ["edit", "util.js", "a.js", "b.js", "rename computeTotal to calculateTotal"]
    return repo, cmd, lambda: _renamed(repo, "computeTotal", "calculateTotal",
                                       ["util.js", "a.js", "b.js"],
                                       [["node", "a.js"], ["node", "b.js"]])


def doc_py(tmp: Path):
    src = ("def area(w, h):\n    return w * h\n\n\ndef perimeter(w, h):\n"
           "    return 2 * (w + h)\n")
    repo = _repo(tmp / "r", {"geometry.py": src})

    def check() -> bool:
        tree = ast.parse((repo / "geometry.py").read_text())
        fns = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        return len(fns) == 2 and all(ast.get_docstring(f) for f in fns)
    return repo, ["doc", "geometry.py"], check


def merge(tmp: Path):
    repo = _repo(tmp / "r", {"calc.py": CALC, "test_calc.py": TEST})
    _git(repo, "checkout", "-q", "-b", "feature")
    _commit(repo, {"calc.py": "def total(items, start=0):\n    return sum(items, start)\n"}, "start")
    _git(repo, "checkout", "-q", "main")
    _commit(repo, {"calc.py": "def total(items):\n    return sum(x for x in items if x is not None)\n"},
            "skip None")
    subprocess.run(["git", "merge", "-q", "feature"], cwd=repo, capture_output=True)

    def check() -> bool:
        parents = _git(repo, "log", "-1", "--format=%P").split()
        return len(parents) == 2 and _ok([sys.executable, "-m", "pytest", "-q"], repo)
    return repo, ["run", "resolve the merge conflict in calc.py", "--max-steps", "8"], check


def branch_fix(tmp: Path):
    repo = _repo(tmp / "r", {"calc.py": "def total(items):\n    return sum(items) - 1\n",
                             "test_calc.py": TEST})
    main_head = _git(repo, "rev-parse", "main")

    def check() -> bool:
        branch = _git(repo, "branch", "--show-current")
        return (branch not in ("main", "") and _git(repo, "rev-parse", "main") == main_head
                and _git(repo, "rev-parse", "HEAD") != main_head
                and not _git(repo, "status", "--porcelain", "--untracked-files=no")
                and _ok([sys.executable, "-m", "pytest", "-q"], repo))
    request = "create a branch for this fix, make the failing test pass, and commit"
    return repo, ["run", request, "--max-steps", "8"], check


def summary(tmp: Path):
    repo = _repo(tmp / "r", {"calc.py": CALC, "test_calc.py": TEST})
    _git(repo, "checkout", "-q", "-b", "feature")
    _commit(repo, {"calc.py": CALC + "\n\ndef average(items):\n    return total(items) / len(items)\n"},
            "add average")
    head = _git(repo, "rev-parse", "HEAD")

    def check() -> bool:
        draft = repo / ".hrm" / "pr-description.md"
        return (draft.is_file() and "average" in draft.read_text(errors="replace")
                and _git(repo, "rev-parse", "HEAD") == head)
    return repo, ["run", "summarise what changed since main", "--max-steps", "6"], check


SCENARIOS = {"rename-py": rename_py, "rename-js": rename_js, "doc-py": doc_py,
             "merge": merge, "branch-fix": branch_fix, "summary": summary}


def run_one(name: str, model: str | None, timeout: int, tmp: Path) -> dict:
    repo, args, check = SCENARIOS[name](tmp)
    cmd = [sys.executable, "-m", "hrmcli", *args, "--yes"]
    if args[0] == "run":
        cmd += ["--repo", str(repo)]
    if model:
        cmd += ["--model", model]
    env = {**os.environ, "HRM_HOME": str(tmp / "home")}
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        rc, tail = p.returncode, (p.stderr or p.stdout).strip().splitlines()[-1:] or [""]
    except subprocess.TimeoutExpired:
        rc, tail = None, [f"timed out after {timeout} s"]
    ok = check() if rc is not None else False
    return {"scenario": name, "success": bool(ok), "exit": rc,
            "seconds": round(time.perf_counter() - t0, 1), "last_line": tail[0][:200]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.capabilities",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="as hrm --model (default: the bundled model)")
    ap.add_argument("--only", default="", help="comma-separated scenario names")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    names = [n for n in a.only.split(",") if n] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")
    rows = []
    for n in names:
        with tempfile.TemporaryDirectory(prefix=f"hrm-cap-{n}-") as d:
            rows.append(run_one(n, a.model, a.timeout, Path(d)))
        if not a.json:
            r = rows[-1]
            print(f"{n:<11} {'ok' if r['success'] else 'FAIL':<5} exit {r['exit']} "
                  f"{r['seconds']:>6.1f} s  {r['last_line']}")
    res = {"model": a.model or "bundled", "success": sum(r["success"] for r in rows),
           "total": len(rows), "rows": rows}
    if a.json:
        print(json.dumps(res))
    else:
        print(f"{res['success']} of {res['total']} scenarios succeeded with {res['model']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
