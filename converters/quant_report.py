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


def answer_losses(files: list[Path], records: Path, n: int) -> dict[str, dict[str, float]]:
    """Answer-token loss (nats/token) of the first n ChatML records (trainer.data.chat_tasks
    format) through each file: how much a retrofit loses to quantisation on its own task."""
    import torch.nn.functional as F

    rows = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()[:n]]
    out: dict[str, dict[str, float]] = {}
    ref = None
    for f in files:
        loaded = load(f)
        tot = cnt = 0.0
        with torch.no_grad():
            for r in rows:
                p, a = loaded.tokenizer.encode(r["prompt"]), loaded.tokenizer.encode(r["answer"])
                logits = loaded.model(torch.tensor([p + a])).logits[0, len(p) - 1:-1]
                tot += float(F.cross_entropy(logits.float(), torch.tensor(a), reduction="sum"))
                cnt += len(a)
        loss = tot / max(cnt, 1)
        ref = loss if ref is None else ref
        out[f.name] = {"answer_loss": round(loss, 5), "delta_pct": round(100 * (loss / ref - 1), 3),
                       "file_mb": round(f.stat().st_size / 2**20, 2), "records": len(rows)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m converters.quant_report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, help="prepared data dir (token shards)")
    ap.add_argument("--records", type=Path, help="ChatML records (answer-token loss instead)")
    ap.add_argument("--n", type=int, default=40, help="records to score with --records")
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batches", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=4)
    a = ap.parse_args(argv)
    if (a.data is None) == (a.records is None):
        print("error: give exactly one of --data and --records")
        return 2
    try:
        res = answer_losses(a.files, a.records, a.n) if a.records else \
            heldout_losses(a.files, a.data, a.seq_len, a.batches, a.batch_size)
    except (OSError, ValueError, KeyError, GGUFError) as e:
        print(f"error: {e}")
        return 2
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
