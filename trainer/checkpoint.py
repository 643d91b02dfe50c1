"""Training checkpoints: one self-describing file, written atomically.

A checkpoint holds everything an exact resume needs (weights, EMA, optimizer, scheduler,
step, RNG states, data position) and everything a reader needs without the trainer's
arguments (model config, tokenizer path, provenance). It is written to a temporary file
in the same directory and renamed over the old one, so a crash or Ctrl-C mid-write leaves
the previous checkpoint intact. It is read with `weights_only=True`: plain tensors and
Python containers only, so loading a file cannot run code.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hrmcli.runtime.model import HRMCode, HRMConfig

FORMAT = 1
CHECKPOINT_NAME = "checkpoint.pt"


class CheckpointError(Exception):
    """A checkpoint is missing, unreadable or not one of ours."""


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save({"format": FORMAT, **payload}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train one with `hrm train`")
    try:
        ck = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"cannot read checkpoint {path} ({first}); it is truncated or "
                              "not a checkpoint: retrain or pick another file") from e
    if not isinstance(ck, dict) or ck.get("format") != FORMAT or "model" not in ck:
        raise CheckpointError(f"{path} is not an hrm training checkpoint (format {FORMAT})")
    return ck


def load_model(path: str | Path, use_ema: bool = True,
               device: str | torch.device = "cpu") -> tuple[HRMCode, dict[str, Any]]:
    """The trained model (EMA weights by default) in eval mode, plus the checkpoint dict."""
    ck = load_checkpoint(path)
    model = HRMCode(HRMConfig.from_dict(ck["model_config"]))
    weights = ck["ema"] if use_ema and ck.get("ema") else ck["model"]
    model.load_state_dict(weights)
    return model.to(device).eval(), ck


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "python": _tuples_to_lists(random.getstate()),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    random.setstate(_lists_to_tuples(state["python"]))


def _tuples_to_lists(x: Any) -> Any:
    return [_tuples_to_lists(v) for v in x] if isinstance(x, tuple | list) else x


def _lists_to_tuples(x: Any) -> Any:
    return tuple(_lists_to_tuples(v) for v in x) if isinstance(x, list) else x
