"""Load an `hrm-code` GGUF into a runnable HRMCode whose weights stay in their GGUF types.

The file is memory-mapped by gguf.GGUFReader; matrices become QMatrix objects (copied once
into ggml when its kernels are used, otherwise read straight from the map) and the model is
built on the meta device, so no fp32 copy of the weights ever exists. Only 1-D tensors and
the tiny plan/halt heads are materialised as fp32.

Every way a file can be wrong ends in GGUFError with a message that says what to do.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hrmcli.prompt_format import SUPPORTED_FORMATS
from hrmcli.runtime import fastdecode
from hrmcli.runtime.gguf_schema import (
    ARCH,
    BOOL_KEYS,
    FLOAT_KEYS,
    INT_KEYS,
    OPTIONAL_INT_KEYS,
    gguf_name,
)
from hrmcli.runtime.kernels import F16, F32, NAMES, QMatrix, ggml, pack_all, row_bytes
from hrmcli.runtime.model import HRMCode, HRMConfig, rope_tables
from hrmcli.runtime.qlinear import swap_modules
from hrmcli.runtime.tokenizer import Tokenizer

RECONVERT = "re-run `hrm convert` on the checkpoint"


class GGUFError(Exception):
    """An unusable GGUF file; the message names the file and the fix."""


@dataclass
class Loaded:
    cfg: HRMConfig
    model: HRMCode
    tokenizer: Tokenizer
    metadata: dict = field(repr=False)
    path: Path = Path()
    file_bytes: int = 0
    weight_types: dict[str, int] = field(default_factory=dict)


def _reader(path: Path):
    import gguf

    if not path.is_file():
        raise GGUFError(f"model file {path} not found")
    try:
        return gguf.GGUFReader(str(path), "r")
    except Exception as e:  # the reader raises ValueError, IndexError, struct errors...
        raise GGUFError(f"{path} is not a readable GGUF file ({type(e).__name__}: {e}); it is "
                        f"corrupt or truncated: {RECONVERT} or download it again") from e


def read_metadata(reader) -> dict:
    out = {}
    for name, f in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        try:
            out[name] = f.contents()
        except Exception as e:
            raise GGUFError(f"metadata key {name!r} is unreadable ({e}): {RECONVERT}") from e
    return out


def config_from_metadata(md: dict, path: Path) -> HRMConfig:
    arch = md.get("general.architecture")
    if arch != ARCH:
        hint = " (a transformer baseline: run it with llama.cpp)" if arch == "llama" else ""
        raise GGUFError(f"{path} has architecture {arch!r}{hint}; the HRM runtime needs "
                        f"{ARCH!r} files from `hrm convert`")
    missing = [k for k in INT_KEYS + FLOAT_KEYS if f"{ARCH}.{k}" not in md]
    if missing:
        raise GGUFError(f"{path} lacks hyperparameters {missing}: {RECONVERT}")
    vals = {k: int(md[f"{ARCH}.{k}"]) for k in INT_KEYS}
    vals.update({k: float(md[f"{ARCH}.{k}"]) for k in FLOAT_KEYS})
    vals.update({k: int(md[f"{ARCH}.{k}"]) for k in OPTIONAL_INT_KEYS if f"{ARCH}.{k}" in md})
    vals.update({k: bool(md[f"{ARCH}.{k}"]) for k in BOOL_KEYS if f"{ARCH}.{k}" in md})
    return HRMConfig(**vals)


def tokenizer_fields(md: dict) -> dict:
    """The `tokenizer.ggml.*` metadata without that prefix: the form Tokenizer.from_gguf_fields
    and the exporters take."""
    pre = "tokenizer.ggml."
    return {k[len(pre):]: v for k, v in md.items() if k.startswith(pre)}


def tokenizer_from_metadata(md: dict, cfg: HRMConfig, path: Path) -> Tokenizer:
    fields = tokenizer_fields(md)
    if "tokens" not in fields:
        raise GGUFError(f"{path} has no embedded tokenizer: {RECONVERT}")
    if len(fields["tokens"]) != cfg.vocab_size:
        raise GGUFError(f"{path}: tokenizer has {len(fields['tokens'])} tokens but the model's "
                        f"vocabulary is {cfg.vocab_size}; the file mixes two models: {RECONVERT}")
    version = md.get(f"{ARCH}.prompt_format_version")
    if version not in SUPPORTED_FORMATS:
        raise GGUFError(f"{path} uses prompt format v{version}, this hrm speaks "
                        f"v{' and v'.join(map(str, SUPPORTED_FORMATS))}: upgrade hrm or "
                        "re-convert the model")
    if md.get("tokenizer.chat_template"):
        fields["chat_template"] = str(md["tokenizer.chat_template"])
    try:
        return Tokenizer.from_gguf_fields(fields)
    except (ValueError, KeyError) as e:
        raise GGUFError(f"{path}: embedded tokenizer does not match this hrm ({e}): "
                        f"{RECONVERT}") from e


def load_tokenizer(path: str | Path) -> Tokenizer:
    """The tokenizer embedded in any byte-level-BPE GGUF (ours or a pretrained llama)."""
    path = Path(path)
    md = read_metadata(_reader(path))
    fields = tokenizer_fields(md)
    if "tokens" not in fields:
        raise GGUFError(f"{path} has no embedded tokenizer")
    try:
        return Tokenizer.from_gguf_fields(fields)
    except (ValueError, KeyError) as e:
        raise GGUFError(f"{path}: unsupported tokenizer ({e})") from e


def _matrix(t, path: Path) -> QMatrix:
    k, n = (int(x) for x in t.shape[:2]) if len(t.shape) > 1 else (int(t.shape[0]), 1)
    gt = int(t.tensor_type)
    if gt not in NAMES:
        raise GGUFError(f"{path}: tensor {t.name} has GGML type {gt}, which the HRM runtime "
                        f"does not run; convert with --type {'|'.join(NAMES.values())}")
    data = t.data
    expect = n * row_bytes(gt, k)
    if data.nbytes != expect:
        raise GGUFError(f"{path}: tensor {t.name} has {data.nbytes} bytes, expected {expect}; "
                        f"the file is truncated: {RECONVERT}")
    if gt == F32:
        return QMatrix(gt, n, k, torch.from_numpy(np.array(data, dtype=np.float32).reshape(n, k)))
    with warnings.catch_warnings():  # read-only map: we never write through it
        warnings.simplefilter("ignore", UserWarning)
        raw = torch.from_numpy(np.asarray(data).reshape(n, k if gt == F16 else -1))
    return QMatrix(gt, n, k, raw)


def load(path: str | Path) -> Loaded:
    path = Path(path)
    reader = _reader(path)
    md = read_metadata(reader)
    cfg = config_from_metadata(md, path)
    tok = tokenizer_from_metadata(md, cfg, path)

    with torch.device("meta"):
        model = HRMCode(cfg)
    expect = {gguf_name(k): (k, tuple(v.shape)) for k, v in model.state_dict().items()
              if not (cfg.tie_embeddings and k == "lm_head.weight")}
    try:
        tensors = {t.name: t for t in reader.tensors}
    except Exception as e:
        raise GGUFError(f"{path}: tensor table unreadable ({e}): {RECONVERT}") from e
    missing = sorted(set(expect) - set(tensors))
    if missing:
        raise GGUFError(f"{path} is missing tensors {missing[:4]}"
                        f"{' ...' if len(missing) > 4 else ''}: {RECONVERT}")

    mats: dict[str, QMatrix] = {}
    for gname, (key, shape) in expect.items():
        m = _matrix(tensors[gname], path)
        got = (m.n, m.k) if len(shape) == 2 else (m.k,)
        if got != shape:
            raise GGUFError(f"{path}: tensor {gname} has shape {got}, the metadata implies "
                            f"{shape}: {RECONVERT}")
        mats[key] = m

    use_ggml = ggml() is not None

    tied = mats["embed.weight"] if cfg.tie_embeddings else None

    def weight(name: str) -> QMatrix:
        if tied is not None and name in ("embed", "lm_head"):
            mats.pop("embed.weight", None)
            m = tied
        else:
            m = mats.pop(f"{name}.weight")
        # pack_all (below, before this runs) packed what our kernels run; the rest: ggml.
        if m.packed is None and use_ggml:
            m.to_ggml()
        return m

    def bias(name: str) -> torch.Tensor:
        return mats.pop(f"{name}.bias").raw.reshape(-1).float().clone()

    types = {gguf_name(k): m.gtype for k, m in mats.items()}
    pack_all(list(mats.values()))  # our kernels' copies, in one arena, layer by layer
    swap_modules(model, weight, bias)
    # What remains are 1-D parameters (norms, z_L init): real fp32 tensors.
    rest = {k: m.dequantize().reshape(-1).clone() for k, m in mats.items()}
    model.load_state_dict(rest, strict=False, assign=True)
    cos, sin = rope_tables(cfg)
    model.rope_cos, model.rope_sin = cos, sin
    leftovers = [n for n, p in model.named_parameters() if p.is_meta]
    if leftovers:
        raise GGUFError(f"{path}: no data for {leftovers[:4]}: {RECONVERT}")
    model.eval()
    fastdecode.install(model)
    return Loaded(cfg, model, tok, md, path, path.stat().st_size, types)
