"""Flat token shards: one uint16/uint32 array per split (np.memmap) plus a JSON index.

Each document is its file's tokens followed by EOS, so windows that cross a document
boundary see an explicit separator. The index keeps every document's start offset and
language, which is what per-language held-out loss needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..tokenizer import Tokenizer
from .corpus import SourceFile

INDEX_NAME = "index.json"


@dataclass
class Shard:
    tokens: np.ndarray  # read-only memmap
    starts: np.ndarray  # int64 document start offsets
    langs: list[str]


def dtype_for(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


def write_shards(files: Iterable[SourceFile], tok: Tokenizer, out_dir: Path,
                 progress: Callable[[int], None] | None = None, batch: int = 64) -> dict:
    """Tokenise files into out_dir/{train,heldout}.bin and write out_dir/index.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dt = dtype_for(tok.vocab_size)
    eos = tok.eos_id
    splits = {s: {"file": f"{s}.bin", "n_tokens": 0, "starts": [], "langs": [], "per_lang": {}}
              for s in ("train", "heldout")}
    handles = {s: open(out_dir / f"{s}.bin.tmp", "wb") for s in splits}  # noqa: SIM115
    try:
        pending: list[SourceFile] = []

        def flush() -> None:
            for f, ids in zip(pending, tok.encode_batch([p.text for p in pending]), strict=True):
                s = splits["heldout" if f.heldout else "train"]
                arr = np.asarray(ids + [eos], dtype=dt)
                handles["heldout" if f.heldout else "train"].write(arr.tobytes())
                s["starts"].append(s["n_tokens"])
                s["langs"].append(f.lang)
                s["n_tokens"] += len(arr)
                row = s["per_lang"].setdefault(f.lang, {"docs": 0, "tokens": 0, "bytes": 0})
                row["docs"] += 1
                row["tokens"] += len(arr)
                row["bytes"] += len(f.text.encode("utf-8"))
            if progress:
                progress(len(pending))
            pending.clear()

        for f in files:
            pending.append(f)
            if len(pending) >= batch:
                flush()
        if pending:
            flush()
    finally:
        for h in handles.values():
            h.close()
    for s in splits:
        (out_dir / f"{s}.bin.tmp").replace(out_dir / f"{s}.bin")
    index = {"dtype": dt.name, "vocab_size": tok.vocab_size, "eos_id": eos, "splits": splits}
    tmp = out_dir / (INDEX_NAME + ".tmp")
    tmp.write_text(json.dumps(index))
    tmp.replace(out_dir / INDEX_NAME)
    return index


def open_shard(out_dir: str | Path, split: str) -> Shard:
    """Memory-map one split; raises ValueError with the reason on a missing/corrupt index."""
    out_dir = Path(out_dir)
    try:
        index = json.loads((out_dir / INDEX_NAME).read_text())
        meta = index["splits"][split]
        dt = np.dtype(index["dtype"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"cannot read shard index in {out_dir}: {e}") from e
    path = out_dir / meta["file"]
    n = meta["n_tokens"]
    if not path.is_file() or path.stat().st_size != n * dt.itemsize:
        raise ValueError(f"shard {path} is missing or truncated; rebuild the dataset")
    tokens = np.memmap(path, dtype=dt, mode="r", shape=(n,)) if n else np.zeros(0, dtype=dt)
    return Shard(tokens, np.asarray(meta["starts"], dtype=np.int64), list(meta["langs"]))
