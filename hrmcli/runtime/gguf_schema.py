"""The `hrm-code` GGUF schema: architecture name, hyperparameter keys and tensor names.

It lives in the runtime because the loader (gguf_load) is what gives the file its meaning;
the converters import it from here to write the same keys and names, so the writer and the
reader cannot drift apart and `hrm edit` never has to import converter code.
"""

from __future__ import annotations

ARCH = "hrm-code"

# Keys of HRMConfig stored as uint32 / float64 (exact round trip) under hrm-code.*; the
# runtime reads back the same.
INT_KEYS = ("vocab_size", "d_model", "n_heads", "n_kv_heads", "h_layers", "l_layers",
            "h_cycles", "l_cycles", "ffn_hidden", "max_seq_len", "n_tools")
FLOAT_KEYS = ("rope_base", "norm_eps")
# Added with retrofits: absent from older files, where the defaults (False / 0) hold.
OPTIONAL_INT_KEYS = ("prelude_layers",)
BOOL_KEYS = ("tie_embeddings", "retrofit")

# Per-layer sublayer names: state_dict suffix -> llama.cpp-style GGUF suffix.
SUBLAYER_NAMES = {
    "attn_norm.weight": "attn_norm.weight",
    "attn.wq.weight": "attn_q.weight",
    "attn.wk.weight": "attn_k.weight",
    "attn.wv.weight": "attn_v.weight",
    "attn.wo.weight": "attn_output.weight",
    "ffn_norm.weight": "ffn_norm.weight",
    "ffn.w1.weight": "ffn_gate.weight",
    "ffn.w3.weight": "ffn_up.weight",
    "ffn.w2.weight": "ffn_down.weight",
}
# Whole-model tensors: state_dict key -> GGUF name.
TOP_NAMES = {
    "embed.weight": "token_embd.weight",
    "lm_head.weight": "output.weight",
    "plan_head.weight": "plan_head.weight",
    "halt_head.weight": "halt_head.weight",
    "halt_head.bias": "halt_head.bias",
    "z_l_init": "z_l_init",
    "norm.weight": "output_norm.weight",
    "inject_l.weight": "inject_l.weight",
    "inject_h.weight": "inject_h.weight",
}


class UnknownTensorError(ValueError):
    """A state_dict key the schema has no GGUF name for (a model change without a schema
    change); the converters report it as a ConvertError."""


def gguf_name(key: str) -> str:
    """state_dict key -> GGUF tensor name: the one mapping, used by the writer and the loader."""
    if key in TOP_NAMES:
        return TOP_NAMES[key]
    parts = key.split(".")
    if parts[0] == "prelude" and len(parts) > 3 and parts[1] == "layers":
        sub = ".".join(parts[3:])
        if sub in SUBLAYER_NAMES:
            return f"p.blk.{parts[2]}.{SUBLAYER_NAMES[sub]}"
    if parts[0] in ("h", "l") and len(parts) > 1:
        if parts[1] == "norm":
            return f"{parts[0]}.output_norm.weight"
        if parts[1] == "layers" and len(parts) > 3:
            sub = ".".join(parts[3:])
            if sub in SUBLAYER_NAMES:
                return f"{parts[0]}.blk.{parts[2]}.{SUBLAYER_NAMES[sub]}"
    raise UnknownTensorError(f"no GGUF name for checkpoint tensor {key!r}")
