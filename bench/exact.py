"""Exact-match rate of a model on held-out generated edit records (trainer.data.chat_tasks
--heldout): each record's prompt decoded greedily in one try, unconstrained, and the reply
compared with the record's answer. A quick in-distribution check next to `hrm bench edits`.

    python -m bench.exact MODEL.gguf HELDOUT.jsonl --n 40 [--json]

Records are shuffled with --seed and drawn evenly across kinds (plans left out).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter, defaultdict

from hrmcli.agent.prompts import IM_END


def pick(records: list[dict], n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    recs = [r for r in records if r.get("kind") != "plan"]
    rng.shuffle(recs)
    by: dict[str, list[dict]] = defaultdict(list)
    for r in recs:
        by[r["kind"]].append(r)
    per = max(1, n // max(len(by), 1))
    return [r for k in sorted(by) for r in by[k][:per]]


def score(engine, records: list[dict], max_tokens: int = 200) -> dict:
    hits, total = Counter(), Counter()
    t0 = time.perf_counter()
    for r in records:
        got = "".join(engine.stream(r["prompt"], max_tokens=max_tokens, temperature=0.0))
        total[r["kind"]] += 1
        hits[r["kind"]] += got.replace(IM_END, "").strip() == r["answer"].replace(IM_END, "").strip()
    return {"exact": sum(hits.values()), "total": sum(total.values()),
            "per_kind": {k: [hits[k], total[k]] for k in sorted(total)},
            "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    from hrmcli.runtime.engine import Engine

    ap = argparse.ArgumentParser(prog="python -m bench.exact", description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("records")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    with open(a.records, encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    res = score(Engine.load(a.model, n_ctx=2048), pick(records, a.n, a.seed))
    if a.json:
        print(json.dumps(res))
    else:
        kinds = ", ".join(f"{k} {h}/{t}" for k, (h, t) in res["per_kind"].items())
        print(f"exact {res['exact']} / {res['total']} ({kinds}) in {res['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
