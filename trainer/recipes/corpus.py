"""Gather the corpus from installed source packages and downloaded archives, and report.

Run through trainer/recipes/corpus.sh, which installs and downloads first. Each source is
copied under OUT/<family>/<source>/ keeping its relative paths, up to a byte cap per
source, so that the corpus directory is self-contained and can be carried to another
machine. The report counts what trainer.data.corpus keeps after filters and dedup.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ..data.corpus import SKIP_DIRS, WalkStats, iter_corpus
from ..data.treesitter import FAMILY, detect_language

# (source name, family, directory) for the Debian packages and the Python stdlib.
SYSTEM_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("go-stdlib", "go", "/usr/share/go-1.19/src"),
    ("rust-library", "rust", "/usr/src/rustc-1.63.0/library"),
    ("boost", "c_cpp", "/usr/include/boost"),
    ("python-stdlib", "python", sysconfig.get_paths()["stdlib"]),
)
JDK_SRC_ZIP = "/usr/lib/jvm/openjdk-17/lib/src.zip"


def _wanted(rel: str) -> bool:
    parts = rel.split("/")
    return detect_language(rel) is not None and not any(p in SKIP_DIRS for p in parts[:-1])


def _copy_tree(src: Path, dest: Path, cap: int) -> int:
    total = 0
    for p in sorted(src.rglob("*")):
        if total >= cap:
            break
        if not p.is_file() or p.is_symlink():
            continue
        rel = p.relative_to(src).as_posix()
        if not _wanted(rel) or "site-packages" in rel:
            continue
        size = p.stat().st_size
        if size > 1 << 20:
            continue
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, out)
        total += size
    return total


def _archive_members(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.suffix == ".zip" or path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.is_dir() and info.file_size < 1 << 20:
                    yield info.filename, z.read(info)
        return
    with tarfile.open(path) as t:
        for m in t.getmembers():
            if m.isfile() and m.size < 1 << 20:
                f = t.extractfile(m)
                if f is not None:
                    yield m.name, f.read()


def _archive_stem(name: str) -> str:
    for suffix in (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _copy_archive(path: Path, dest: Path, cap: int, family: str | None) -> dict[str, int]:
    """Copy source members of an archive; returns bytes copied per family."""
    copied: dict[str, int] = {}
    for name, data in _archive_members(path):
        rel = name.split("/", 1)[1] if "/" in name else name  # drop the top directory
        lang = detect_language(rel)
        if lang is None or not _wanted(rel) or ".." in rel.split("/"):
            continue
        fam = FAMILY[lang]
        if family is not None and fam != family:
            continue
        if sum(copied.values()) >= cap:
            break
        out = dest / fam / _archive_stem(path.name) / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        copied[fam] = copied.get(fam, 0) + len(data)
    return copied


def gather(out: Path, downloads: Path, cap: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    sources: dict[str, dict] = {}
    for name, fam, d in SYSTEM_SOURCES:
        src = Path(d)
        if not src.is_dir():
            print(f"missing {d}: install the package (see corpus.sh)", file=sys.stderr)
            continue
        sources[name] = {"family": fam, "bytes": _copy_tree(src, out / fam / name, cap)}
    if Path(JDK_SRC_ZIP).is_file():
        got = _copy_archive(Path(JDK_SRC_ZIP), out, cap, "java")
        sources["openjdk-17"] = {"family": "java", "bytes": got.get("java", 0)}
    for sub in ("pypi", "npm"):
        for arc in sorted((downloads / sub).glob("*")):
            if arc.suffix in (".gz", ".tgz", ".zip", ".bz2", ".xz") or arc.name.endswith(".tar"):
                got = _copy_archive(arc, out, cap, None)
                sources[f"{sub}:{arc.name}"] = {"family": ",".join(sorted(got)), "bytes": sum(got.values())}
    report = {"sources": sources, "corpus": measure(out)}
    (out / "corpus_report.json").write_text(json.dumps(report, indent=2))
    return report


def measure(root: Path) -> dict:
    """Per-family files and bytes kept after filters and dedup, split train/held-out."""
    per: dict[str, dict[str, int]] = {}
    stats = WalkStats()
    for f in iter_corpus(root, stats):
        row = per.setdefault(f.family, {"files": 0, "bytes": 0, "heldout_files": 0, "heldout_bytes": 0})
        n = len(f.text.encode("utf-8"))
        row["files"] += 1
        row["bytes"] += n
        if f.heldout:
            row["heldout_files"] += 1
            row["heldout_bytes"] += n
    return {"families": per, "seen": stats.seen, "kept": stats.kept,
            "duplicates": stats.duplicates, "rejected": stats.rejected or {}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m trainer.recipes.corpus")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gather", help="copy sources into OUT and report sizes")
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--downloads", type=Path, required=True)
    g.add_argument("--max-mb-per-source", type=int, default=40)
    m = sub.add_parser("report", help="report sizes of an existing corpus directory")
    m.add_argument("corpus", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "gather":
        report = gather(a.out, a.downloads, a.max_mb_per_source << 20)
    else:
        report = {"corpus": measure(a.corpus)}
    fams = report["corpus"]["families"]
    print(f"{'family':8} {'files':>8} {'MB':>9} {'heldout files':>14} {'heldout MB':>11}")
    for fam in sorted(fams):
        r = fams[fam]
        print(f"{fam:8} {r['files']:8d} {r['bytes'] / 1e6:9.2f} {r['heldout_files']:14d} "
              f"{r['heldout_bytes'] / 1e6:11.2f}")
    c = report["corpus"]
    print(f"seen {c['seen']}, kept {c['kept']}, duplicates {c['duplicates']}, rejected {c['rejected']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
