"""The inference core stands alone: hrmcli/ never imports the trainer, the converters or the
benchmarks, except inside the commands that exist to run them; and those three install as
hrmcli.trainer, hrmcli.converters and hrmcli.bench, never as top-level packages.

Checked twice: statically (every module's imports, with `ast`) and for real (the user
commands run in a subprocess where those packages cannot be imported at all).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from tests.cli_helpers import init_repo

ROOT = Path(__file__).resolve().parents[1]
TOOLING = ("trainer", "converters", "bench")
# Commands that exist to train, evaluate, convert or benchmark: they may import the tooling
# packages, lazily (inside the command function), and nothing else in hrmcli/ may.
ALLOWED = {"train.py", "eval.py", "convert.py"}
ALLOWED_PREFIX = "bench_"
# The shipped model (whatever its name), run through the real runtime.
BUNDLED = sorted((ROOT / "hrmcli" / "weights").glob("*.gguf"))[0]


def _tooling_name(module: str) -> str | None:
    """`module` if it is (inside) a tooling package under either of its names, else None."""
    parts = module.split(".")
    if parts[0] in TOOLING or (parts[0] == "hrmcli" and len(parts) > 1 and parts[1] in TOOLING):
        return module
    return None


def _imported(node: ast.AST, package: str) -> list[str]:
    """Absolute names an import statement or an import_module("...") call brings in."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        return [module] + [f"{module}.{a.name}" for a in node.names]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        fn = node.func
        name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
        if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
            return [node.args[0].value]
    return []


def core_violations(source: str, module: str, allowed: bool) -> list[str]:
    """Imports of the tooling packages in hrmcli module `module`: all of them, or for an
    allowed command module, those outside a function body."""
    tree = ast.parse(source)
    package = module.rpartition(".")[0]
    out: list[str] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for name in _imported(node, package):
            if _tooling_name(name) and not (allowed and in_function):
                out.append(f"{module}:{node.lineno} imports {name}")
                break
        inner = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                 ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, False)
    return out


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources(top: str) -> list[Path]:
    return sorted(p for p in (ROOT / top).rglob("*.py")
                  if "edits/tasks" not in p.as_posix() and "__pycache__" not in p.parts)


def test_checker_flags_what_it_should() -> None:
    """The scan itself: a module-level import is caught everywhere, a lazy one only outside
    the allowed commands, and relative, `from hrmcli import` and string imports count."""
    lazy = "def f():\n    from trainer.tokenizer import Tokenizer\n"
    top = "from converters.gguf_export import ARCH\n"
    assert core_violations(top, "hrmcli.commands.convert", allowed=True)
    assert core_violations(lazy, "hrmcli.runtime.gguf_load", allowed=False)
    assert not core_violations(lazy, "hrmcli.commands.train", allowed=True)
    assert core_violations("from ..bench import speed\n", "hrmcli.commands.x", allowed=False)
    assert core_violations("from hrmcli import trainer\n", "hrmcli.x", allowed=False)
    assert core_violations("import importlib\nimportlib.import_module('bench.speed')\n",
                           "hrmcli.x", allowed=False)
    assert not core_violations("from hrmcli.runtime import tokenizer\n", "hrmcli.x", False)


def test_core_imports_no_tooling_outside_its_commands() -> None:
    files = _sources("hrmcli")
    assert len(files) > 30
    bad = []
    for path in files:
        rel = path.relative_to(ROOT / "hrmcli").as_posix()
        allowed = rel.startswith("commands/") and (
            path.name in ALLOWED or path.name.startswith(ALLOWED_PREFIX))
        bad += core_violations(path.read_text(encoding="utf-8"), _module_name(path), allowed)
    assert bad == [], "the inference core imports training/converting/benchmark code:\n" + \
        "\n".join(bad)
    for name in ALLOWED:  # the exemptions name real commands
        assert (ROOT / "hrmcli" / "commands" / name).is_file()


def _is_source_checkout_branch(parent: ast.If, node: ast.AST) -> bool:
    """`node` sits in the else branch of `if __package__.startswith("hrmcli."):`."""
    test = parent.test
    return (isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute)
            and isinstance(test.func.value, ast.Name) and test.func.value.id == "__package__"
            and test.func.attr == "startswith" and node in parent.orelse)


def test_tooling_packages_import_each_other_under_either_name() -> None:
    """Installed, trainer/ is hrmcli.trainer and `import trainer` does not exist; in a
    checkout it is top-level `trainer`. So a tooling module imports its own package
    relatively, and a sibling package only through the `__package__` switch (relative when
    installed, top-level in a checkout); `hrmcli.trainer` by name would load a second copy
    of the same files in a checkout."""
    bad = []
    for top in TOOLING:
        for path in _sources(top):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level:
                    continue
                names = [n for n in _imported(node, "") if _tooling_name(n)]
                if not names:
                    continue
                parent = parents.get(node)
                sibling = names[0].split(".")[0] not in (top, "hrmcli")
                if not (sibling and isinstance(parent, ast.If)
                        and _is_source_checkout_branch(parent, node)):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {names[0]}")
    assert bad == [], ("use a relative import (or, for a sibling package, the "
                       "`if __package__.startswith('hrmcli.')` switch):\n" + "\n".join(bad))


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_pyproject_installs_every_package_under_hrmcli() -> None:
    st = _pyproject()["tool"]["setuptools"]
    dirs = st["package-dir"]
    assert dirs == {f"hrmcli.{t}": t for t in TOOLING}
    expected = set()
    for top in ("hrmcli", *TOOLING):
        for init in (ROOT / top).rglob("__init__.py"):
            if "edits/tasks" in init.as_posix():
                continue
            rel = ".".join(init.parent.relative_to(ROOT).parts)
            expected.add(rel if top == "hrmcli" else f"hrmcli.{rel}")
    listed = set(st["packages"])
    assert listed == expected, (
        f"pyproject.toml [tool.setuptools] packages: add {sorted(expected - listed)}, "
        f"remove {sorted(listed - expected)} (a wheel installs only the listed packages)")
    assert not [p for p in st["packages"] if p.split(".")[0] != "hrmcli"]


def test_train_extra_is_what_the_trainer_checks() -> None:
    """tensorboard is an extra, not a dependency, and the trainer's message names the same
    modules as pyproject's `train` extra."""
    from trainer.cli import TRAIN_EXTRA

    project = _pyproject()["project"]
    extra = [r.split(">")[0].split("=")[0].strip() for r in
             project["optional-dependencies"]["train"]]
    assert sorted(extra) == sorted(TRAIN_EXTRA)
    assert not [d for d in project["dependencies"] if d.startswith("tensorboard")]


# -- for real: the user commands with the tooling packages unimportable ----------------------

BLOCKER = '''\
"""Loaded at start-up (sitecustomize): makes the named packages unimportable."""
import importlib.abc
import os
import sys

_BLOCKED = tuple(os.environ["HRM_TEST_BLOCK"].split(","))
_LOG = os.environ["HRM_TEST_BLOCK_LOG"]


class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in _BLOCKED):
            with open(_LOG, "a", encoding="utf-8") as f:
                f.write(name + "\\n")
            raise ModuleNotFoundError(f"{name} is blocked by test_layering", name=name)
        return None


sys.meta_path.insert(0, _Block())
'''


def blocked_env(tmp_path: Path, blocked: list[str]) -> tuple[dict[str, str], Path]:
    """An environment whose Python cannot import `blocked`, and the file where each attempt
    is logged (so an attempt that the code catches and survives is still seen)."""
    site = tmp_path / "blocker"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    log = tmp_path / "blocked.log"
    log.write_text("")
    env = {**os.environ, "PYTHONPATH": str(site), "HRM_TEST_BLOCK": ",".join(blocked),
           "HRM_TEST_BLOCK_LOG": str(log), "HRM_HOME": str(tmp_path / "home"),
           "COLUMNS": "200"}
    return env, log


def run_hrm(env: dict[str, str], cwd: Path, *args: str, stdin: str = "",
            timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hrmcli", *args], cwd=cwd, env=env,
                          input=stdin, capture_output=True, text=True, timeout=timeout)


NO_TOOLING = [*TOOLING, *(f"hrmcli.{t}" for t in TOOLING)]


def test_blocker_really_blocks(tmp_path: Path) -> None:
    env, log = blocked_env(tmp_path, NO_TOOLING)
    for name in ("trainer.tokenizer", "hrmcli.converters.gguf_export", "bench"):
        r = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "blocked by test_layering" in r.stderr, r.stderr
    assert log.read_text().split() == ["trainer", "hrmcli.converters", "bench"]


@pytest.mark.slow
@pytest.mark.timeout(1800)  # six cold starts of hrm; minutes on a loaded machine
def test_user_commands_run_without_the_tooling_packages(tmp_path: Path) -> None:
    env, log = blocked_env(tmp_path, NO_TOOLING)
    greet = 'def greet(name):\n    return "Hello, " + name + "!"\n'
    repo = init_repo(tmp_path / "repo", {"greet.py": greet,
                                         "app.py": "def add(a, b):\n    return a - b\n"})

    # The bundled model through the whole runtime: GGUF schema, tokenizer, generation.
    r = run_hrm(env, repo, "edit", "greet.py", "rename the function greet to welcome",
                "--model", str(BUNDLED), "--dry-run", "--json", "--max-tokens", "16",
                timeout=900)
    assert r.returncode in (0, 1), r.stderr[-2000:]  # the tiny model may not get it right
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])["tokens"] > 0
    assert (repo / "greet.py").read_text() == greet

    edit = "app.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n"
    r = run_hrm(env, repo, "apply", "-", stdin=edit)
    assert r.returncode == 0, r.stderr
    assert (repo / "app.py").read_text() == "def add(a, b):\n    return a + b\n"

    r = run_hrm(env, repo, "models")
    assert r.returncode == 0, r.stderr
    assert BUNDLED.stem in r.stdout

    for command in ("run", "chat"):
        r = run_hrm(env, repo, command, "--help")
        assert r.returncode == 0 and "Usage" in r.stdout, r.stderr

    assert log.read_text() == "", "a user command tried to import tooling code"


def test_train_without_its_extra_says_what_to_install(tmp_path: Path) -> None:
    env, _ = blocked_env(tmp_path, ["tensorboard"])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.py").write_text("x = 1\n")
    args = ["--corpus", str(corpus), "--out", str(tmp_path / "run"), "--steps", "1"]
    for cmd in ([sys.executable, "-m", "hrmcli", "train"], [sys.executable, "-m", "trainer"]):
        r = subprocess.run(cmd + args, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 2, r.stderr[-2000:]
        said = " ".join(r.stderr.split())
        assert "pip install -e '.[train]'" in said and "tensorboard" in said, said
        assert not (tmp_path / "run").exists()  # nothing started


@pytest.mark.slow
def test_wheel_installs_tooling_under_hrmcli_only(tmp_path: Path) -> None:
    """Build the real wheel from a copy of the sources and import from it alone."""
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 68:
        pytest.skip(f"setuptools {setuptools.__version__} is older than the build requires")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (src / name).write_bytes((ROOT / name).read_bytes())
    for top in ("hrmcli", *TOOLING):
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                dest = src / path.relative_to(ROOT)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(path.read_bytes())
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                        "print(build_meta.build_wheel(sys.argv[1]))", str(dist)],
                       cwd=src, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = dist / r.stdout.strip().splitlines()[-1]
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"hrmcli", "hrmcli-0.1.0.dist-info"}
    for want in ("hrmcli/trainer/tokenizer.py", "hrmcli/converters/gguf_export.py",
                 "hrmcli/bench/speed.py", "hrmcli/runtime/tokenizer.py",
                 "hrmcli/runtime/gguf_schema.py", f"hrmcli/weights/{BUNDLED.name}",
                 "hrmcli/agent/prompts/edit_rules.md"):
        assert want in names, want
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # -I: no current directory, PYTHONPATH or user site on sys.path; the wheel goes first.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import importlib.util as u\n"
        "import hrmcli, hrmcli.trainer.tokenizer as t, hrmcli.converters.gguf_export as g\n"
        "import hrmcli.bench.speed, hrmcli.trainer.cli\n"
        "assert hrmcli.__file__.startswith(sys.argv[1]), hrmcli.__file__\n"
        "assert t.Tokenizer.__mro__[1].__module__ == 'hrmcli.runtime.tokenizer'\n"
        "assert g.ARCH == 'hrm-code'\n"
        "print([n for n in ('trainer', 'converters', 'bench') if u.find_spec(n)])\n"
    )
    r = subprocess.run([sys.executable, "-I", "-c", probe, str(site)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == "[]"
