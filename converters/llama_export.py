"""Transformer baseline checkpoint -> llama-architecture GGUF that llama.cpp loads as is.

Our baselines are HRMCode with h_cycles=1, l_cycles=0: pre-norm blocks, a final RMSNorm and an
LM head, which is exactly llama's graph. The one difference is RoPE layout: we rotate halves
(pairs (i, i + head_dim/2), "NEOX"), llama.cpp's llama architecture rotates adjacent pairs
(2i, 2i + 1). Permuting the rows of W_q and W_k inside every head from the first layout to the
second makes llama.cpp compute the same attention scores (q.k is invariant when q and k are
permuted alike); V and the output projection are untouched.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .gguf_export import (
    Checkpoint,
    ConvertError,
    add_tokenizer,
    check_checkpoint,
    write_gguf,
)

ARCH = "llama"


def neox_to_interleaved(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Reorder the rows of a Q or K projection so rotate-half RoPE becomes adjacent-pair RoPE."""
    out_dim, in_dim = w.shape
    hd = out_dim // n_heads
    return w.reshape(n_heads, 2, hd // 2, in_dim).transpose(1, 2).reshape(out_dim, in_dim)


def llama_tensors(ck: Checkpoint):
    cfg = ck.cfg
    names = {
        "attn_norm.weight": "attn_norm.weight", "attn.wq.weight": "attn_q.weight",
        "attn.wk.weight": "attn_k.weight", "attn.wv.weight": "attn_v.weight",
        "attn.wo.weight": "attn_output.weight", "ffn_norm.weight": "ffn_norm.weight",
        "ffn.w1.weight": "ffn_gate.weight", "ffn.w3.weight": "ffn_up.weight",
        "ffn.w2.weight": "ffn_down.weight",
    }
    s = ck.state
    # A retrofit at its identity setting keeps its layers in the prelude and one final norm.
    stack, n, final = ("prelude", cfg.prelude_layers, "norm.weight") if cfg.retrofit else \
        ("h", cfg.h_layers, "h.norm.weight")
    yield "token_embd.weight", s["embed.weight"]
    for i in range(n):
        for sub, gname in names.items():
            t = s[f"{stack}.layers.{i}.{sub}"]
            if sub == "attn.wq.weight":
                t = neox_to_interleaved(t, cfg.n_heads)
            elif sub == "attn.wk.weight":
                t = neox_to_interleaved(t, cfg.n_kv_heads)
            yield f"blk.{i}.{gname}", t
    yield "output_norm.weight", s[final]
    if not cfg.tie_embeddings:  # llama.cpp ties the head to token_embd when output is absent
        yield "output.weight", s["lm_head.weight"]


def llama_metadata(w, ck: Checkpoint) -> None:
    cfg = ck.cfg
    w.add_name(ck.provenance.get("name", "HRM-Code transformer baseline"))
    w.add_vocab_size(cfg.vocab_size)
    w.add_context_length(cfg.max_seq_len)
    w.add_embedding_length(cfg.d_model)
    w.add_feed_forward_length(cfg.hidden)
    w.add_block_count(cfg.prelude_layers if cfg.retrofit else cfg.h_layers)
    w.add_head_count(cfg.n_heads)
    w.add_head_count_kv(cfg.n_kv_heads)
    w.add_rope_freq_base(cfg.rope_base)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_layer_norm_rms_eps(cfg.norm_eps)
    add_tokenizer(w, ck.tokenizer_fields)
    if ck.tokenizer_fields.get("chat_template"):
        w.add_chat_template(ck.tokenizer_fields["chat_template"])


def export_llama(ck: Checkpoint, out: str | Path, qtype: str, progress=None,
                 embed_qtype: str | None = None) -> None:
    if not ck.cfg.is_transformer or (ck.cfg.retrofit and ck.cfg.n_applications != ck.cfg.prelude_layers):
        raise ConvertError("this checkpoint is an HRM model; llama.cpp cannot run its "
                           "recurrence: export it as hrm-code (hrm convert without --arch)")
    check_checkpoint(ck)
    write_gguf(out, ARCH, qtype, lambda w: llama_metadata(w, ck), llama_tensors(ck), progress,
               embed_qtype)
