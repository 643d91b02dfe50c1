"""What an f16 KV cache costs in held-out loss: mean next-token NLL of an hrm-code GGUF on real
code (the Python standard library's modules) with an f32 and with an f16 cache, through the
runtime's own prompt path (the fused C module calls, 256-token chunks, so later chunks attend
to keys read back from the cache in its type).

    python -m bench.kv_loss MODEL.gguf [--docs 16] [--tokens 1024] [--threads 2] [--json]

The same documents (every 7th stdlib module with at least 256 tokens, its first --tokens
tokens) are scored both ways; the per-document differences show the spread.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sysconfig


def documents(tokenizer, n_docs: int, n_tokens: int) -> list[tuple[str, list[int]]]:
    files = sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py")))
    docs = []
    for f in files[::7]:
        with open(f, encoding="utf-8", errors="replace") as fh:
            ids = tokenizer.encode(fh.read())
        if len(ids) >= 256:
            docs.append((os.path.basename(f), ids[:n_tokens]))
        if len(docs) >= n_docs:
            break
    return docs


def doc_nll(model, cfg, ids: list[int], dtype, chunk: int = 256) -> tuple[float, int]:
    """(summed NLL, scored tokens) of one document on a fresh cache of the given type."""
    import torch

    from hrmcli.runtime.model import KVCache

    cache = KVCache(cfg, max_len=len(ids), dtype=dtype)
    total, count = 0.0, 0
    with torch.inference_mode():
        for s in range(0, len(ids) - 1, chunk):
            x, y = ids[s:s + chunk], ids[s + 1:s + chunk + 1]
            logits = model(torch.tensor([x]), None, cache).logits[0, :len(y)].double()
            total += float(torch.nn.functional.cross_entropy(logits, torch.tensor(y),
                                                             reduction="sum"))
            count += len(y)
    return total, count


def measure(path: str, n_docs: int = 16, n_tokens: int = 1024) -> dict:
    import torch

    from hrmcli.runtime.gguf_load import load

    loaded = load(path)
    docs = documents(loaded.tokenizer, n_docs, min(n_tokens, loaded.cfg.max_seq_len))
    res: dict = {"model": str(path), "docs": len(docs)}
    per: dict[str, list[float]] = {}
    for name, dtype in (("f32", torch.float32), ("f16", torch.float16)):
        total, count, per[name] = 0.0, 0, []
        for _, ids in docs:
            s, c = doc_nll(loaded.model, loaded.cfg, ids, dtype)
            per[name].append(s / c)
            total, count = total + s, count + c
        res[f"nll_{name}"] = total / count
        res["tokens"] = count
    diffs = [b - a for a, b in zip(per["f32"], per["f16"], strict=True)]
    res.update(nll_delta=res["nll_f16"] - res["nll_f32"], doc_delta_min=min(diffs),
               doc_delta_max=max(diffs))
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("--docs", type=int, default=16)
    p.add_argument("--tokens", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    res = measure(a.model, a.docs, a.tokens)
    if a.json:
        print(json.dumps(res))
    else:
        print(f"{res['docs']} documents, {res['tokens']} tokens: NLL f32 {res['nll_f32']:.5f}, "
              f"f16 {res['nll_f16']:.5f} nats/token; f16 - f32 {res['nll_delta']:+.6f} "
              f"(per document {res['doc_delta_min']:+.5f} .. {res['doc_delta_max']:+.5f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
