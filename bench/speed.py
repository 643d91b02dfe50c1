"""CPU speed benchmark: our runtime on an hrm-code GGUF next to llama.cpp on the same-FLOP
llama-architecture GGUF (same width and heads, N_app layers, same quantisation, same threads).

Each engine runs in its own subprocess (`python -m bench.speed worker ...`), so peak RSS is
that engine's alone and neither warms the other's caches. Speed does not depend on weight
values, so when no trained model is bundled we build random-weight models of a preset with a
real byte-level BPE tokenizer (trained on the Python standard library's source) and cache
them under hrm's cache directory.

Measured (`hrm bench speed --preset P --json`, Q4_0, 2 threads, random weights, 64 prompt
tokens, 32 generated (16 for base), on the shared 2-core dev box; ratios are from the same
run, so machine load hits both engines):

    preset | decode ratio before | decode ratio after          | prefill ratio after
    tiny   | 0.30 (416 vs 1401)  | 1.33, 1.17, 0.86 -> med 1.17 | 0.95, 0.95, 0.77
    small  | 0.38 (217 vs 570)   | 0.90, 0.91, 0.96 -> med 0.91 | 0.74, 0.67 (0.11 once)
    base   | 0.31 (prev. notes)  | 0.79 (10.9 vs 13.8, 1 run)   | 0.37
"Before" is one-node ggml graphs per matmul; "after" is the fused C module call
(hrmcli.runtime.fastdecode); the third tiny/small runs already fuse q/k/v and gate/up into
one parallel loop. Runs where another job held a whole core are left out: both engines then
collapse (llama.cpp tiny decode fell to 0.7-4 tok/s, ours to 1.5-10) and the ratio means
nothing. Peak RSS unchanged: tiny 371 MB, small 536 MB, base 1096 MB at 8k context.

What limits decode now (cProfile, base, 30 tokens): 87% inside the C module calls
(hrm_module_decode: Q4_0 x Q8_0 matvecs, memory-bound on the 42 MB of distinct weights,
plus an OpenMP fork/join per product), 6% the lm_head matvec, under 5% Python/torch (embed,
residual adds, heads). Under load the fork/joins dominate: a descheduled peer thread stalls
every barrier, as it does for llama.cpp.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

BUILD_VERSION = 1  # bump when the random-model recipe changes


@dataclass
class Models:
    hrm: Path
    llama: Path | None
    note: str


def code_corpus(max_bytes: int) -> list[str]:
    """Real code text that exists on every machine with Python: the standard library."""
    texts, n = [], 0
    for f in sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "**", "*.py"),
                          recursive=True)):
        try:
            t = Path(f).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        texts.append(t)
        n += len(t)
        if n >= max_bytes:
            break
    return texts


def random_checkpoint(cfg, tokenizer_fields: dict, seed: int = 0):
    """A Checkpoint of randomly initialised weights for cfg (vocab taken from the tokenizer)."""
    from dataclasses import replace

    import torch

    from hrmcli.runtime.model import HRMCode

    if __package__.startswith("hrmcli."):  # installed: hrmcli.bench beside hrmcli.converters
        from ..converters.gguf_export import Checkpoint
    else:  # a source checkout: bench/ beside converters/ at the top level
        from converters.gguf_export import Checkpoint

    cfg = replace(cfg, vocab_size=len(tokenizer_fields["tokens"]))
    torch.manual_seed(seed)
    model = HRMCode(cfg)
    return Checkpoint(cfg, model.state_dict(), tokenizer_fields,
                      {"data": "random weights (speed benchmark)", "steps": 0})


def build_models(preset: str, qtype: str, cache_dir: Path, log=print) -> Models:
    """Random-weight HRM preset and its same-FLOP transformer, cached by preset and type."""
    from hrmcli.runtime.model import HRMConfig

    if __package__.startswith("hrmcli."):  # installed: hrmcli.bench beside its siblings
        from ..converters.gguf_export import export_hrm
        from ..converters.llama_export import export_llama
        from ..trainer.tokenizer import Tokenizer
    else:  # a source checkout: bench/ beside converters/ and trainer/ at the top level
        from converters.gguf_export import export_hrm
        from converters.llama_export import export_llama
        from trainer.tokenizer import Tokenizer

    cfg = HRMConfig.preset(preset)
    d = cache_dir / f"bench-v{BUILD_VERSION}"
    d.mkdir(parents=True, exist_ok=True)
    hrm, llama = d / f"hrm-{preset}-{qtype}.gguf", d / f"llama-{preset}-{qtype}.gguf"
    tok_path = d / f"tokenizer-{cfg.vocab_size}.json"
    if not tok_path.exists():
        log(f"training a {cfg.vocab_size}-token BPE on standard-library code (once)")
        Tokenizer.train(code_corpus(cfg.vocab_size * 600), cfg.vocab_size).save(tok_path)
    fields = Tokenizer.load(tok_path).to_gguf_fields()
    if not hrm.exists():
        log(f"building a random-weight {preset} HRM-Code model ({qtype})")
        export_hrm(random_checkpoint(cfg, fields), hrm, qtype)
    if not llama.exists():
        log(f"building its same-FLOP transformer ({cfg.n_applications} layers, {qtype})")
        export_llama(random_checkpoint(cfg.same_flops_transformer(), fields), llama, qtype)
    return Models(hrm, llama, f"random weights, preset {preset} (no bundled model)")


def llama_for(model: Path, qtype: str, cache_dir: Path) -> Path:
    """The same-FLOP llama GGUF for a given hrm-code file (random weights, same tokenizer)."""
    import hashlib

    if __package__.startswith("hrmcli."):  # installed: hrmcli.bench beside hrmcli.converters
        from ..converters.llama_export import export_llama
    else:  # a source checkout: bench/ beside converters/ at the top level
        from converters.llama_export import export_llama
    from hrmcli.runtime.gguf_load import (
        _reader,
        config_from_metadata,
        read_metadata,
        tokenizer_fields,
    )

    md = read_metadata(_reader(model))
    cfg = config_from_metadata(md, model)
    fields = tokenizer_fields(md)
    key = hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
    out = cache_dir / f"bench-v{BUILD_VERSION}" / f"llama-{key}-{qtype}.gguf"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        export_llama(random_checkpoint(cfg.same_flops_transformer(), fields), out, qtype)
    return out


# -- workers (run in a fresh subprocess each) ------------------------------------------------

def _peak_rss_mb() -> float:
    """VmHWM: unlike ru_maxrss, it restarts at exec, so the parent's size does not leak in."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def work_hrm(path: str, prompt_tokens: int, gen_tokens: int, threads: int, n_ctx: int) -> dict:
    import torch

    from hrmcli.runtime.engine import Engine
    from hrmcli.runtime.generate import decode_one, prefill

    eng = Engine.load(path, n_ctx=n_ctx, threads=threads)
    eng.cache.k.fill_(0.0)  # commit every KV page: RSS then includes the full context
    eng.cache.v.fill_(0.0)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, eng.cfg.vocab_size, (prompt_tokens + gen_tokens,), generator=g)
    ids = ids.tolist()
    prefill(eng.model, ids[:8], [-1] * 8, eng.cache)  # warm-up, then start clean
    eng.cache.reset()
    t0 = time.perf_counter()
    prefill(eng.model, ids[:prompt_tokens], [-1] * prompt_tokens, eng.cache)
    t1 = time.perf_counter()
    for tok in ids[prompt_tokens:]:
        decode_one(eng.model, tok, eng.cache)
    t2 = time.perf_counter()
    return {"prefill_tps": prompt_tokens / (t1 - t0), "decode_tps": gen_tokens / (t2 - t1),
            "peak_rss_mb": _peak_rss_mb(), "kv_cache_mb": eng.cache.nbytes() / 2**20}


def work_llama(path: str, prompt_tokens: int, gen_tokens: int, threads: int, n_ctx: int) -> dict:
    import random

    import llama_cpp

    llm = llama_cpp.Llama(path, n_ctx=n_ctx, n_batch=512, n_threads=threads,
                          n_threads_batch=threads, verbose=False)
    rng = random.Random(0)
    ids = [rng.randrange(llm.n_vocab()) for _ in range(prompt_tokens + gen_tokens)]
    llm.eval(ids[:8])
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids[:prompt_tokens])
    t1 = time.perf_counter()
    for tok in ids[prompt_tokens:]:
        llm.eval([tok])
    t2 = time.perf_counter()
    return {"prefill_tps": prompt_tokens / (t1 - t0), "decode_tps": gen_tokens / (t2 - t1),
            "peak_rss_mb": _peak_rss_mb()}


def run_worker(kind: str, path: Path, prompt_tokens: int, gen_tokens: int, threads: int,
               n_ctx: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    # This module's own name (bench.speed in a checkout, hrmcli.bench.speed installed), run
    # from the folder that holds its top-level package so that either name imports.
    top = sys.modules[__name__.partition(".")[0]]
    cmd = [sys.executable, "-m", __name__, "worker", kind, str(path), str(prompt_tokens),
           str(gen_tokens), str(threads), str(n_ctx)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       cwd=Path(top.__file__).resolve().parents[1])
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{kind} benchmark failed: {tail[0]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def llama_available() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def benchmark(models: Models, prompt_tokens: int, gen_tokens: int, threads: int,
              n_ctx: int | None = None) -> dict:
    from hrmcli.runtime.gguf_load import _reader, config_from_metadata, read_metadata

    cfg = config_from_metadata(read_metadata(_reader(models.hrm)), models.hrm)
    n_ctx = n_ctx or cfg.max_seq_len
    if prompt_tokens + gen_tokens > n_ctx:
        raise ValueError(f"--prompt-tokens + --gen-tokens ({prompt_tokens + gen_tokens}) "
                         f"exceed the context of {n_ctx}")
    res = run_worker("hrm", models.hrm, prompt_tokens, gen_tokens, threads, n_ctx)
    res["file_mb"] = models.hrm.stat().st_size / 2**20
    res.update(threads=threads, prompt_tokens=prompt_tokens, gen_tokens=gen_tokens,
               n_ctx=n_ctx, layer_applications=cfg.n_applications, note=models.note)
    if models.llama is not None:
        ll = run_worker("llama", models.llama, prompt_tokens, gen_tokens, threads, n_ctx)
        res.update(llama_prefill_tps=ll["prefill_tps"], llama_decode_tps=ll["decode_tps"],
                   llama_peak_rss_mb=ll["peak_rss_mb"],
                   llama_file_mb=models.llama.stat().st_size / 2**20,
                   prefill_ratio=res["prefill_tps"] / ll["prefill_tps"],
                   decode_ratio=res["decode_tps"] / ll["decode_tps"])
    return res


def _worker_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["hrm", "llama"])
    p.add_argument("path")
    for a in ("prompt_tokens", "gen_tokens", "threads", "n_ctx"):
        p.add_argument(a, type=int)
    a = p.parse_args(argv)
    fn = work_hrm if a.kind == "hrm" else work_llama
    print(json.dumps(fn(a.path, a.prompt_tokens, a.gen_tokens, a.threads, a.n_ctx)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        _worker_main(sys.argv[2:])
    else:
        sys.exit("usage: python -m bench.speed worker hrm|llama PATH PROMPT GEN THREADS N_CTX "
                 "(use `hrm bench speed`)")
