"""Tune a retrofit (converters.retrofit) on ChatML edit records (trainer.data.chat_tasks).

nanoGPT-style and built for a 2-core CPU that is stopped every few hours:

- answer-only loss, with the 49k-vocabulary head run only on answer positions;
- partial training: the last `--train-layers` pretrained layers (in application order),
  the final norm, the new HRM parts (injections, new H blocks) and the heads; the
  embedding (tied to the LM head) stays frozen, and autograd builds no graph below the
  first trainable layer, which is where the CPU time goes;
- one example per micro-step (no padding), `--accum` examples per optimizer step;
- AdamW, warm-up then cosine over `--steps`, bf16 autocast where the CPU has it;
- a checkpoint every `--save-minutes` and on SIGINT/SIGTERM or `--max-minutes`, written
  atomically (trainer.checkpoint) with the data position, so a resumed run continues with
  the very next example; run state lives in OUT (keep it outside the work tree).

    python -m trainer.tune --init retrofit.pt --data train.jsonl --out ~/runs/r1
"""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from hrmcli.runtime.model import HRMCode, HRMConfig

from . import checkpoint as ckpt
from .tokenizer import Tokenizer

IGNORE = -100


@dataclass
class TuneArgs:
    init: str
    data: str
    out: str
    steps: int = 2000
    accum: int = 8
    lr: float = 1e-4
    warmup: int = 30
    min_lr_frac: float = 0.1
    weight_decay: float = 0.0
    train_layers: int = 8
    max_tokens: int = 1024
    max_minutes: float = 150.0
    save_minutes: float = 10.0
    threads: int = 2
    bf16: bool = True
    seed: int = 0
    grad_clip: float = 1.0
    val: str = ""
    val_every: int = 100
    val_n: int = 24


class Records:
    """Tokenised (ids, labels) pairs in a seeded order that repeats per epoch."""

    def __init__(self, path: str, tok: Tokenizer, max_tokens: int, seed: int):
        self.items = []
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line still being written by a running data build
                p, a = tok.encode(r["prompt"]), tok.encode(r["answer"])
                if len(p) + len(a) <= max_tokens and a:
                    self.items.append((p, a))
        if not self.items:
            raise SystemExit(f"no usable records in {path}")
        self.seed = seed
        self._order: tuple[int, list[int]] = (-1, [])

    def order(self, epoch: int) -> list[int]:
        if self._order[0] != epoch:
            idx = list(range(len(self.items)))
            random.Random(f"{self.seed}:{epoch}").shuffle(idx)
            self._order = (epoch, idx)
        return self._order[1]

    def get(self, pos: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, i = divmod(pos, len(self.items))
        p, a = self.items[self.order(epoch)[i]]
        ids = torch.tensor([p + a], dtype=torch.long)
        labels = torch.tensor([[IGNORE] * (len(p) - 1) + a + [IGNORE]], dtype=torch.long)
        return ids, labels


def trainable_names(model: HRMCode, train_layers: int) -> list[str]:
    """Names of the parameters tuning may change (see the module doc)."""
    cfg = model.cfg
    order = []  # pretrained layer modules in application order
    for name, n in (("prelude", cfg.prelude_layers), ("l", cfg.l_layers if cfg.has_l else 0)):
        order += [f"{name}.layers.{i}." for i in range(n)]
    new_h = cfg.retrofit and cfg.prelude_layers + (cfg.l_layers if cfg.has_l else 0) == _source_layers(model)
    h = [f"h.layers.{i}." for i in range(cfg.h_layers)]
    always = ["norm.", "inject_l.", "inject_h.", "plan_head.", "halt_head."]
    if new_h:
        always += h
    else:
        order += h
    chosen = order[len(order) - train_layers:] if train_layers > 0 else []
    prefixes = tuple(always + chosen) if train_layers >= 0 else ("",)
    return [n for n, _ in model.named_parameters()
            if n.startswith(prefixes) and not n.startswith("embed.")]


def _source_layers(model: HRMCode) -> int:
    layout = getattr(model, "source_layers", None)
    return int(layout) if layout else -1


def lr_at(step: int, a: TuneArgs) -> float:
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = min(1.0, (step - a.warmup) / max(1, a.steps - a.warmup))
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def example_loss(model: HRMCode, ids: torch.Tensor, labels: torch.Tensor, bf16: bool):
    select = labels != IGNORE
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else torch.autocast("cpu", enabled=False)
    with ctx:
        out = model(ids, select=select)
    return F.cross_entropy(out.logits.float(), labels[select], reduction="sum"), int(select.sum())


@torch.no_grad()
def validate(model: HRMCode, recs: Records, n: int, bf16: bool) -> float:
    model.eval()
    tot = cnt = 0.0
    for i in range(min(n, len(recs.items))):
        ids, labels = recs.get(i)
        loss, k = example_loss(model, ids, labels, bf16)
        tot, cnt = tot + float(loss), cnt + k
    model.train()
    return tot / max(cnt, 1)


def load_init(path: str) -> tuple[HRMCode, dict]:
    ck = ckpt.load_checkpoint(path)
    cfg = HRMConfig.from_dict(ck["model_config"])
    model = HRMCode(cfg)
    model.load_state_dict(ck["model"])
    model.source_layers = int(ck.get("source_layers", 0)) or None
    return model, ck


def tune(a: TuneArgs) -> dict:
    torch.set_num_threads(a.threads)
    out = Path(a.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / ckpt.CHECKPOINT_NAME
    resume = state_path.is_file()
    model, ck = load_init(str(state_path) if resume else a.init)
    if not resume:
        ck["source_layers"] = ck.get("source_layers") or _count_source(ck)
    model.source_layers = ck["source_layers"]
    tok = Tokenizer.from_gguf_fields(ck["tokenizer"])
    names = set(trainable_names(model, a.train_layers))
    for n, p in model.named_parameters():
        p.requires_grad_(n in names)
    params = [p for n, p in model.named_parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.95), weight_decay=a.weight_decay)
    step, pos = 0, 0
    if resume:
        opt.load_state_dict(ck["optimizer"])
        step, pos = int(ck["step"]), int(ck["data_pos"])
        ckpt.set_rng_state(ck["rng"])
    data = Records(a.data, tok, a.max_tokens, a.seed)
    val = Records(a.val, tok, a.max_tokens, a.seed) if a.val else None
    n_train = sum(p.numel() for p in params)
    print(f"{'resuming at step ' + str(step) if resume else 'starting'}: {len(data.items)} records, "
          f"{n_train / 1e6:.1f}M trainable of {model.num_params() / 1e6:.1f}M, "
          f"bf16={a.bf16}, threads={a.threads}", flush=True)

    stop = {"why": ""}

    def on_signal(signum, _frame):
        stop["why"] = signal.Signals(signum).name

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    t_start = last_save = time.monotonic()
    log = open(out / "log.jsonl", "a", encoding="utf-8")

    def save() -> None:
        payload = {k: v for k, v in ck.items() if k not in ("model", "optimizer", "ema")}
        payload.update(model=model.state_dict(), optimizer=opt.state_dict(), step=step,
                       data_pos=pos, rng=ckpt.rng_state(), tune_args=asdict(a))
        ckpt.save_checkpoint(state_path, payload)

    model.train()
    try:
        while step < a.steps and not stop["why"]:
            t0 = time.monotonic()
            for g in opt.param_groups:
                g["lr"] = lr_at(step, a)
            batch = [data.get(pos + i) for i in range(a.accum)]
            n_tok = sum(int((lab != IGNORE).sum()) for _, lab in batch)
            seen = sum(ids.shape[1] for ids, _ in batch)
            loss_sum = 0.0
            for ids, labels in batch:
                loss, _ = example_loss(model, ids, labels, a.bf16)
                (loss / n_tok).backward()
                loss_sum += float(loss.detach())
            gnorm = float(torch.nn.utils.clip_grad_norm_(params, a.grad_clip))
            opt.step()
            opt.zero_grad(set_to_none=True)
            step, pos = step + 1, pos + a.accum
            dt = time.monotonic() - t0
            rec = {"step": step, "loss": loss_sum / n_tok, "lr": lr_at(step - 1, a), "gnorm": gnorm,
                   "tok_s": seen / dt, "answer_tokens": n_tok, "tokens": seen, "time": time.time()}
            if val is not None and step % a.val_every == 0:
                rec["val_loss"] = validate(model, val, a.val_n, a.bf16)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if step % 10 == 0 or "val_loss" in rec:
                extra = f" val {rec['val_loss']:.3f}" if "val_loss" in rec else ""
                print(f"step {step} loss {rec['loss']:.3f}{extra} {rec['tok_s']:.0f} tok/s", flush=True)
            now = time.monotonic()
            if now - last_save > a.save_minutes * 60:
                save()
                last_save = now
            if now - t_start > a.max_minutes * 60:
                stop["why"] = "time budget"
    finally:
        save()
        log.close()
        for s, h in old.items():
            signal.signal(s, h)
    print(f"saved step {step} to {state_path}" + (f" ({stop['why']})" if stop["why"] else ""), flush=True)
    return {"step": step, "data_pos": pos, "stopped": stop["why"]}


def _count_source(ck: dict) -> int:
    """Pretrained layers the retrofit took from its source (for telling new H blocks apart)."""
    cfg = HRMConfig.from_dict(ck["model_config"])
    layout = str((ck.get("provenance") or {}).get("layout", "identity"))
    if layout.startswith("planner"):
        return cfg.prelude_layers + cfg.l_layers
    return cfg.prelude_layers + cfg.l_layers + cfg.h_layers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m trainer.tune", description=__doc__.split("\n")[0])
    for f in TuneArgs.__dataclass_fields__.values():
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            ap.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        elif f.default is f.default_factory or isinstance(f.default, type(None)) or f.name in ("init", "data", "out"):
            ap.add_argument(flag, required=True)
        else:
            ap.add_argument(flag, type=type(f.default), default=f.default)
    a = TuneArgs(**vars(ap.parse_args(argv)))
    tune(a)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
