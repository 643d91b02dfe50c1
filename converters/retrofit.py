"""A pretrained llama-architecture GGUF -> an HRM-Code checkpoint that starts as that model.

The GGUF is dequantized to fp32 (Q4_1/Q8_0 noise included: tuning absorbs it), its own
tokenizer (byte-level BPE) and chat template are kept, and its layers are placed in one of
three layouts (see hrmcli.runtime.model, "retrofit"):

- identity: every layer in the prelude, no recursion: exactly the source model, the
  baseline every HRM layout must beat;
- core:P:C:R: layers [0, P) are the prelude, [P, P+C) the recurrent core L looped R times,
  the rest the coda H (retrofitted recurrence, McLeish et al. 2025);
- planner:K:C: the whole pretrained stack is L, H is K new blocks, run for C H cycles.

Every new part starts at zero where it touches the residual stream (the injections, the new
H blocks' output projections), so each layout computes the source model at any cycle count
until tuning moves it. llama.cpp stores W_q/W_k rows in adjacent-pair RoPE order; we rotate
halves, so those rows are permuted back (the inverse of converters.llama_export).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from hrmcli.prompt_format import CHATML_FORMAT_VERSION
from hrmcli.runtime.model import HRMCode, HRMConfig

from .gguf_export import Checkpoint, ConvertError

LAYOUTS = ("identity", "core:P:C:R", "planner:K:C")
_SUB = {
    "attn_norm": "attn_norm.weight", "attn_q": "attn.wq.weight", "attn_k": "attn.wk.weight",
    "attn_v": "attn.wv.weight", "attn_output": "attn.wo.weight", "ffn_norm": "ffn_norm.weight",
    "ffn_gate": "ffn.w1.weight", "ffn_up": "ffn.w3.weight", "ffn_down": "ffn.w2.weight",
}


def interleaved_to_neox(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Rows of a Q or K projection from adjacent-pair RoPE order back to rotate-half order."""
    out_dim, in_dim = w.shape
    hd = out_dim // n_heads
    return w.reshape(n_heads, hd // 2, 2, in_dim).transpose(1, 2).reshape(out_dim, in_dim)


def _dequantize(t) -> torch.Tensor:
    import gguf

    shape = tuple(int(x) for x in reversed(t.shape))  # GGUF lists ne0 (the row) first
    try:
        a = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
    except NotImplementedError as e:
        raise ConvertError(f"tensor {t.name} has type {t.tensor_type.name}, which cannot be "
                           "dequantized here; use an F16/Q8_0/Q4_0/Q4_1/Q5_x/Qn_K file") from e
    return torch.from_numpy(np.array(a, dtype=np.float32).reshape(shape))


def read_llama(path: str | Path) -> tuple[HRMConfig, dict[str, torch.Tensor], dict, dict]:
    """(identity config, fp32 tensors by GGUF name, tokenizer fields, other metadata)."""
    import gguf

    path = Path(path)
    if not path.is_file():
        raise ConvertError(f"no GGUF file at {path}")
    try:
        reader = gguf.GGUFReader(str(path), "r")
        md = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    except Exception as e:
        raise ConvertError(f"{path} is not a readable GGUF file ({type(e).__name__}: {e})") from e
    arch = md.get("general.architecture")
    if arch != "llama":
        raise ConvertError(f"{path} has architecture {arch!r}; the retrofit reads llama-"
                           "architecture files (SmolLM2, TinyLlama, Llama ...)")

    def need(key: str):
        if f"llama.{key}" not in md:
            raise ConvertError(f"{path} lacks llama.{key}; it is not a complete llama GGUF")
        return md[f"llama.{key}"]

    d, heads = int(need("embedding_length")), int(need("attention.head_count"))
    head_dim = int(md.get("llama.rope.dimension_count", d // heads))
    if head_dim != d // heads:
        raise ConvertError(f"{path}: partial RoPE ({head_dim} of {d // heads} dims) is not supported")
    tensors = {t.name: t for t in reader.tensors}
    tied = "output.weight" not in tensors
    pre = "tokenizer.ggml."
    tok = {k[len(pre):]: v for k, v in md.items() if k.startswith(pre)}
    if "tokens" not in tok:
        raise ConvertError(f"{path} has no embedded tokenizer")
    if md.get("tokenizer.chat_template"):
        tok["chat_template"] = str(md["tokenizer.chat_template"])
    cfg = HRMConfig(
        vocab_size=len(tok["tokens"]), d_model=d, n_heads=heads,
        n_kv_heads=int(md.get("llama.attention.head_count_kv", heads)),
        h_layers=0, l_layers=0, h_cycles=1, l_cycles=0, prelude_layers=int(need("block_count")),
        ffn_hidden=int(need("feed_forward_length")),
        max_seq_len=int(md.get("llama.context_length", 2048)),
        rope_base=float(md.get("llama.rope.freq_base", 10000.0)),
        norm_eps=float(need("attention.layer_norm_rms_epsilon")),
        tie_embeddings=tied, retrofit=True,
    )
    weights = {}
    for name, t in tensors.items():
        w = _dequantize(t)
        if name.endswith("attn_q.weight"):
            w = interleaved_to_neox(w, cfg.n_heads)
        elif name.endswith("attn_k.weight"):
            w = interleaved_to_neox(w, cfg.n_kv_heads)
        weights[name] = w
    meta = {k: md[k] for k in ("general.name", "general.license", "general.organization",
                               "general.basename", "general.size_label") if k in md}
    return cfg, weights, tok, meta


def parse_layout(spec: str, n_layers: int) -> dict:
    """HRMConfig fields for a layout spec (see LAYOUTS), checked against the layer count."""
    kind, *nums = spec.split(":")
    try:
        vals = [int(x) for x in nums]
    except ValueError:
        vals = []
    if kind == "identity" and not nums:
        return dict(prelude_layers=n_layers, h_layers=0, l_layers=0, h_cycles=1, l_cycles=0)
    if kind == "core" and len(vals) == 3:
        p, c, r = vals
        if p < 0 or c < 1 or r < 1 or p + c > n_layers:
            raise ConvertError(f"core:{p}:{c}:{r} does not fit {n_layers} layers")
        return dict(prelude_layers=p, l_layers=c, l_cycles=r, h_layers=n_layers - p - c, h_cycles=1)
    if kind == "planner" and len(vals) == 2:
        k, c = vals
        if k < 1 or c < 1:
            raise ConvertError(f"planner:{k}:{c} needs at least one new H layer and one cycle")
        return dict(prelude_layers=0, l_layers=n_layers, l_cycles=1, h_layers=k, h_cycles=c)
    raise ConvertError(f"unknown layout {spec!r}; use one of {', '.join(LAYOUTS)}")


def build_state(cfg: HRMConfig, weights: dict[str, torch.Tensor], n_layers: int,
                seed: int = 0) -> dict[str, torch.Tensor]:
    """The HRMCode state dict of `cfg` filled from the source layers."""
    torch.manual_seed(seed)
    model = HRMCode(cfg)  # fresh init for the new parts (heads, new H blocks)
    state = model.state_dict()
    src = iter(range(n_layers))
    placed = []
    if cfg.prelude_layers:
        placed += [("prelude", j, next(src)) for j in range(cfg.prelude_layers)]
    if cfg.has_l:
        placed += [("l", j, next(src)) for j in range(cfg.l_layers)]
    new_h = cfg.prelude_layers + (cfg.l_layers if cfg.has_l else 0) == n_layers
    if not new_h:
        placed += [("h", j, next(src)) for j in range(cfg.h_layers)]
    for mod, j, i in placed:
        for sub, key in _SUB.items():
            name = f"blk.{i}.{sub}.weight"
            if name not in weights:
                raise ConvertError(f"the source file lacks {name}")
            state[f"{mod}.layers.{j}.{key}"] = weights[name]
    if new_h:  # planner: new blocks that start as the identity on the residual stream
        for j in range(cfg.h_layers):
            state[f"h.layers.{j}.attn.wo.weight"].zero_()
            state[f"h.layers.{j}.ffn.w2.weight"].zero_()
    state["embed.weight"] = weights["token_embd.weight"]
    state["lm_head.weight"] = weights.get("output.weight", weights["token_embd.weight"])
    state["norm.weight"] = weights["output_norm.weight"]
    # The plan head reads z_H from a pretrained residual stream whose scale the fresh init
    # did not assume; start it small so early plan losses do not swamp the LM loss.
    state["plan_head.weight"] = state["plan_head.weight"] * (1.0 / math.sqrt(cfg.d_model))
    return state


def retrofit(path: str | Path, layout: str = "identity", max_seq_len: int | None = None,
             seed: int = 0) -> Checkpoint:
    cfg, weights, tok, meta = read_llama(path)
    n = cfg.prelude_layers
    cfg = replace(cfg, **parse_layout(layout, n))
    if max_seq_len:
        cfg = replace(cfg, max_seq_len=max_seq_len)
    state = build_state(cfg, weights, n, seed)
    prov = {"base_model": str(meta.get("general.name", Path(path).name)),
            "base_file": Path(path).name, "base_license": str(meta.get("general.license", "")),
            "layout": layout, "name": f"HRM-Code ({layout}) from {meta.get('general.name', 'a llama GGUF')}"}
    return Checkpoint(cfg, state, tok, prov, prompt_format=CHATML_FORMAT_VERSION)


def relayout(payload: dict, layout: str, seed: int = 0) -> Checkpoint:
    """A tuned identity checkpoint (a trainer payload) placed in another layout.

    Its prelude layers stand in for the source file's blocks, so a core or planner layout
    starts as the tuned model, not the base; its plan and halt heads are kept, so layouts
    compared from the same tuned start differ only in where the recursion goes.
    """
    cfg = HRMConfig.from_dict(payload["model_config"])
    if not (cfg.retrofit and cfg.prelude_layers and not cfg.h_layers and not cfg.l_layers):
        raise ConvertError("relayout reads identity retrofits (every layer in the prelude); "
                           f"this checkpoint has prelude {cfg.prelude_layers}, "
                           f"L {cfg.l_layers}, H {cfg.h_layers}")
    state, n = payload["model"], cfg.prelude_layers
    weights = {f"blk.{i}.{sub}.weight": state[f"prelude.layers.{i}.{key}"]
               for i in range(n) for sub, key in _SUB.items()}
    weights["token_embd.weight"] = state["embed.weight"]
    weights["output.weight"] = state["lm_head.weight"]
    weights["output_norm.weight"] = state["norm.weight"]
    new = replace(cfg, **parse_layout(layout, n))
    out = build_state(new, weights, n, seed)
    for k in ("plan_head.weight", "halt_head.weight", "halt_head.bias"):
        out[k] = state[k].clone()
    prov = dict(payload.get("provenance") or {}, layout=layout,
                name=f"HRM-Code ({layout}) from a tuned identity retrofit")
    return Checkpoint(new, out, payload["tokenizer"], prov,
                      int(payload.get("prompt_format", CHATML_FORMAT_VERSION)))


def save(ck: Checkpoint, out: str | Path) -> Path:
    """Write the retrofit as a trainer checkpoint (what `hrm convert` and the tuner read)."""
    return save_payload({"model": ck.state, "model_config": ck.cfg.to_dict(),
                         "tokenizer": ck.tokenizer_fields, "provenance": ck.provenance,
                         "prompt_format": ck.prompt_format, "step": 0}, out)


def _checkpoint_io():
    if __package__.startswith("hrmcli."):  # installed: hrmcli.converters beside hrmcli.trainer
        from ..trainer import checkpoint
    else:  # a source checkout: converters/ beside trainer/ at the top level
        from trainer import checkpoint
    return checkpoint


def _load_payload(path: str | Path) -> dict:
    if not Path(path).is_file():
        raise ConvertError(f"no checkpoint at {path}")
    return _checkpoint_io().load_checkpoint(path)


def save_payload(payload: dict, out: str | Path) -> Path:
    """Write a checkpoint payload atomically with the trainer's own writer."""
    return _checkpoint_io().save_checkpoint(out, payload)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m converters.retrofit", description=__doc__.split("\n")[0])
    ap.add_argument("gguf", help="a llama-architecture GGUF (e.g. SmolLM2-135M-Instruct.Q4_1.gguf), "
                    "or a tuned identity checkpoint (.pt) to place in another layout")
    ap.add_argument("out", help="checkpoint file to write (.pt)")
    ap.add_argument("--layout", default="identity", help=f"one of {', '.join(LAYOUTS)}")
    ap.add_argument("--max-seq-len", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        if args.gguf.endswith(".pt"):
            ck = relayout(_load_payload(args.gguf), args.layout)
        else:
            ck = retrofit(args.gguf, args.layout, args.max_seq_len)
    except ConvertError as e:
        print(f"error: {e}")
        return 2
    save(ck, args.out)
    c = ck.cfg
    print(f"wrote {args.out}: {args.layout}, prelude {c.prelude_layers}, L {c.l_layers}x{c.l_cycles}, "
          f"H {c.h_layers}x{c.h_cycles}, vocab {c.vocab_size}, {c.n_applications} layer applications")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
