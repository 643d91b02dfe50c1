"""Retrofit layouts compared at 1, 2 and 4 cycles: held-out answer loss of tuned checkpoints.

    python -m bench.layouts heldout.jsonl RUN_A/checkpoint.pt RUN_B/checkpoint.pt ... \
        [--n 100] [--cycles 1,2,4] [--threads 2] [--json]

Each checkpoint is scored on the same first N held-out ChatML records (answer tokens only,
the tuner's own loss, so the figures compare with its logs). The recursion count is the
layout's own: l_cycles for a core layout (how often the core runs), h_cycles for a planner
(how often H plans and L runs again); the identity layout has none and is scored once.
Lower is better; a layout earns its place by beating the identity run of the same budget.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch

if __package__.startswith("hrmcli."):
    from ..trainer.tune import Records, load_init, validate
else:
    from trainer.tune import Records, load_init, validate

from hrmcli.runtime.model import recursion_field
from hrmcli.runtime.tokenizer import Tokenizer


def score(path: str, records: str, n: int, cycles: list[int], max_tokens: int) -> dict:
    model, ck = load_init(path)
    layout = str((ck.get("provenance") or {}).get("layout", "identity"))
    tok = Tokenizer.from_gguf_fields(ck["tokenizer"])
    recs = Records(records, tok, max_tokens, seed=0)
    field = recursion_field(layout)
    base = model.cfg
    row = {"checkpoint": path, "layout": layout, "step": int(ck.get("step", 0)),
           "trained_cycles": getattr(base, field) if field else None, "loss": {}}
    for c in (cycles if field else [None]):
        model.cfg = replace(base, **{field: c}) if field else base
        row["loss"][str(c) if c else "-"] = round(validate(model, recs, n, bf16=True)["val_loss"], 4)
    model.cfg = base
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.layouts", description=__doc__.split("\n")[0])
    ap.add_argument("records", help="held-out ChatML records (trainer.data.chat_tasks --heldout)")
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--cycles", default="1,2,4")
    ap.add_argument("--max-tokens", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    cycles = [int(x) for x in a.cycles.split(",")]
    for p in a.checkpoints:
        if not Path(p).is_file():
            raise SystemExit(f"no checkpoint at {p}")
    rows = [score(p, a.records, a.n, cycles, a.max_tokens) for p in a.checkpoints]
    if a.json:
        print(json.dumps({"records": a.records, "n": a.n, "rows": rows}))
    else:
        print(f"held-out answer loss on {a.n} records of {a.records}")
        for r in rows:
            cells = "  ".join(f"{k} cycles {v:.4f}" if k != "-" else f"{v:.4f}"
                              for k, v in r["loss"].items())
            print(f"{r['layout']:<16} step {r['step']:<5} {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
