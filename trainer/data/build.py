"""One entry point that turns a corpus directory into everything the trainer reads.

Outputs in out_dir: tokenizer.json, shards/{train,heldout}.bin + shards/index.json, and
task files {edit,plan,repair}_{train,heldout}.jsonl. A manifest records what the outputs
were built from; a second call with the same inputs returns it without redoing work.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..tokenizer import Tokenizer, bytes_per_token
from .corpus import SourceFile, WalkStats, is_heldout, iter_corpus
from .edit_tasks import tasks_for_file
from .plan_tasks import generate as generate_plans
from .repair_tasks import detect_project, repair_records
from .shards import write_shards

MANIFEST = "manifest.json"
BUILD_VERSION = 2  # bump when generators change what they emit
TOKENIZER_SAMPLE_BYTES = 40 << 20


@dataclass
class DatasetInfo:
    out_dir: str
    tokenizer_path: str
    vocab_size: int
    shards_dir: str
    task_files: dict[str, str]  # e.g. "edit_train" -> path
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> task -> n
    corpus: dict = field(default_factory=dict)  # per-family files/bytes, walk stats
    heldout_bytes_per_token: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    key: str = ""


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=True)


def _key(files: Sequence[SourceFile], vocab_size: int, seed: int, tok_hash: str,
         extra: Iterable[str]) -> str:
    h = hashlib.sha256(f"{BUILD_VERSION}:{vocab_size}:{seed}:{tok_hash}".encode())
    for f in files:
        h.update(f.sha.encode())
        h.update(f.rel.encode())
    for x in extra:
        h.update(x.encode())
    return h.hexdigest()


def _sample_for_tokenizer(files: Sequence[SourceFile], seed: int) -> list[str]:
    """Training files spread evenly over language families, up to TOKENIZER_SAMPLE_BYTES."""
    by_fam: dict[str, list[SourceFile]] = {}
    for f in files:
        if not f.heldout:
            by_fam.setdefault(f.family, []).append(f)
    rng = random.Random(f"tok:{seed}")
    for fs in by_fam.values():
        rng.shuffle(fs)
    budget = TOKENIZER_SAMPLE_BYTES // max(len(by_fam), 1)
    out = []
    for fs in by_fam.values():
        used = 0
        for f in fs:
            if used >= budget:
                break
            out.append(f.text)
            used += len(f.text)
    return out


def _write_jsonl(path: Path, records: Iterable[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)


def read_jsonl(path: str | Path) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{i}: not a JSON record ({e.msg})") from e
    return out


def build_dataset(corpus_dir: str | Path, out_dir: str | Path, tokenizer_path: str | Path | None = None,
                  vocab_size: int = 8192, seed: int = 0, *, n_plans: int = 2000,
                  max_task_files: int | None = None, repair_dirs: Sequence[str | Path] = (),
                  max_bytes_per_family: int | None = None, max_task_file_chars: int | None = None,
                  force: bool = False) -> DatasetInfo:
    """Build (or reuse) tokenizer, token shards and task JSONL files for `corpus_dir`.

    tokenizer_path: reuse this tokenizer instead of training one (e.g. when fine-tuning).
    max_task_files: generate edit tasks from at most this many files (a seeded sample).
    repair_dirs: projects with tests for repair trajectories (see repair_tasks).
    max_task_file_chars: edit tasks only from files this short, so that whole examples fit a
        small model's context (the tiny preset's 1024 tokens hold about 3 KB of code).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    stats = WalkStats()
    files = list(iter_corpus(corpus_dir, stats, max_bytes_per_family))
    if not files:
        raise ValueError(f"no source files found under {corpus_dir} (looked for "
                         "Python, JS/TS, Go, Rust, Java, C/C++ by extension)")
    timings["walk"] = time.perf_counter() - t0
    tok_hash = ""
    if tokenizer_path is not None:
        tok_hash = hashlib.sha256(Path(tokenizer_path).read_bytes()).hexdigest()
    repair_keys = [str(Path(d).resolve()) for d in repair_dirs]
    key = _key(files, vocab_size, seed, tok_hash,
               [str(n_plans), str(max_task_files), str(max_task_file_chars), *repair_keys])
    manifest = out / MANIFEST
    if manifest.is_file() and not force:
        try:
            info = DatasetInfo(**json.loads(manifest.read_text()))
            if info.key == key and all(Path(p).is_file() for p in info.task_files.values()) \
                    and Path(info.tokenizer_path).is_file() and (Path(info.shards_dir) / "index.json").is_file():
                return info
        except (ValueError, TypeError):
            pass  # unreadable manifest: rebuild

    # Tokenizer
    t = time.perf_counter()
    if tokenizer_path is not None:
        tok = Tokenizer.load(tokenizer_path)
        tok_out = Path(tokenizer_path)
    else:
        tok = Tokenizer.train(_sample_for_tokenizer(files, seed), vocab_size)
        tok_out = out / "tokenizer.json"
        tok.save(tok_out)
    timings["tokenizer"] = time.perf_counter() - t
    heldout_texts = [f.text for f in files if f.heldout][:500]
    bpt = bytes_per_token(tok, heldout_texts) if heldout_texts else 0.0

    # Shards
    t = time.perf_counter()
    with _progress() as prog:
        bar = prog.add_task("tokenising corpus", total=len(files))
        write_shards(files, tok, out / "shards", lambda n: prog.advance(bar, n))
    timings["shards"] = time.perf_counter() - t

    # Edit tasks
    t = time.perf_counter()
    task_files: dict[str, str] = {}
    counts: dict[str, dict[str, int]] = {}
    pick = list(files)
    if max_task_files is not None and len(pick) > max_task_files:
        pick = random.Random(f"tasks:{seed}").sample(pick, max_task_files)
        pick.sort(key=lambda f: f.rel)
    edits: dict[str, list[dict]] = {"edit_train": [], "edit_heldout": []}
    with _progress() as prog:
        bar = prog.add_task("edit tasks", total=len(pick))
        for f in pick:
            kw = {"max_chars": max_task_file_chars} if max_task_file_chars else {}
            for r in tasks_for_file(f.rel, f.text, f.lang, seed, **kw):
                edits["edit_heldout" if f.heldout else "edit_train"].append(r)
            prog.advance(bar)
    timings["edit_tasks"] = time.perf_counter() - t

    # Plan tasks: exact duplicates dropped, held-out by a hash of the text like files, so
    # a held-out plan never also appears in training.
    t = time.perf_counter()
    plans: dict[str, list[dict]] = {"plan_train": [], "plan_heldout": []}
    seen_plans: set[str] = set()
    for sc in generate_plans(n_plans, seed):
        r = sc.record()
        h = hashlib.sha256((r["prompt"] + r["answer"]).encode()).hexdigest()
        if h in seen_plans:
            continue
        seen_plans.add(h)
        plans["plan_heldout" if is_heldout(h) else "plan_train"].append(r)
    timings["plan_tasks"] = time.perf_counter() - t

    # Repair trajectories
    t = time.perf_counter()
    repairs: dict[str, list[dict]] = {"repair_train": [], "repair_heldout": []}
    for d in repair_dirs:
        project = detect_project(Path(d))
        if project is None:
            raise ValueError(f"{d} has no tests we know how to run (pytest test_*.py or package.json)")
        for r in repair_records(project, seed):
            h = hashlib.sha256(r["prompt"].encode()).hexdigest()
            repairs["repair_heldout" if is_heldout(h) else "repair_train"].append(r)
    timings["repair_tasks"] = time.perf_counter() - t

    for name, recs in {**edits, **plans, **repairs}.items():
        path = out / f"{name}.jsonl"
        _write_jsonl(path, recs)
        task_files[name] = str(path)
        c: dict[str, int] = {}
        for r in recs:
            c[r["task"]] = c.get(r["task"], 0) + 1
        counts[name] = dict(sorted(c.items()))

    fam: dict[str, dict[str, int]] = {}
    for f in files:
        row = fam.setdefault(f.family, {"files": 0, "bytes": 0, "heldout_files": 0})
        row["files"] += 1
        row["bytes"] += len(f.text.encode("utf-8"))
        row["heldout_files"] += int(f.heldout)
    info = DatasetInfo(
        out_dir=str(out), tokenizer_path=str(tok_out), vocab_size=tok.vocab_size,
        shards_dir=str(out / "shards"), task_files=task_files, counts=counts,
        corpus={"families": fam, "seen": stats.seen, "kept": stats.kept,
                "duplicates": stats.duplicates, "rejected": stats.rejected or {}},
        heldout_bytes_per_token=round(bpt, 4), seconds={k: round(v, 2) for k, v in timings.items()},
        key=key,
    )
    tmp = manifest.with_name(MANIFEST + ".tmp")
    tmp.write_text(json.dumps(asdict(info), indent=2))
    tmp.replace(manifest)
    return info


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m trainer.data.build",
                                 description="Build tokenizer, shards and task files from a corpus.")
    ap.add_argument("corpus", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--vocab-size", type=int, default=8192)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokenizer", type=Path, default=None)
    ap.add_argument("--plans", type=int, default=2000)
    ap.add_argument("--max-task-files", type=int, default=None)
    ap.add_argument("--max-task-file-chars", type=int, default=None,
                    help="edit tasks only from files this short (fit the model's context)")
    ap.add_argument("--repair", type=Path, action="append", default=[])
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args(argv)
    try:
        info = build_dataset(a.corpus, a.out, a.tokenizer, a.vocab_size, a.seed, n_plans=a.plans,
                             max_task_files=a.max_task_files, repair_dirs=a.repair,
                             max_task_file_chars=a.max_task_file_chars, force=a.force)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}")
        return 2
    print(json.dumps(asdict(info), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
