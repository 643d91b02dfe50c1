"""Held-out loss of GGUF files through our runtime: the F32 -> Q8_0 -> Q4_0 deltas.

The model card's quantisation figures come from this command:

    python -m converters.quant_report --data DATA_DIR f32.gguf q8_0.gguf q4_0.gguf

DATA_DIR is what `trainer.data.build` wrote (its held-out token shard is scored in the same
evenly spaced windows `hrm eval` uses). The first file is the reference for the deltas.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from hrmcli.runtime.gguf_load import GGUFError, load

if __package__.startswith("hrmcli."):  # installed: hrmcli.converters beside hrmcli.trainer
    from ..trainer.data.build import MANIFEST
    from ..trainer.data.shards import open_shard
    from ..trainer.evaluate import heldout_lm_loss
else:  # a source checkout: converters/ beside trainer/ at the top level
    from trainer.data.build import MANIFEST
    from trainer.data.shards import open_shard
    from trainer.evaluate import heldout_lm_loss


def heldout_losses(files: list[Path], data_dir: Path, seq_len: int, n_batches: int,
                   batch_size: int) -> dict[str, dict[str, float]]:
    shards = json.loads((data_dir / MANIFEST).read_text())["shards_dir"]
    stream = open_shard(shards, "heldout")
    out: dict[str, dict[str, float]] = {}
    ref = None
    for f in files:
        loaded = load(f)
        with torch.no_grad():
            loss = heldout_lm_loss(loaded.model, stream, seq_len, n_batches, batch_size)
        ref = loss if ref is None else ref
        out[f.name] = {"loss": round(loss, 5), "delta_pct": round(100 * (loss / ref - 1), 3),
                       "file_mb": round(f.stat().st_size / 2**20, 2)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m converters.quant_report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, required=True, help="prepared data dir")
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batches", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=4)
    a = ap.parse_args(argv)
    try:
        res = heldout_losses(a.files, a.data, a.seq_len, a.batches, a.batch_size)
    except (OSError, ValueError, KeyError, GGUFError) as e:
        print(f"error: {e}")
        return 2
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
