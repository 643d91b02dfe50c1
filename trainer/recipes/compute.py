"""Training FLOPs per token, and the step counts that give the baselines HRM's compute.

"Equal training compute" is what the HRM-vs-transformer comparison must hold fixed. The
same-FLOP transformer does the same forward work per token as HRM but backpropagates
through every layer, while HRM's gradient window skips the backward pass of its early
module calls; the same-parameter transformer is about 2-3x cheaper per token. So each
baseline gets `steps_hrm * flops_hrm / flops_baseline` steps at the same batch and length.

Counted: 2 FLOPs per multiply-add of every matmul (blocks, LM/plan/halt heads) and the
attention scores and mixing at the average causal context (seq_len / 2); backward = 2x
forward for the parts that get gradients. Norms, RoPE and softmax are ignored (<2%).

    python -m trainer.recipes.compute --preset tiny --seq-len 1024 --steps 700
"""

from __future__ import annotations

import argparse
import json

from hrmcli.runtime.model import HRMConfig

from ..train import grad_window_at


def layer_flops(cfg: HRMConfig, seq_len: int) -> float:
    """Forward FLOPs of one layer application per token."""
    d, hd = cfg.d_model, cfg.head_dim
    attn_proj = d * (cfg.n_heads * hd) * 2 + d * (cfg.n_kv_heads * hd) * 2  # q, o, k, v
    ffn = 3 * d * cfg.hidden
    attn_mix = 2 * cfg.n_heads * hd * (seq_len / 2)  # scores + weighted sum
    return 2.0 * (attn_proj + ffn + attn_mix)


def head_flops(cfg: HRMConfig) -> float:
    return 2.0 * cfg.d_model * (cfg.vocab_size + cfg.n_tools + 1)


def train_flops_per_token(cfg: HRMConfig, seq_len: int, steps: int,
                          grad_window: str = "auto") -> float:
    """Average training FLOPs per token over a run of `steps` (forward + backward)."""
    lf, hf = layer_flops(cfg, seq_len), head_flops(cfg)
    calls = cfg.call_plan()
    layers = [cfg.l_layers if which == "L" else cfg.h_layers for which, _ in calls]
    fwd = sum(layers) * lf + hf
    total = 0.0
    for step in range(steps):
        w = grad_window_at(grad_window, step, steps, len(calls))
        grad_layers = sum(layers if w is None else layers[len(layers) - w:])
        total += fwd + 2 * (grad_layers * lf + hf)
    return total / max(steps, 1)


def matched_steps(cfg: HRMConfig, seq_len: int, hrm_steps: int) -> dict:
    hrm = train_flops_per_token(cfg, seq_len, hrm_steps)
    out = {"hrm": {"steps": hrm_steps, "train_flops_per_token": hrm}}
    for name, bcfg in (("transformer-params", cfg.same_params_transformer()),
                       ("transformer-flops", cfg.same_flops_transformer())):
        per_tok = train_flops_per_token(bcfg, seq_len, 1)
        out[name] = {"steps": round(hrm_steps * hrm / per_tok), "train_flops_per_token": per_tok}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m trainer.recipes.compute", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--vocab-size", type=int, default=8192)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--steps", type=int, required=True, help="HRM's steps")
    ap.add_argument("--only", default="", help="print just this arch's step count")
    a = ap.parse_args(argv)
    cfg = HRMConfig.preset(a.preset, vocab_size=a.vocab_size)
    res = matched_steps(cfg, a.seq_len, a.steps)
    print(res[a.only]["steps"] if a.only else json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
