"""Checkpoint -> GGUF for HRM-Code (architecture `hrm-code`).

Every hyperparameter goes in `hrm-code.*` keys so that the runtime rebuilds the model from the
file alone; the tokenizer goes in the standard `tokenizer.ggml.*` keys (byte-level BPE,
model "gpt2") so that generic GGUF tools can read it.

Tensor types follow llama.cpp: 1-D tensors (norms, biases, z_L init) stay F32; every matrix
whose rows are a whole number of 32-weight blocks takes the requested type, the token
embedding and the LM head included ("pure" quantisation, as llama.cpp's --pure does), so that
the llama.cpp baseline and our runtime read the same bytes per token. The tiny plan/halt
heads stay F32: they are a few KB and feed decisions, not text.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hrmcli.prompt_format import PROMPT_FORMAT_VERSION
from hrmcli.runtime.gguf_schema import (
    ARCH,
    BOOL_KEYS,
    FLOAT_KEYS,
    INT_KEYS,
    OPTIONAL_INT_KEYS,
    UnknownTensorError,
    gguf_name,
)
from hrmcli.runtime.model import HRMConfig
from hrmcli.runtime.tokenizer import Tokenizer

QTYPES = ("f32", "f16", "q8_0", "q4_0", "q4_1", "q5_0")

_KEEP_F32 = ("plan_head.weight",)


class ConvertError(Exception):
    """A checkpoint that cannot be converted; the message says what to do."""


@dataclass
class Checkpoint:
    cfg: HRMConfig
    state: dict[str, torch.Tensor]
    tokenizer_fields: dict
    provenance: dict = field(default_factory=dict)
    prompt_format: int = PROMPT_FORMAT_VERSION


EMBED_NAMES = ("token_embd.weight", "output.weight")


def ggml_type(name: str, shape: tuple[int, ...], qtype: str, embed_qtype: str | None = None):
    """The GGML type a tensor is stored as under the llama.cpp-style policy above;
    `embed_qtype` overrides it for the token embedding and the LM head (small pretrained
    models lose much more to a 4-bit vocabulary matrix than to 4-bit layers: SmolLM2's own
    file keeps token_embd at Q8_0)."""
    import gguf

    if embed_qtype and name in EMBED_NAMES:
        qtype = embed_qtype
    T = gguf.GGMLQuantizationType
    if len(shape) == 1 or name in _KEEP_F32 or qtype == "f32":
        return T.F32
    if qtype == "f16":
        return T.F16
    block = gguf.GGML_QUANT_SIZES[T[qtype.upper()]][0]
    return T[qtype.upper()] if shape[-1] % block == 0 else T.F16


def encode_tensor(t: torch.Tensor, gtype) -> np.ndarray:
    import gguf

    a = t.detach().float().contiguous().numpy()
    if gtype == gguf.GGMLQuantizationType.F32:
        return a
    if gtype == gguf.GGMLQuantizationType.F16:
        return a.astype(np.float16)
    return gguf.quants.quantize(a, gtype)


def load_checkpoint(path: str | Path, use_ema: bool = True) -> Checkpoint:
    """A trainer checkpoint (trainer.checkpoint format) with its tokenizer resolved to GGUF
    fields. The EMA weights are exported when present, as trainer.checkpoint.load_model does."""
    if __package__.startswith("hrmcli."):  # installed: hrmcli.converters beside hrmcli.trainer
        from ..trainer.checkpoint import CheckpointError
        from ..trainer.checkpoint import load_checkpoint as read
    else:  # a source checkout: converters/ beside trainer/ at the top level
        from trainer.checkpoint import CheckpointError
        from trainer.checkpoint import load_checkpoint as read

    try:
        ck = read(path)
    except CheckpointError as e:
        raise ConvertError(str(e)) from e
    p = Path(path)
    base = p if p.is_dir() else p.parent
    conf = ck.get("model_config", ck.get("config"))
    if conf is None:
        raise ConvertError(f"{path} holds no model_config; it was not written by `hrm train`")
    state = ck["ema"] if use_ema and ck.get("ema") else ck["model"]
    state = {k.removeprefix("_orig_mod."): v for k, v in state.items()}  # torch.compile'd
    tok = ck.get("tokenizer", ck.get("tokenizer_path"))
    return Checkpoint(HRMConfig.from_dict(conf), state, _tokenizer_fields(tok, base),
                      dict(ck.get("provenance") or {}),
                      int(ck.get("prompt_format", PROMPT_FORMAT_VERSION)))


def _tokenizer_fields(tok, base: Path) -> dict:
    if isinstance(tok, dict):
        return tok
    if not tok:
        raise ConvertError("the checkpoint names no tokenizer; retrain or add 'tokenizer'")
    tp = Path(tok)
    if not tp.is_absolute() and not tp.exists():
        tp = base / tp
    try:
        return Tokenizer.load(tp).to_gguf_fields()
    except ValueError as e:
        raise ConvertError(f"{e}; put the tokenizer next to the checkpoint") from e


def add_tokenizer(w, fields: dict) -> None:
    w.add_tokenizer_model(fields["model"])
    if fields.get("pre"):
        w.add_tokenizer_pre(fields["pre"])
    w.add_token_list(fields["tokens"])
    w.add_token_types(fields["token_type"])
    w.add_token_merges(fields["merges"])
    w.add_bos_token_id(fields["bos_token_id"])
    w.add_eos_token_id(fields["eos_token_id"])
    if "padding_token_id" in fields:
        w.add_pad_token_id(fields["padding_token_id"])
    w.add_add_bos_token(bool(fields.get("add_bos_token", False)))
    w.add_add_eos_token(bool(fields.get("add_eos_token", False)))


def add_provenance(w, prov: dict) -> None:
    for k, v in sorted(prov.items()):
        if k == "converted":  # a file unpacked and converted again: this conversion's time
            continue
        key = f"{ARCH}.provenance.{k}"
        if isinstance(v, bool):
            w.add_bool(key, v)
        elif isinstance(v, int):
            w.add_uint64(key, v)
        elif isinstance(v, float):
            w.add_float64(key, v)
        else:
            w.add_string(key, str(v))
    w.add_string(f"{ARCH}.provenance.converted", _dt.datetime.now(_dt.timezone.utc).isoformat())


def hrm_tensors(ck: Checkpoint) -> Iterator[tuple[str, torch.Tensor]]:
    for key, t in ck.state.items():
        if key == "lm_head.weight" and ck.cfg.tie_embeddings:
            continue  # the loader ties it to token_embd, as llama.cpp does
        try:
            name = gguf_name(key)
        except UnknownTensorError as e:
            raise ConvertError(str(e)) from e
        yield name, t


def write_gguf(out: str | Path, arch: str, qtype: str, kv, tensors, progress=None,
               embed_qtype: str | None = None) -> None:
    """Write a GGUF: kv(writer) adds metadata, tensors yields (name, fp tensor).

    Writes to a temporary name first, so an interrupted conversion never leaves a
    half-written file under the final name.
    """
    import gguf

    for q in (qtype, embed_qtype or qtype):
        if q not in QTYPES:
            raise ConvertError(f"unknown type {q!r}; choose one of {', '.join(QTYPES)}")
    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    items = list(tensors)
    w = gguf.GGUFWriter(str(tmp), arch)
    try:
        kv(w)
        w.add_file_type(_file_type(qtype))
        for name, t in items:
            gtype = ggml_type(name, tuple(t.shape), qtype, embed_qtype)
            w.add_tensor(name, encode_tensor(t, gtype), raw_dtype=gtype)
            if progress:
                progress(name)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
    finally:
        w.close()
    tmp.replace(out)


def _file_type(qtype: str) -> int:
    import gguf

    return int(getattr(gguf.LlamaFileType, {"f32": "ALL_F32", "f16": "MOSTLY_F16"}.get(
        qtype, "MOSTLY_" + qtype.upper())))


def hrm_metadata(w, ck: Checkpoint) -> None:
    cfg = ck.cfg
    w.add_name(ck.provenance.get("name", "HRM-Code"))
    for k in INT_KEYS:
        w.add_uint32(f"{ARCH}.{k}", int(getattr(cfg, k)))
    for k in FLOAT_KEYS:
        w.add_float64(f"{ARCH}.{k}", float(getattr(cfg, k)))
    for k in OPTIONAL_INT_KEYS:
        w.add_uint32(f"{ARCH}.{k}", int(getattr(cfg, k)))
    for k in BOOL_KEYS:
        w.add_bool(f"{ARCH}.{k}", bool(getattr(cfg, k)))
    # llama.cpp-style names for the same facts, for generic GGUF tools.
    w.add_context_length(cfg.max_seq_len)
    w.add_embedding_length(cfg.d_model)
    w.add_feed_forward_length(cfg.hidden)
    w.add_block_count(cfg.prelude_layers + cfg.h_layers + cfg.l_layers)
    w.add_head_count(cfg.n_heads)
    w.add_head_count_kv(cfg.n_kv_heads)
    w.add_rope_freq_base(cfg.rope_base)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_layer_norm_rms_eps(cfg.norm_eps)
    w.add_string(f"{ARCH}.rope.layout", "neox")  # rotate-half pairs (i, i + head_dim/2)
    w.add_uint32(f"{ARCH}.layer_applications", cfg.n_applications)
    w.add_uint32(f"{ARCH}.prompt_format_version", ck.prompt_format)
    add_provenance(w, ck.provenance)
    add_tokenizer(w, ck.tokenizer_fields)
    template = ck.tokenizer_fields.get("chat_template")
    if template:
        w.add_chat_template(template)


def check_checkpoint(ck: Checkpoint) -> None:
    """Fail early, before writing, on a checkpoint that does not match its own config."""
    from hrmcli.runtime.model import HRMCode

    with torch.device("meta"):
        expect = HRMCode(ck.cfg).state_dict()
    missing = sorted(set(expect) - set(ck.state))
    extra = sorted(set(ck.state) - set(expect))
    if missing or extra:
        raise ConvertError(f"checkpoint does not match its config: missing {missing[:3]}, "
                           f"unexpected {extra[:3]}")
    for k, v in expect.items():
        if tuple(ck.state[k].shape) != tuple(v.shape):
            raise ConvertError(f"{k} has shape {tuple(ck.state[k].shape)}, config says "
                               f"{tuple(v.shape)}")
    n_tok = len(ck.tokenizer_fields["tokens"])
    if n_tok != ck.cfg.vocab_size:
        raise ConvertError(f"tokenizer has {n_tok} tokens but the model's vocabulary is "
                           f"{ck.cfg.vocab_size}; convert with the tokenizer it was trained with")


def export_hrm(ck: Checkpoint, out: str | Path, qtype: str, progress=None,
               embed_qtype: str | None = None) -> None:
    if ck.cfg.is_transformer and not ck.cfg.retrofit:
        raise ConvertError("this checkpoint is a transformer baseline: export it with "
                           "converters.llama_export (hrm convert --arch llama)")
    check_checkpoint(ck)
    write_gguf(out, ARCH, qtype, lambda w: hrm_metadata(w, ck), hrm_tensors(ck), progress,
               embed_qtype)
