"""CPU speed benchmark: our runtime on an hrm-code GGUF beside llama.cpp, in one run.

What llama.cpp runs:
* the same weights, when the hrm-code file is a retrofit at its identity layout (every layer
  once, in the prelude: exactly the pretrained llama): `matching_llama` copies its tensors
  into a llama-architecture GGUF byte for byte, reordering the rows of each Q and K head for
  llama.cpp's RoPE pairing (a permutation of whole quantised rows, so nothing is re-quantised);
  or any llama GGUF given with --llama-model;
* otherwise a same-FLOP transformer (same width, heads and quantisation, one layer per layer
  application, random weights: speed does not depend on weight values).

Method. Every measurement is a fresh subprocess (`python -m bench.speed worker ...`), so peak
RSS is that engine's alone and neither warms the other's caches; rounds interleave the two
engines (hrm first in even rounds, llama.cpp first in odd ones) and the tool reports medians
over rounds, with each ratio the median of the per-round ratios, so a change of machine load
between rounds hits both sides of a ratio alike. In a round an engine loads, warms up on 8
tokens and resets; time to first token is the prefill of the prompt plus the first greedy
pick; decoding then runs gen_tokens greedy steps (pick the argmax, feed it back). Both engines
get the same random prompt ids, the same thread count and a KV cache of the same length,
max(model context, prompt + generated), with every page of ours committed before timing, so
peak RSS is at full context. RoPE is defined at every position, so a context longer than the
model's own is a valid speed measurement (not a quality one).

When no model is given or bundled, a random-weight preset is built (with a byte-level BPE
trained on the Python standard library) and cached under hrm's cache directory.
"""

from __future__ import annotations

import argparse
import gc
import glob
import json
import os
import resource
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, replace
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


def _converters():
    """converters.gguf_export and converters.llama_export, under this checkout's names or the
    installed ones (hrmcli.bench beside hrmcli.converters)."""
    if __package__.startswith("hrmcli."):
        from ..converters import gguf_export, llama_export
    else:
        from converters import gguf_export, llama_export
    return gguf_export, llama_export


def random_checkpoint(cfg, tokenizer_fields: dict, seed: int = 0):
    """A Checkpoint of randomly initialised weights for cfg (vocab taken from the tokenizer)."""
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


def llama_for(model: Path, qtype: str, cache_dir: Path) -> tuple[Path, str]:
    """llama.cpp's side of the comparison for an hrm-code file, and what it is: the same
    weights for a retrofit at its identity layout, else a same-FLOP transformer (random
    weights, same tokenizer, qtype)."""
    import hashlib

    from hrmcli.runtime.gguf_load import (
        _reader,
        config_from_metadata,
        read_metadata,
        tokenizer_fields,
    )

    md = read_metadata(_reader(model))
    cfg = config_from_metadata(md, model)
    if is_identity(cfg):
        return matching_llama(model, cache_dir), "llama.cpp on the same weights"
    _, llama_export = _converters()
    fields = tokenizer_fields(md)
    key = hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
    out = cache_dir / f"bench-v{BUILD_VERSION}" / f"llama-{key}-{qtype}.gguf"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        # a plain transformer: a retrofit's prelude and recursion unrolled into n_app layers
        flat = replace(cfg.same_flops_transformer(), retrofit=False, prelude_layers=0)
        llama_export.export_llama(random_checkpoint(flat, fields), out, qtype)
    return out, (f"llama.cpp on a same-FLOP transformer ({cfg.n_applications} layers, "
                 f"random {qtype} weights)")


def is_identity(cfg) -> bool:
    """A retrofit at its identity layout: every layer once in the prelude, no recursion, so
    the file computes exactly the pretrained llama it came from."""
    return bool(cfg.retrofit) and cfg.prelude_layers > 0 and \
        cfg.n_applications == cfg.prelude_layers


def matching_llama(model: Path, cache_dir: Path) -> Path:
    """A llama-architecture GGUF with exactly the weights of an identity-layout hrm-code file
    (cached by the file's path, size and modification time).

    Tensors are copied as stored, so both engines read the same quantised bytes: the layer
    tensors lose their `p.` prefix, and the rows of each Q and K head are reordered from our
    rotate-half RoPE pairing to llama.cpp's adjacent pairs (converters.llama_export); a
    quantised row is whole blocks, so this is exact. The plan and halt heads are left out."""
    import hashlib

    import gguf
    import numpy as np
    import torch

    from hrmcli.runtime.gguf_load import (
        _reader,
        config_from_metadata,
        read_metadata,
        tokenizer_fields,
    )

    gguf_export, llama_export = _converters()
    reader = _reader(model)
    md = read_metadata(reader)
    cfg = config_from_metadata(md, model)
    if not is_identity(cfg):
        raise ValueError(f"{model} is not a retrofit at its identity layout; llama.cpp cannot "
                         "run its recursion")
    st = model.stat()
    key = hashlib.sha1(f"{model.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    out = cache_dir / f"bench-v{BUILD_VERSION}" / f"llama-same-{key[:12]}.gguf"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fields = tokenizer_fields(md)
    if md.get("tokenizer.chat_template"):
        fields["chat_template"] = str(md["tokenizer.chat_template"])
    name = str(md.get("general.name", model.stem))
    ck = gguf_export.Checkpoint(cfg, {}, fields, {"name": f"{name} (llama copy of {model.name})"})
    heads = {"attn_q.weight": cfg.n_heads, "attn_k.weight": cfg.n_kv_heads}
    tmp = out.with_name(out.name + ".part")
    w = gguf.GGUFWriter(str(tmp), "llama")
    try:
        llama_export.llama_metadata(w, ck)
        if "general.file_type" in md:
            w.add_file_type(int(md["general.file_type"]))
        for t in reader.tensors:
            if t.name.startswith("p.blk."):
                new = t.name[2:]
            elif t.name in ("token_embd.weight", "output_norm.weight", "output.weight"):
                new = t.name
            else:
                continue
            data = np.asarray(t.data)
            sub = new.split(".", 2)[-1]
            if sub in heads:
                rows = torch.arange(data.shape[0])[:, None]
                data = data[llama_export.neox_to_interleaved(rows, heads[sub])[:, 0].numpy()]
            w.add_tensor(new, np.ascontiguousarray(data), raw_dtype=t.tensor_type)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
    finally:
        w.close()
    tmp.replace(out)
    return out


# -- workers (run in a fresh subprocess each) ------------------------------------------------

def _peak_rss_mb() -> float:
    """VmHWM: unlike ru_maxrss, it restarts at exec, so the parent's size does not leak in."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prompt_ids(vocab_size: int, n: int) -> list[int]:
    """The benchmark prompt: the same n random token ids for both engines."""
    import random

    rng = random.Random(0)
    return [rng.randrange(vocab_size) for _ in range(n)]


def work_hrm(path: str, prompt_tokens: int, gen_tokens: int, threads: int, n_ctx: int,
             kv: str = "f32") -> dict:
    import torch

    from hrmcli.runtime.engine import freeze_loaded_objects
    from hrmcli.runtime.generate import decode_one, last_position_heads, prefill
    from hrmcli.runtime.gguf_load import load
    from hrmcli.runtime.model import KVCache, rope_tables

    torch.set_num_threads(threads)
    loaded = load(path)
    model, cfg = loaded.model, loaded.cfg
    last_position_heads(model)
    if n_ctx > cfg.max_seq_len:  # RoPE is defined at every position
        model.rope_cos, model.rope_sin = rope_tables(replace(cfg, max_seq_len=n_ctx))
    cache = KVCache(cfg, max_len=n_ctx, dtype=torch.float16 if kv == "f16" else torch.float32)
    freeze_loaded_objects()  # as Engine does
    cache.k.fill_(0.0)  # commit every KV page: RSS then includes the full context
    cache.v.fill_(0.0)
    ids = prompt_ids(cfg.vocab_size, prompt_tokens)
    prefill(model, ids[:8], [-1] * 8, cache)  # warm-up, then start clean
    cache.reset()
    t0 = time.perf_counter()
    out = prefill(model, ids, [-1] * prompt_tokens, cache)
    t1 = time.perf_counter()
    tok = int(out.logits[0, -1].argmax())
    t2 = time.perf_counter()
    for _ in range(gen_tokens):
        out = decode_one(model, tok, cache)
        tok = int(out.logits[0, -1].argmax())
    t3 = time.perf_counter()
    return {"prefill_tps": prompt_tokens / (t1 - t0), "decode_tps": gen_tokens / (t3 - t2),
            "ttft_s": t2 - t0, "peak_rss_mb": _peak_rss_mb(),
            "kv_cache_mb": cache.nbytes() / 2**20}


def work_llama(path: str, prompt_tokens: int, gen_tokens: int, threads: int, n_ctx: int,
               kv: str = "f16") -> dict:
    """llama.cpp through llama-cpp-python as llama.cpp's own tools run it: f16 KV cache,
    512-token batches, flash attention on (llama.cpp's `-fa auto` picks it on CPUs; the
    Python binding defaults it off, and it is the faster setting at long prompts here)."""
    import llama_cpp
    import numpy as np

    llm = llama_cpp.Llama(path, n_ctx=n_ctx, n_batch=512, n_threads=threads,
                          n_threads_batch=threads, flash_attn=True, verbose=False)
    gc.collect()  # what Engine does for ours (freeze_loaded_objects)
    gc.freeze()
    ids = prompt_ids(llm.n_vocab(), prompt_tokens)
    llm.eval(ids[:8])
    llm.reset()
    n_vocab = llm.n_vocab()

    def greedy() -> int:  # the last position's logits, as llama.cpp's own greedy sampler
        return int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), (n_vocab,))))

    t0 = time.perf_counter()
    llm.eval(ids)
    t1 = time.perf_counter()
    tok = greedy()
    t2 = time.perf_counter()
    for _ in range(gen_tokens):
        llm.eval([tok])
        tok = greedy()
    t3 = time.perf_counter()
    return {"prefill_tps": prompt_tokens / (t1 - t0), "decode_tps": gen_tokens / (t3 - t2),
            "ttft_s": t2 - t0, "peak_rss_mb": _peak_rss_mb()}


def run_worker(kind: str, path: Path, prompt_tokens: int, gen_tokens: int, threads: int,
               n_ctx: int, kv: str = "f32") -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    # This module's own name (bench.speed in a checkout, hrmcli.bench.speed installed), run
    # from the folder that holds its top-level package so that either name imports.
    top = sys.modules[__name__.partition(".")[0]]
    cmd = [sys.executable, "-m", __name__, "worker", kind, str(path), str(prompt_tokens),
           str(gen_tokens), str(threads), str(n_ctx), kv]
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


def _median(xs: list[float]) -> float:
    import statistics

    return float(statistics.median(xs))


def benchmark(models: Models, prompt_tokens: int, gen_tokens: int, threads: int,
              n_ctx: int | None = None, repeat: int = 1, kv: str = "f32",
              log=None) -> dict:
    """Interleaved rounds of both engines; medians (see the module docstring)."""
    from hrmcli.runtime.gguf_load import _reader, config_from_metadata, read_metadata

    if repeat < 1:
        raise ValueError("--repeat must be at least 1")
    cfg = config_from_metadata(read_metadata(_reader(models.hrm)), models.hrm)
    n_ctx = max(n_ctx or cfg.max_seq_len, prompt_tokens + gen_tokens)
    load_start = os.getloadavg()[0]
    rounds: list[dict] = []
    for r in range(repeat):
        kinds = ["hrm"] + (["llama"] if models.llama is not None else [])
        got = {}
        for kind in kinds if r % 2 == 0 else kinds[::-1]:
            path = models.hrm if kind == "hrm" else models.llama
            got[kind] = run_worker(kind, path, prompt_tokens, gen_tokens, threads, n_ctx, kv)
        rounds.append(got)
        if log:
            log(_round_line(r, got))
    res = {k: _median([g["hrm"][k] for g in rounds])
           for k in ("prefill_tps", "decode_tps", "ttft_s", "kv_cache_mb")}
    res["peak_rss_mb"] = max(g["hrm"]["peak_rss_mb"] for g in rounds)
    res.update(file_mb=models.hrm.stat().st_size / 2**20, threads=threads,
               prompt_tokens=prompt_tokens, gen_tokens=gen_tokens, n_ctx=n_ctx, kv_cache=kv,
               layer_applications=cfg.n_applications, note=models.note, repeat=repeat,
               model=str(models.hrm))
    if models.llama is not None:
        for k in ("prefill_tps", "decode_tps", "ttft_s"):
            res[f"llama_{k}"] = _median([g["llama"][k] for g in rounds])
        res["llama_peak_rss_mb"] = max(g["llama"]["peak_rss_mb"] for g in rounds)
        res["llama_file_mb"] = models.llama.stat().st_size / 2**20
        res["llama_model"] = str(models.llama)
        for k in ("prefill", "decode"):
            res[f"{k}_ratio"] = _median([g["hrm"][f"{k}_tps"] / g["llama"][f"{k}_tps"]
                                         for g in rounds])
    res["rounds"] = rounds
    res["load_avg"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    return res


def _round_line(r: int, got: dict) -> str:
    parts = [f"round {r + 1}:"]
    for kind, g in got.items():
        parts.append(f"{kind} prefill {g['prefill_tps']:.1f} decode {g['decode_tps']:.1f} tok/s "
                     f"ttft {g['ttft_s']:.2f} s")
    return "  ".join(parts)


def _worker_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["hrm", "llama"])
    p.add_argument("path")
    for a in ("prompt_tokens", "gen_tokens", "threads", "n_ctx"):
        p.add_argument(a, type=int)
    p.add_argument("kv", nargs="?", default="f32", choices=["f32", "f16"])
    a = p.parse_args(argv)
    if a.kind == "hrm":
        res = work_hrm(a.path, a.prompt_tokens, a.gen_tokens, a.threads, a.n_ctx, a.kv)
    else:
        res = work_llama(a.path, a.prompt_tokens, a.gen_tokens, a.threads, a.n_ctx)
    print(json.dumps(res))


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        _worker_main(sys.argv[2:])
    else:
        sys.exit("usage: python -m bench.speed worker hrm|llama PATH PROMPT GEN THREADS N_CTX "
                 "[f32|f16] (use `hrm bench speed`)")
