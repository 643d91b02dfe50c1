"""Time to first token of a conversation's second turn, with and without the KV cache of
the first turn kept (what `hrm chat` and `hrm run` do between turns).

    python -m bench.turns [--model M.gguf] [--file-tokens 1500] [--threads 2] [--repeat 3] [--json]

Turn 1 is a ChatML prompt holding a Python source file of about --file-tokens tokens and a
request; the model answers (32 tokens). Turn 2 appends that answer and a short follow-up.
"kept" times turn 2 on the same engine (only the new tokens are prefilled); "cold" times
the same turn-2 prompt on a reset engine (the whole prompt is prefilled). Medians of
--repeat rounds.
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import time

import torch


def _first_token_seconds(engine, prompt: str) -> float:
    t0 = time.perf_counter()
    for _ in engine.stream(prompt, max_tokens=1):
        break
    return time.perf_counter() - t0


def _source_text(tokenizer, n_tokens: int) -> str:
    text = inspect.getsource(json.decoder) + inspect.getsource(json.encoder)
    ids = tokenizer.encode(text)[:n_tokens]
    return tokenizer.decode(ids)


def main(argv: list[str] | None = None) -> int:
    from hrmcli.agent.backends import bundled_model
    from hrmcli.agent.backends.base import Message
    from hrmcli.agent.prompts import render_chatml
    from hrmcli.runtime.engine import Engine

    ap = argparse.ArgumentParser(prog="python -m bench.turns", description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--file-tokens", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    path = a.model or str(bundled_model())
    eng = Engine.load(path)
    src = _source_text(eng.tokenizer, a.file_tokens)
    turn1 = [Message("file", f"decoder.py\n{src}"),
             Message("user", "Rename the function py_scanstring to scan_string.")]
    kept, cold, new_tokens = [], [], 0
    for _ in range(a.repeat):
        eng.reset()
        p1 = render_chatml(turn1)
        reply = "".join(eng.stream(p1, max_tokens=32))
        turn2 = turn1 + [Message("assistant", reply), Message("user", "Also rename scanstring to scan.")]
        p2 = render_chatml(turn2)
        kept.append(_first_token_seconds(eng, p2))
        new_tokens = len(eng.tokenize(p2)) - len(eng.tokenize(p1))
        eng.reset()
        cold.append(_first_token_seconds(eng, p2))
    res = {"model": path, "turn2_prompt_tokens": len(eng.tokenize(p2)), "turn2_new_tokens": new_tokens,
           "ttft_kept_s": statistics.median(kept), "ttft_cold_s": statistics.median(cold),
           "repeat": a.repeat, "threads": a.threads}
    res["speedup"] = res["ttft_cold_s"] / res["ttft_kept_s"]
    if a.json:
        print(json.dumps(res))
    else:
        print(f"turn 2 ({res['turn2_prompt_tokens']} tokens, {new_tokens} new): first token "
              f"{res['ttft_kept_s']:.2f} s with turn 1's cache kept, {res['ttft_cold_s']:.2f} s "
              f"cold ({res['speedup']:.1f}x), median of {a.repeat}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
