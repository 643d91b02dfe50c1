"""An `hrm-code` GGUF back to a trainer checkpoint, so tuning can continue from shipped weights.

    python -m converters.unpack hrmcli/weights/hrm-code-135m-q8_0.gguf start.pt

The bundled model is the only copy of a tuning run that outlives the machine it ran on
(run state is lost with the machine; the GGUF ships in the package). Its tensors are
dequantized to fp32 (Q8_0 costs +0.5% answer loss, see MODEL_CARD.md, which further tuning
recovers); config, tokenizer, chat template, prompt format and provenance come from the
file's metadata through the same schema the runtime loads it with.
"""

from __future__ import annotations

from pathlib import Path

import torch

from hrmcli.runtime.gguf_load import (
    GGUFError,
    _reader,
    config_from_metadata,
    read_metadata,
    tokenizer_fields,
)
from hrmcli.runtime.gguf_schema import ARCH, gguf_name
from hrmcli.runtime.model import HRMCode

from .retrofit import ConvertError, _dequantize, save_payload


def unpack(path: str | Path) -> dict:
    """The checkpoint payload (model, model_config, tokenizer, provenance, prompt_format)."""
    path = Path(path)
    try:
        reader = _reader(path)
        md = read_metadata(reader)
        cfg = config_from_metadata(md, path)
    except GGUFError as e:
        raise ConvertError(str(e)) from e
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in HRMCode(cfg).state_dict().items()}
    tensors = {t.name: t for t in reader.tensors}
    state: dict[str, torch.Tensor] = {}
    for key, shape in shapes.items():
        if cfg.tie_embeddings and key == "lm_head.weight":
            continue
        name = gguf_name(key)
        if name not in tensors:
            raise ConvertError(f"{path} has no tensor {name} (for {key})")
        t = _dequantize(tensors[name])
        if t.numel() != torch.Size(shape).numel():
            raise ConvertError(f"{path}: tensor {name} has shape {tuple(t.shape)}, the "
                               f"metadata implies {shape}")
        state[key] = t.reshape(shape)
    if cfg.tie_embeddings:
        state["lm_head.weight"] = state["embed.weight"]
    tok = tokenizer_fields(md)
    if md.get("tokenizer.chat_template"):
        tok["chat_template"] = str(md["tokenizer.chat_template"])
    pre = f"{ARCH}.provenance."
    prov = {k[len(pre):]: v for k, v in md.items() if k.startswith(pre)}
    prov["unpacked_from"] = path.name
    return {"model": state, "model_config": cfg.to_dict(), "tokenizer": tok,
            "provenance": prov, "step": 0,
            "prompt_format": int(md.get(f"{ARCH}.prompt_format_version", 1))}


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m converters.unpack", description=__doc__.split("\n")[0])
    ap.add_argument("gguf", help="an hrm-code GGUF (e.g. the bundled model)")
    ap.add_argument("out", help="checkpoint file to write (.pt)")
    args = ap.parse_args(argv)
    try:
        payload = unpack(args.gguf)
    except ConvertError as e:
        print(f"error: {e}")
        return 2
    save_payload(payload, args.out)
    print(f"wrote {args.out}: {len(payload['model'])} tensors, "
          f"{sum(t.numel() for t in payload['model'].values()) / 1e6:.1f}M values")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
