"""A tuning set drawn from ChatML record files: so many records per language, shuffled.

    python -m trainer.data.mix out.jsonl edits.jsonl go.jsonl plans.jsonl \
        --per-language python=8000,javascript=3000,go=3000,plan=1500 --seed 1

Record files come out of trainer.data.chat_tasks in file-walk order (all of one directory,
then the next), so `head -n` takes a narrow slice of the code on the machine; this draws
uniformly from every file given instead. A record's group is its `lang` field, or `plan`
for plan records; a `LANG:KIND` name (`python:add_guard=900`) takes that kind out of its
language's group and draws it on its own, so rare kinds can be given a set share. Groups
not named in --per-language are left out; a group with fewer records than asked gives all
it has (the count written says so).
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict


def group_of(rec: dict, named: dict | frozenset = frozenset()) -> str:
    """The record's group: `plan`, or its language, or `LANG:KIND` when that is named."""
    if rec.get("kind") == "plan":
        return "plan"
    lang = str(rec.get("lang") or rec.get("language") or "")
    own = f"{lang}:{rec.get('kind')}"
    return own if own in named else lang


def parse_counts(spec: str) -> dict[str, int]:
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, n = part.partition("=")
        if not n.isdigit():
            raise SystemExit(f"--per-language: expected NAME=COUNT, got {part!r}")
        out[name] = int(n)
    return out


def mix(paths: list[str], counts: dict[str, int], seed: int) -> tuple[list[str], dict[str, int]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    g = group_of(json.loads(line), counts)
                except json.JSONDecodeError:
                    continue
                if g in counts:
                    groups[g].append(line if line.endswith("\n") else line + "\n")
    rng = random.Random(seed)
    chosen, got = [], {}
    for g in sorted(counts):
        lines = groups.get(g, [])
        take = rng.sample(lines, min(counts[g], len(lines)))
        got[g] = len(take)
        chosen += take
    rng.shuffle(chosen)
    return chosen, got


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m trainer.data.mix", description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--per-language", required=True, help="NAME=COUNT,...: a language, plan, or LANG:KIND")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    lines, got = mix(a.inputs, parse_counts(a.per_language), a.seed)
    tmp = a.out + ".part"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(lines)
    import os

    os.replace(tmp, a.out)
    print(f"wrote {len(lines)} records to {a.out}: " + ", ".join(f"{k} {v}" for k, v in got.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
