"""Tool-plan tasks: a request (and sometimes the output of a step that just failed) ->
the tool sequence HRM-Code's plan head should produce.

Step arguments follow one convention so that plans can be executed: command tools
(git_*, pip, npm, cargo, go, maven, gradle, make, cmake, shell, run_tests) carry the
full command line; read/edit/list/resolve_conflict carry a path; search carries a
pattern; done carries nothing. Every scenario can set up a real sandbox and say what an
edit step writes, so tests run plans in throwaway git repos; steps that need the network
or a missing toolchain are marked and not run.
"""

from __future__ import annotations

import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hrmcli import prompt_format as pf
from hrmcli.agent.loop import request_map

from .phrasing import expand

COMMAND_TOOLS = frozenset({
    "git_status", "git_diff", "git_add", "git_commit", "git_branch", "git_switch", "git_merge",
    "git_stash", "git_log", "pip", "npm", "cargo", "go", "maven", "gradle", "make", "cmake",
    "shell", "run_tests",
})
NETWORK_RE = re.compile(r"\b(pip install|npm install|npm i |cargo add|cargo update|go get|"
                        r"mvn|gradle|git (push|pull|fetch|clone))\b")
GIT_ENV = {"GIT_AUTHOR_NAME": "HRM Data", "GIT_AUTHOR_EMAIL": "data@hrm.invalid",
           "GIT_COMMITTER_NAME": "HRM Data", "GIT_COMMITTER_EMAIL": "data@hrm.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_EDITOR": "true", "GIT_MERGE_AUTOEDIT": "no"}


@dataclass
class Scenario:
    name: str
    request: str
    steps: list[tuple[str, str]]
    context: str = ""
    setup: Callable[[Path], str] | None = None  # builds the sandbox; returns context text
    writes: dict[int, dict[str, str]] = field(default_factory=dict)  # step -> files written
    may_fail: frozenset[int] = frozenset()  # steps whose failure the plan expects
    check: Callable[[Path], str | None] | None = None  # None when the end state is right
    difficulty: int = 2

    def record(self) -> dict:
        return {
            "prompt": pf.plan_prompt(self.request, self.context),
            "answer": pf.render_plan(self.steps) + pf.EOS,
            "kind": "plan",
            "task": self.name,
            "lang": "",
            "difficulty": self.difficulty,
            "halt": None,
            "steps": [list(s) for s in self.steps],
        }

    def needs_network(self) -> bool:
        return any(t in COMMAND_TOOLS and NETWORK_RE.search(a + " ") for t, a in self.steps)


# ---------------------------------------------------------------------------------------
# Sandbox helpers
# ---------------------------------------------------------------------------------------

def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_ENV)
    env["HOME"] = env.get("HRM_SANDBOX_HOME", env.get("HOME", "/tmp"))
    return env


def sh(root: Path, cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(cmd)
    if argv and argv[0] == "python":
        argv[0] = sys.executable
    p = subprocess.run(argv, cwd=root, env=_env(), capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError(f"sandbox setup `{cmd}` failed: {p.stdout}{p.stderr}")
    return p


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def _git_repo(root: Path, files: dict[str, str], msg: str = "Initial commit") -> None:
    sh(root, "git init -q -b main")
    _write(root, files)
    sh(root, "git add -A")
    sh(root, f"git commit -q -m {shlex.quote(msg)}")


def _git(root: Path, args: str) -> str:
    return sh(root, f"git {args}").stdout.strip()


# ---------------------------------------------------------------------------------------
# Vocabulary for variation
# ---------------------------------------------------------------------------------------

FEATURES = ("login", "search", "export", "retry", "cache", "pagination", "logging", "parser",
            "config", "metrics", "upload", "auth", "billing", "sync")
MODULES = ("app", "utils", "core", "service", "handlers", "models", "api", "helpers")
PY_PKGS = ("requests", "numpy", "rich", "pyyaml", "httpx", "click", "attrs", "pydantic")
NPM_PKGS = ("lodash", "express", "axios", "zod", "chalk", "commander", "dayjs")
CRATES = ("serde", "anyhow", "clap", "regex", "rand", "thiserror")
GO_MODS = ("github.com/google/uuid", "golang.org/x/sync", "github.com/spf13/cobra")


_CAPTURED: dict[str, str] = {}


def captured(key: str, setup: Callable[[Path], str]) -> str:
    """The real output a failing step prints, from running `setup` once in a temp dir; plan
    contexts of error-recovery tasks are real tool output, not text we made up."""
    if key not in _CAPTURED:
        with tempfile.TemporaryDirectory(prefix="hrm-plan-") as d:
            _CAPTURED[key] = setup(Path(d))
    return _CAPTURED[key]


def _say(rng: random.Random, template: str, **kw: str) -> str:
    return expand(template, rng).format(**kw)


# ---------------------------------------------------------------------------------------
# Scenario builders: each takes an rng and returns one Scenario
# ---------------------------------------------------------------------------------------

def feature_branch(rng: random.Random) -> Scenario:
    feat, mod = rng.choice(FEATURES), rng.choice(MODULES)
    branch = f"{rng.choice(['feature', 'feat', 'topic'])}/{feat}"
    path = f"src/{mod}.py"
    msg = f"Add {feat} helper"
    new = f"def greet():\n    return 'hi'\n\n\ndef {feat}_enabled():\n    return True\n"
    return Scenario(
        "feature_branch",
        _say(rng, "[Create|Start|Make] a [new |]branch `{b}`, add a `{f}_enabled()` function to "
                  "{p} [that returns True|returning True], and commit it[| with the message \"{m}\"].",
             b=branch, f=feat, p=path, m=msg),
        [("git_status", "git status"), ("git_branch", f"git switch -c {branch}"), ("read", path),
         ("edit", path), ("git_add", f"git add {path}"), ("git_commit", f'git commit -m "{msg}"'),
         ("done", "")],
        setup=lambda r: _git_repo(r, {path: "def greet():\n    return 'hi'\n"}) or "",
        writes={3: {path: new}},
        check=lambda r: None if _git(r, "branch --show-current") == branch
        and _git(r, "log -1 --format=%s") == msg and not _git(r, "status --porcelain")
        else "branch, commit or clean tree missing",
        difficulty=2,
    )


def _conflict_repo(root: Path, path: str, branch: str) -> None:
    _git_repo(root, {path: "TIMEOUT = 10\nRETRIES = 1\n"})
    sh(root, f"git switch -q -c {branch}")
    _write(root, {path: "TIMEOUT = 30\nRETRIES = 1\n"})
    sh(root, f"git commit -q -am {shlex.quote('Raise timeout')}")
    sh(root, "git switch -q main")
    _write(root, {path: "TIMEOUT = 20\nRETRIES = 1\n"})
    sh(root, f"git commit -q -am {shlex.quote('Tune timeout')}")


def _merged_ok(branch: str) -> Callable[[Path], str | None]:
    def check(r: Path) -> str | None:
        if _git(r, "status --porcelain"):
            return "tree not clean"
        parents = _git(r, "log -1 --format=%P").split()
        if len(parents) != 2:
            return "no merge commit"
        text = (r / "settings.py").read_text()
        return "conflict markers left" if "<<<<<<<" in text else None
    return check


def merge_with_conflict(rng: random.Random) -> Scenario:
    branch = f"{rng.choice(['feature', 'fix', 'hotfix'])}/{rng.choice(FEATURES)}"
    path = "settings.py"
    keep = rng.choice(["30", "20"])
    return Scenario(
        "merge_conflict",
        _say(rng, "[Merge|Bring in] `{b}` into main[| and resolve any conflicts]; "
                  "[keep|use] TIMEOUT = {k} [if they conflict|on conflict|].", b=branch, k=keep),
        [("git_switch", "git switch main"), ("git_merge", f"git merge {branch}"), ("read", path),
         ("resolve_conflict", path), ("git_add", f"git add {path}"),
         ("git_commit", "git commit --no-edit"), ("done", "")],
        setup=lambda r: _conflict_repo(r, path, branch) or "",
        writes={3: {path: f"TIMEOUT = {keep}\nRETRIES = 1\n"}},
        may_fail=frozenset({1}),
        check=_merged_ok(branch),
        difficulty=3,
    )


def finish_failed_merge(rng: random.Random) -> Scenario:
    """Error recovery: the context is the real output of a merge that just failed."""
    branch = f"feature/{rng.choice(FEATURES)}"
    path = "settings.py"

    def setup(r: Path) -> str:
        _conflict_repo(r, path, branch)
        p = sh(r, f"git merge {branch}", check=False)
        return f"$ git merge {branch}\n{p.stdout}{p.stderr}".strip()

    return Scenario(
        "recover_merge_conflict",
        _say(rng, "[The merge failed|Merging failed|My merge stopped]. [Finish it|Resolve it and "
                  "finish the merge|Fix the conflict and complete the merge][| keeping the higher timeout]."),
        [("git_status", "git status"), ("read", path), ("resolve_conflict", path),
         ("git_add", f"git add {path}"), ("git_commit", "git commit --no-edit"), ("done", "")],
        context=captured(f"merge:{branch}", setup),
        setup=setup, writes={2: {path: "TIMEOUT = 30\nRETRIES = 1\n"}}, check=_merged_ok(branch),
        difficulty=3,
    )


def _failing_project(rng: random.Random, langs: tuple[str, ...] = ("python", "javascript")):
    """A small project whose tests fail on a one-line bug, with the real failing output
    (trainer.data.test_fix_tasks.examples): module and function names vary, so a plan
    must take the file to fix from the repo map or the test output, not from memory."""
    from .test_fix_tasks import examples  # it builds its projects with _git_repo below

    return next(examples(seed=rng.randrange(2**31), langs=langs))


def _tests_pass(root: Path) -> str | None:
    from .test_fix_tasks import _run

    return None if _run(root).passed else "tests still fail"


def _fix_steps(ex, rng: random.Random, request: str) -> tuple[str, list[tuple[str, str]]]:
    """The read-edit-test steps that fix `ex`, and a commit when the request gains one."""
    from .test_fix_tasks import TEST_ARG

    src, arg = ex.project.src, TEST_ARG[ex.project.lang]
    steps = [("read", src), ("edit", src), ("run_tests", arg)]
    if rng.random() < 0.4:
        request = request.rstrip(".") + _say(rng, "[, then commit the fix| and commit it]")
        steps += [("git_add", f"git add {src}"), ("git_commit", 'git commit -m "Fix the failing test"')]
    return request.rstrip(".") + ".", steps + [("done", "")]


def test_then_fix(rng: random.Random) -> Scenario:
    """Fix a failing test: run the tests, read and edit the module they import, rerun them;
    commit only when the request asks for it."""
    ex = _failing_project(rng)
    p = ex.project
    request, steps = _fix_steps(ex, rng, ex.request)
    steps = [("run_tests", steps[2][1])] + steps
    return Scenario(
        "test_then_fix", request, steps,
        setup=lambda r: _git_repo(r, {**p.files, p.src: ex.buggy}) or "",
        writes={2: {p.src: ex.original}}, may_fail=frozenset({0}), check=_tests_pass,
        difficulty=3,
    )


def run_tests_only(rng: random.Random) -> Scenario:
    """Just run the tests and report: no edit unless asked, whether they pass or fail."""
    from .test_fix_tasks import TEST_ARG

    ex = _failing_project(rng)
    p = ex.project
    files = {**p.files, p.src: ex.buggy} if rng.random() < 0.5 else p.files
    return Scenario(
        "run_tests_only",
        _say(rng, "[Run the tests|run the tests|Run the test suite|Do the tests pass?|"
                  "Run pytest and tell me what fails|Check whether the tests pass|"
                  "do the tests pass?|run the test suite]"),
        [("run_tests", TEST_ARG[p.lang]), ("done", "")],
        setup=lambda r: _git_repo(r, files) or "",
        may_fail=frozenset({0}),
        difficulty=1,
    )


def recover_failed_tests(rng: random.Random) -> Scenario:
    """The revision after a failed first step: the planner sees the step it ran and the
    real test output, as `hrm run` shows them (planner.hrm_plan_context over
    loop.done_line and loop.observation), and plans the fix."""
    from hrmcli.agent.loop import done_line, observation
    from hrmcli.agent.planner import run_history

    from .test_fix_tasks import TEST_ARG

    ex = _failing_project(rng)
    p = ex.project
    arg = TEST_ARG[p.lang]
    history = run_history([observation(1, "run_tests", arg, "failed", ex.output)],
                          [done_line(1, "run_tests", arg, "failed")]).strip()
    request, steps = _fix_steps(ex, rng, ex.request)
    return Scenario(
        "recover_failed_tests", request, steps, context=history,
        setup=lambda r: _git_repo(r, {**p.files, p.src: ex.buggy}) or "",
        writes={1: {p.src: ex.original}}, check=_tests_pass,
        difficulty=3,
    )


def stash_and_peek(rng: random.Random) -> Scenario:
    other = f"release/{rng.choice(['1.0', '2.1', '0.9'])}"
    return Scenario(
        "stash_switch",
        _say(rng, "[Save my uncommitted work|Put my changes aside], [look at|check] the last commits "
                  "on `{o}`, then [come back|return to main] and restore my changes.", o=other),
        [("git_status", "git status"), ("git_stash", "git stash"), ("git_switch", f"git switch {other}"),
         ("git_log", "git log --oneline -5"), ("git_switch", "git switch main"),
         ("git_stash", "git stash pop"), ("done", "")],
        setup=lambda r: (_git_repo(r, {"notes.txt": "v1\n"}), sh(r, f"git branch {other}"),
                         _write(r, {"notes.txt": "v1\nwip\n"}))[0] or "",
        check=lambda r: None if _git(r, "branch --show-current") == "main"
        and "wip" in (r / "notes.txt").read_text() else "changes not restored on main",
        difficulty=2,
    )


def move_module(rng: random.Random) -> Scenario:
    mod = rng.choice(MODULES)
    main = f"from {mod} import double\n\nprint(double(2))\n"
    return Scenario(
        "move_file",
        _say(rng, "[Move|Relocate] {m}.py into a `lib/` package and [update|fix] the import in main.py.",
             m=mod),
        [("list", "."), ("shell", "mkdir -p lib"), ("shell", "touch lib/__init__.py"),
         ("shell", f"git mv {mod}.py lib/{mod}.py"), ("edit", "main.py"),
         ("shell", "python main.py"), ("git_add", "git add -A"),
         ("git_commit", f'git commit -m "Move {mod} into lib"'), ("done", "")],
        setup=lambda r: _git_repo(r, {f"{mod}.py": "def double(x):\n    return 2 * x\n",
                                      "main.py": main}) or "",
        writes={4: {"main.py": main.replace(f"from {mod} ", f"from lib.{mod} ")}},
        check=lambda r: None if (r / "lib" / f"{mod}.py").is_file() and not (r / f"{mod}.py").exists()
        and sh(r, "python main.py", check=False).stdout.strip() == "4" else "move incomplete",
        difficulty=2,
    )


_CMAKE = ("cmake_minimum_required(VERSION 3.13)\nproject(demo CXX)\nenable_testing()\n"
          "add_executable(demo_test test.cpp)\nadd_test(NAME demo COMMAND demo_test)\n")
_CPP_TEST = "#include <cassert>\nint twice(int x) { return 2 * x; }\nint main() { assert(twice(3) == 6); }\n"


def cmake_build(rng: random.Random) -> Scenario:
    bdir = rng.choice(["build", "_build", "out"])
    return Scenario(
        "cmake_build",
        _say(rng, "[Configure and build|Build] the C++ project with CMake in `{d}/` and run its tests.",
             d=bdir),
        [("list", "."), ("cmake", f"cmake -S . -B {bdir}"), ("cmake", f"cmake --build {bdir}"),
         ("run_tests", f"ctest --test-dir {bdir} --output-on-failure"), ("done", "")],
        setup=lambda r: _git_repo(r, {"CMakeLists.txt": _CMAKE, "test.cpp": _CPP_TEST}) or "",
        check=lambda r: None if (r / bdir / "CTestTestfile.cmake").is_file() else "no build dir",
        difficulty=2,
    )


_MAKEFILE = "CFLAGS ?= -O1\n\nhello: hello.c\n\tcc $(CFLAGS) -o hello hello.c\n\ntest: hello\n\t./hello\n\nclean:\n\trm -f hello\n"


def make_test(rng: random.Random) -> Scenario:
    return Scenario(
        "make_build",
        _say(rng, "[Build the program with make and run the tests|Run `make test`][|, starting from a clean tree]."),
        [("read", "Makefile"), ("make", "make clean"), ("make", "make"), ("make", "make test"), ("done", "")],
        setup=lambda r: _git_repo(r, {"Makefile": _MAKEFILE,
                                      "hello.c": "#include <stdio.h>\nint main(void){puts(\"ok\");return 0;}\n"}) or "",
        check=lambda r: None if (r / "hello").is_file() else "binary not built",
        difficulty=1,
    )


def npm_test(rng: random.Random) -> Scenario:
    pkg = '{"name": "demo", "version": "1.0.0", "scripts": {"test": "node --test"}}\n'
    test = ("const test = require('node:test');\nconst assert = require('node:assert');\n"
            "test('sum', () => assert.strictEqual(1 + 1, 2));\n")
    return Scenario(
        "npm_test",
        _say(rng, "[Run the JavaScript tests|Run the npm test script|Check that `npm test` passes]."),
        [("read", "package.json"), ("npm", "npm test"), ("done", "")],
        setup=lambda r: _git_repo(r, {"package.json": pkg, "test/sum.test.js": test}) or "",
        difficulty=1,
    )


def add_dependency(rng: random.Random) -> Scenario:
    """Package-manager plans; they need the network, so they are validated by shape only."""
    eco = rng.choice(["pip", "npm", "cargo", "go", "maven", "gradle"])
    if eco == "pip":
        pkg = rng.choice(PY_PKGS)
        steps = [("read", "pyproject.toml"), ("pip", f"pip install {pkg}"), ("edit", "pyproject.toml"),
                 ("run_tests", "python -m pytest -q"), ("git_add", "git add pyproject.toml"),
                 ("git_commit", f'git commit -m "Add {pkg} dependency"'), ("done", "")]
    elif eco == "npm":
        pkg = rng.choice(NPM_PKGS)
        steps = [("read", "package.json"), ("npm", f"npm install {pkg}"), ("npm", "npm test"),
                 ("git_add", "git add package.json package-lock.json"),
                 ("git_commit", f'git commit -m "Add {pkg}"'), ("done", "")]
    elif eco == "cargo":
        pkg = rng.choice(CRATES)
        steps = [("read", "Cargo.toml"), ("cargo", f"cargo add {pkg}"), ("cargo", "cargo build"),
                 ("cargo", "cargo test"), ("done", "")]
    elif eco == "go":
        pkg = rng.choice(GO_MODS)
        steps = [("read", "go.mod"), ("go", f"go get {pkg}"), ("go", "go mod tidy"),
                 ("go", "go test ./..."), ("done", "")]
    elif eco == "maven":
        pkg = rng.choice(["com.google.guava:guava", "org.junit.jupiter:junit-jupiter"])
        steps = [("read", "pom.xml"), ("edit", "pom.xml"), ("maven", "mvn -q dependency:resolve"),
                 ("maven", "mvn -q test"), ("done", "")]
    else:
        pkg = rng.choice(["com.google.guava:guava", "org.slf4j:slf4j-api"])
        steps = [("read", "build.gradle"), ("edit", "build.gradle"), ("gradle", "gradle build"),
                 ("gradle", "gradle test"), ("done", "")]
    manifest = steps[0][1]
    files = {manifest: _MANIFESTS[manifest], **_DEP_SOURCES[eco]}
    return Scenario(
        f"add_dependency_{eco}",
        _say(rng, "[Add|Install] `{p}` as a dependency[| of this project] and [make sure|check that] "
                  "the [tests|build] still pass[|es].", p=pkg),
        steps, setup=lambda r: _git_repo(r, files) or "", difficulty=2)


# The projects add_dependency's plans start from (their plans need the network, so these
# only give the planner's repo map something real to show).
_MANIFESTS = {
    "pyproject.toml": '[project]\nname = "demo"\nversion = "0.1.0"\ndependencies = []\n',
    "package.json": '{"name": "demo", "version": "1.0.0", "scripts": {"test": "node --test"}}\n',
    "Cargo.toml": '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n',
    "go.mod": "module example.com/demo\n\ngo 1.21\n",
    "pom.xml": "<project>\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>demo</groupId>\n"
               "  <artifactId>demo</artifactId>\n  <version>1.0</version>\n</project>\n",
    "build.gradle": "plugins {\n    id 'java'\n}\n",
}
_DEP_SOURCES = {
    "pip": {"demo/__init__.py": "def version():\n    return '0.1.0'\n",
            "tests/test_demo.py": "from demo import version\n\n\ndef test_version():\n"
                                  "    assert version() == '0.1.0'\n"},
    "npm": {"index.js": "function version() {\n  return '1.0.0';\n}\nmodule.exports = { version };\n"},
    "cargo": {"src/lib.rs": "pub fn version() -> &'static str {\n    \"0.1.0\"\n}\n"},
    "go": {"demo.go": "package demo\n\nfunc Version() string {\n\treturn \"0.1.0\"\n}\n"},
    "maven": {"src/main/java/demo/App.java": "package demo;\n\npublic class App {\n"
              "    public static String version() {\n        return \"1.0\";\n    }\n}\n"},
    "gradle": {"src/main/java/demo/App.java": "package demo;\n\npublic class App {\n"
               "    public static String version() {\n        return \"1.0\";\n    }\n}\n"},
}


BUILDERS: tuple[Callable[[random.Random], Scenario], ...] = (
    feature_branch, merge_with_conflict, finish_failed_merge, test_then_fix, recover_failed_tests,
    stash_and_peek, move_module, cmake_build, make_test, npm_test, add_dependency, run_tests_only,
)


def generate(n: int, seed: int) -> Iterator[Scenario]:
    """n scenarios, cycling through every builder with a seeded rng."""
    rng = random.Random(f"plans:{seed}")
    for i in range(n):
        yield BUILDERS[i % len(BUILDERS)](rng)


def planner_context(sc: Scenario) -> str:
    """The context `hrm run` gives the planner for this request: the repo map of the
    scenario's sandbox as set up (hrmcli.agent.loop.request_map), then the scenario's own
    context (the real output of a step that failed), so plans are tuned on what the agent
    shows at inference."""
    if sc.setup is None:
        return sc.context
    with tempfile.TemporaryDirectory(prefix="hrm-plan-") as d:
        root = Path(d) / "repo"
        root.mkdir()
        sc.setup(root)
        repo_map = request_map(root, sc.request, cache_dir=Path(d) / "cache")
    return "\n\n".join(p for p in (repo_map, sc.context) if p)


# ---------------------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------------------

@dataclass
class StepResult:
    index: int
    tool: str
    arg: str
    returncode: int | None  # None when the step is not a command
    output: str


class PlanFailed(RuntimeError):
    pass


def runnable_here(sc: Scenario) -> str | None:
    """Why a scenario cannot run in this sandbox (network, missing toolchain), else None."""
    if sc.needs_network() or sc.setup is None:
        return "needs the network"
    for tool, arg in sc.steps:
        if tool in COMMAND_TOOLS:
            exe = shlex.split(arg)[0]
            if exe != "python" and shutil.which(exe) is None:
                return f"{exe} is not installed"
    return None


def execute(sc: Scenario, root: Path) -> list[StepResult]:
    """Run the plan in `root` (an empty directory); raise PlanFailed on an unexpected failure
    or a wrong end state."""
    if sc.setup is None:
        raise PlanFailed(f"{sc.name} has no sandbox setup")
    sc.setup(root)
    results = []
    for i, (tool, arg) in enumerate(sc.steps):
        if tool in COMMAND_TOOLS:
            p = sh(root, arg, check=False)
            results.append(StepResult(i, tool, arg, p.returncode, p.stdout + p.stderr))
            if p.returncode != 0 and i not in sc.may_fail:
                raise PlanFailed(f"step {i + 1} `{arg}` failed: {(p.stdout + p.stderr)[-800:]}")
        elif tool in ("edit", "resolve_conflict"):
            if i not in sc.writes:
                raise PlanFailed(f"step {i + 1} edits {arg} but the scenario says nothing to write")
            _write(root, sc.writes[i])
            results.append(StepResult(i, tool, arg, None, ""))
        elif tool in ("read", "list"):
            if not (root / arg).exists():
                raise PlanFailed(f"step {i + 1} reads {arg}, which does not exist")
            results.append(StepResult(i, tool, arg, None, ""))
        else:
            results.append(StepResult(i, tool, arg, None, ""))
    if sc.check is not None:
        why = sc.check(root)
        if why:
            raise PlanFailed(f"{sc.name}: {why}")
    return results
