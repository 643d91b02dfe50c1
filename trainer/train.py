"""The HRM-Code training loop: one script for `python -m trainer`, `hrm train` and torchrun.

Data order is a pure function of (seed, step): every rank builds the same global batch
and keeps its own rows, so a run is identical whatever the number of processes, and a
resumed run draws exactly the batches the uninterrupted one would have. Losses are
normalised by the token count of the *global* batch, which makes the DDP gradient
average equal the single-process gradient.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from hrmcli.runtime.model import HRMCode, HRMConfig

from . import checkpoint as ckpt
from .batching import (
    IGNORE,
    KINDS,
    Batch,
    Row,
    SpecialIds,
    TokenStream,
    TrainData,
    collate,
    lm_row,
)
from .curriculum import CURRICULUM, mixture, stage_at
from .qat import clean_name, clean_state_dict, enable_qat

ARCHS = ("hrm", "transformer-params", "transformer-flops")
# (batch size, sequence length, peak learning rate) per preset
DEFAULTS: dict[str, tuple[int, int, float]] = {
    "tiny": (16, 256, 1e-3), "small": (32, 1024, 6e-4), "base": (64, 2048, 3e-4),
}


class TrainError(Exception):
    """A problem the user can fix (bad arguments, missing checkpoint, no data)."""


class TrainingInterrupted(Exception):
    def __init__(self, step: int, path: Path):
        super().__init__(f"interrupted at step {step}; checkpoint saved to {path}")
        self.step, self.path = step, path


@dataclass
class TrainArgs:
    corpus: str = ""
    preset: str = "tiny"
    out: str = "runs/hrm"
    steps: int = 1000
    arch: str = "hrm"
    qat: str | None = None
    batch_size: int = 0  # 0: preset default
    seq_len: int = 0
    lr: float = 0.0
    grad_window: str = "auto"  # "auto" (2 -> 5 over the first 20%), an int, or "full"
    device: str = "auto"
    seed: int = 0
    warmup: int = -1  # -1: 5% of steps
    min_lr_frac: float = 0.1
    weight_decay: float = 0.1
    clip: float = 1.0
    ema_decay: float = 0.999
    plan_weight: float = 0.1
    halt_weight: float = 0.1
    save_every: int = 200
    log_every: int = 10
    eval_batches: int = 8
    fsdp: str = "auto"  # auto: FSDP2 for base on GPUs; on / off force it
    stop_after: int = 0  # test hook: checkpoint and stop after this many steps
    resume: bool = False
    data_dir: str = ""  # "": <out>/data
    model_overrides: dict[str, int] = field(default_factory=dict)  # HRMConfig fields
    progress: bool = True
    init_from: str = ""  # fine-tune: start from this checkpoint's (EMA) weights and config
    mix: str = ""  # fixed row-kind mixture "edit=0.7,lm=0.2,..." instead of the curriculum

    def resolved(self) -> TrainArgs:
        if self.preset not in DEFAULTS:
            raise TrainError(f"unknown preset {self.preset!r}; choose tiny, small or base")
        if self.arch not in ARCHS:
            raise TrainError(f"unknown --arch {self.arch!r}; choose one of {', '.join(ARCHS)}")
        if self.qat not in (None, "q8_0", "q4_0"):
            raise TrainError(f"unknown --qat {self.qat!r}; choose q8_0 or q4_0")
        if self.fsdp not in ("auto", "on", "off"):
            raise TrainError(f"--fsdp must be auto, on or off, not {self.fsdp!r}")
        if self.steps < 1:
            raise TrainError("--steps must be at least 1")
        parse_grad_window(self.grad_window)
        parse_mix(self.mix)
        b, t, lr = DEFAULTS[self.preset]
        return replace(
            self, batch_size=self.batch_size or b, seq_len=self.seq_len or t, lr=self.lr or lr,
            warmup=self.warmup if self.warmup >= 0 else max(1, self.steps // 20),
            data_dir=self.data_dir or str(Path(self.out) / "data"))


def parse_grad_window(spec: str) -> str | int:
    if spec in ("auto", "full"):
        return spec
    try:
        k = int(spec)
    except ValueError:
        k = 0
    if k < 1:
        raise TrainError(f"--grad-window must be auto, full or a positive integer, not {spec!r}")
    return k


def parse_mix(spec: str) -> dict[str, float]:
    """"edit=0.7,lm=0.3" -> {"edit": 0.7, "lm": 0.3}; "" -> {} (follow the curriculum)."""
    mix: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, w = item.partition("=")
        try:
            mix[kind.strip()] = float(w)
        except ValueError:
            raise TrainError(f"--mix wants KIND=WEIGHT pairs (e.g. edit=0.7,lm=0.3), not {item!r}") from None
        if kind.strip() not in KINDS or mix[kind.strip()] < 0:
            raise TrainError(f"--mix: unknown kind or negative weight in {item!r}; kinds: {', '.join(KINDS)}")
    return mix


def grad_window_at(spec: str, step: int, total: int, n_calls: int) -> int | None:
    """Module calls that get gradients at `step` (None: all). `auto` widens the window from
    the last 2 to the last 5 calls over the first 20% of training, as HRM-Text does."""
    w = parse_grad_window(spec)
    if w == "full" or n_calls == 1:
        return None
    if w == "auto":
        ramp = min(1.0, step / max(1.0, 0.2 * total))
        w = 2 + round(3 * ramp)
    return None if w >= n_calls else int(w)


def lr_at(step: int, args: TrainArgs) -> float:
    """Linear warm-up, then cosine decay to min_lr_frac of the peak."""
    if step < args.warmup:
        return (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.min_lr_frac + (1 - args.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def model_config(args: TrainArgs, vocab_size: int) -> HRMConfig:
    try:
        base = HRMConfig.preset(args.preset, **args.model_overrides)
    except TypeError as e:
        raise TrainError(f"bad model override: {e}") from None
    cfg = replace(base, vocab_size=vocab_size, max_seq_len=max(base.max_seq_len, args.seq_len))
    if args.arch == "transformer-params":
        return cfg.same_params_transformer()
    if args.arch == "transformer-flops":
        return cfg.same_flops_transformer()
    return cfg


# -- distributed ----------------------------------------------------------------------------

@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str) -> Dist:
    """Join the process group torchrun describes in the environment (or run alone)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda but no CUDA GPU is visible; use --device cpu")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device(f"cuda:{local}") if device == "cuda" else torch.device("cpu")
    if device == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
    return Dist(rank, world, local, dev)


def use_fsdp(args: TrainArgs, d: Dist) -> bool:
    if args.fsdp == "auto":
        return d.world > 1 and args.preset == "base" and d.device.type == "cuda"
    return d.world > 1 and args.fsdp == "on"


def wrap_model(model: HRMCode, args: TrainArgs, d: Dist) -> nn.Module:
    """DDP across processes; FSDP2 (per-block sharding) for the base preset on GPUs."""
    if d.world == 1:
        return model
    if use_fsdp(args, d):
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        bf16 = d.device.type == "cuda"
        mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16 if bf16 else None,
                                  reduce_dtype=torch.float32)
        for module in (model.h, model.l):
            for block in module.layers if module is not None else ():
                fully_shard(block, mp_policy=mp)
        fully_shard(model, mp_policy=mp)
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    # With a gradient window, early module calls (and z_L's start) get no gradient.
    return DDP(model, device_ids=[d.local_rank] if d.device.type == "cuda" else None,
               find_unused_parameters=not model.cfg.is_transformer)


def is_fsdp(model: nn.Module) -> bool:
    return type(model).__name__.startswith("FSDP")


# -- batches --------------------------------------------------------------------------------

def global_rows(data: TrainData, sp: SpecialIds, args: TrainArgs, step: int) -> list[Row]:
    """The global batch of `step`: kinds by the curriculum, then rows, all from (seed, step)."""
    rng = np.random.default_rng([args.seed, step])
    available = data.available_kinds(args.seq_len)
    fixed = {k: w for k, w in parse_mix(args.mix).items() if k in available and w > 0}
    mix = ({k: w / sum(fixed.values()) for k, w in fixed.items()} if fixed
           else mixture(step, args.steps, available))
    kinds = rng.choice(list(mix), size=args.batch_size, p=list(mix.values()))
    rows = []
    for kind in kinds:
        if kind == "lm":
            start = int(rng.integers(0, len(data.lm_train.tokens) - args.seq_len - 1))
            window = data.lm_train.tokens[start:start + args.seq_len + 1]
            rows.append(lm_row(window, sp, data.lm_train.lang_at(start)))
        else:
            pool = data.rows(kind, args.seq_len)
            rows.append(pool[int(rng.integers(0, len(pool)))])
    return rows


@dataclass
class Norms:
    """Counts over the global batch that every rank's partial losses are divided by."""

    tokens: int
    plan: int
    halt: int

    @classmethod
    def of(cls, rows: list[Row]) -> Norms:
        return cls(sum(int((r.targets != IGNORE).sum()) for r in rows),
                   sum(int((r.plan != IGNORE).sum()) for r in rows),
                   sum(int((r.halt != IGNORE).sum()) for r in rows))


def loss_terms(out, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(per-token CE (B, T) zero where unscored, summed plan CE, summed halt BCE)."""
    v = out.logits.shape[-1]
    ce = F.cross_entropy(out.logits.float().reshape(-1, v), batch.targets.reshape(-1),
                         ignore_index=IGNORE, reduction="none").view(batch.targets.shape)
    plan = F.cross_entropy(out.plan_logits.float().reshape(-1, out.plan_logits.shape[-1]),
                           batch.plan.reshape(-1), ignore_index=IGNORE, reduction="sum")
    hm = batch.halt != IGNORE
    halt = F.binary_cross_entropy_with_logits(out.halt_logits.float()[hm], batch.halt[hm],
                                              reduction="sum")
    return ce, plan, halt


class Meter:
    """Sums of losses per kind and language, reduced across ranks when logged."""

    def __init__(self, langs: list[str]):
        self.keys = ["total", "plan", "halt"] + [f"kind/{k}" for k in KINDS] + \
            [f"lang/{lang}" for lang in langs]
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.reset()

    def reset(self) -> None:
        self.sums = torch.zeros(len(self.keys), dtype=torch.float64)
        self.counts = torch.zeros(len(self.keys), dtype=torch.float64)

    def add(self, key: str, s: float, n: float) -> None:
        if key in self.index and n > 0:
            self.sums[self.index[key]] += s
            self.counts[self.index[key]] += n

    def reduce(self, d: Dist) -> dict[str, float]:
        both = torch.cat([self.sums, self.counts])
        if d.world > 1:
            if d.device.type == "cuda":
                both = both.to(d.device)
            dist.all_reduce(both)
        both = both.cpu()
        n = len(self.keys)
        return {k: float(both[i] / both[n + i]) for i, k in enumerate(self.keys)
                if both[n + i] > 0}


def record(meter: Meter, ce: torch.Tensor, plan: torch.Tensor, halt: torch.Tensor,
           batch: Batch) -> None:
    scored = (batch.targets != IGNORE)
    row_sum = ce.detach().sum(1).double().cpu()
    row_n = scored.sum(1).double().cpu()
    meter.add("total", float(row_sum.sum()), float(row_n.sum()))
    meter.add("plan", float(plan.detach()), float((batch.plan != IGNORE).sum()))
    meter.add("halt", float(halt.detach()), float((batch.halt != IGNORE).sum()))
    for i, (kind, lang) in enumerate(zip(batch.kinds, batch.langs, strict=True)):
        meter.add(f"kind/{kind}", float(row_sum[i]), float(row_n[i]))
        meter.add(f"lang/{lang}", float(row_sum[i]), float(row_n[i]))


# -- state ----------------------------------------------------------------------------------

class EMA:
    """Exponential moving average of the weights, keyed by plain (non-QAT) names.

    The decay ramps up from ~0.1 so that short runs still get a useful average."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.shadow = {clean_name(n): p.detach().clone() for n, p in model.named_parameters()}

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for n, p in model.named_parameters():
            self.shadow[clean_name(n)].lerp_(p.detach(), 1 - d)


def _full(t: torch.Tensor) -> torch.Tensor:
    return t.full_tensor() if hasattr(t, "full_tensor") else t


@torch.no_grad()
def _load_into(dst: torch.Tensor, src: torch.Tensor) -> None:
    """Copy a full tensor into a plain or FSDP-sharded (DTensor) one."""
    if hasattr(dst, "device_mesh"):
        from torch.distributed.tensor import distribute_tensor

        src = distribute_tensor(src, dst.device_mesh, dst.placements)
    dst.copy_(src)


def model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: _full(v).detach().cpu().clone() for k, v in clean_state_dict(model.state_dict()).items()}


def optimizer_state(model: nn.Module, opt: torch.optim.Optimizer) -> dict[str, Any]:
    if is_fsdp(model):
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_optimizer_state_dict,
        )

        return get_optimizer_state_dict(
            model, opt, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return opt.state_dict()


def load_optimizer_state(model: nn.Module, opt: torch.optim.Optimizer, sd: dict[str, Any]) -> None:
    if is_fsdp(model):
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_optimizer_state_dict,
        )

        # strict=False: parameters outside every gradient window (z_L's start) have no state.
        set_optimizer_state_dict(model, opt, sd,
                                 options=StateDictOptions(full_state_dict=True, strict=False))
    else:
        opt.load_state_dict(sd)


def build_optimizer(model: nn.Module, args: TrainArgs) -> torch.optim.Optimizer:
    """AdamW; matrices decay, vectors (norms, biases, z_L's start) do not."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    other = [p for p in params if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                              {"params": other, "weight_decay": 0.0}],
                             lr=args.lr, betas=(0.9, 0.95), eps=1e-8)


# -- the loop -------------------------------------------------------------------------------

@dataclass
class Run:
    """Everything the loop mutates; what a checkpoint captures."""

    args: TrainArgs
    cfg: HRMConfig
    model: HRMCode  # the unwrapped module
    wrapped: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    ema: EMA
    step: int = 0
    tokens_seen: int = 0
    initial_loss: float | None = None  # loss of the first batch, before any update
    last_loss: float | None = None  # loss of the latest batch
    history: list[float] = field(default_factory=list)


def _provenance(run: Run, data: TrainData) -> dict[str, Any]:
    return {"corpus": data.corpus, "steps": run.step, "tokens_seen": run.tokens_seen,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "arch": run.args.arch, "preset": run.args.preset, "qat": run.args.qat,
            "init_from": run.args.init_from, "mix": run.args.mix,
            "world_size": int(os.environ.get("WORLD_SIZE", "1")), "torch": str(torch.__version__)}


def save(run: Run, data: TrainData, d: Dist) -> Path:
    path = Path(run.args.out) / ckpt.CHECKPOINT_NAME
    model_sd = model_state(run.model)
    opt_sd = optimizer_state(run.wrapped, run.opt)
    ema_sd = {k: _full(v).detach().cpu().clone() for k, v in run.ema.shadow.items()}
    if d.main:
        ckpt.save_checkpoint(path, {
            "model": model_sd, "ema": ema_sd, "optimizer": opt_sd,
            "scheduler": run.sched.state_dict(), "step": run.step, "rng": ckpt.rng_state(),
            "data": {"seed": run.args.seed, "next_step": run.step, "data_dir": run.args.data_dir},
            "model_config": run.cfg.to_dict(), "train_args": asdict(run.args),
            "tokenizer": str(data.tokenizer_path), "provenance": _provenance(run, data),
            "metrics": {"initial_loss": run.initial_loss, "last_loss": run.last_loss,
                        "tokens_seen": run.tokens_seen,
                        "recent_losses": run.history[-50:]},
        })
    if d.world > 1:
        dist.barrier()
    return path


def build_run(args: TrainArgs, data: TrainData, d: Dist, resume: dict | None) -> Run:
    torch.manual_seed(args.seed)
    cfg = model_config(args, data.tokenizer.vocab_size)
    init = ckpt.load_checkpoint(args.init_from) if args.init_from and resume is None else None
    if resume is not None or init is not None:
        cfg = HRMConfig.from_dict((resume or init)["model_config"])
    model = HRMCode(cfg)
    if resume is not None:
        model.load_state_dict(resume["model"])
    elif init is not None:
        model.load_state_dict(init.get("ema") or init["model"])
    if args.qat:
        enable_qat(model, args.qat)
    model.to(d.device)
    wrapped = wrap_model(model, args, d)
    opt = build_optimizer(model, args)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_at(s, args))
    ema = EMA(model, args.ema_decay)
    run = Run(args, cfg, model, wrapped, opt, sched, ema)
    if resume is not None:
        load_optimizer_state(wrapped, opt, resume["optimizer"])
        sched.load_state_dict(resume["scheduler"])
        for k, v in resume["ema"].items():
            _load_into(ema.shadow[k], v.to(d.device))
        run.step = int(resume["step"])
        run.tokens_seen = int(resume["metrics"]["tokens_seen"])
        run.initial_loss = resume["metrics"]["initial_loss"]
        run.last_loss = resume["metrics"]["last_loss"]
        run.history = list(resume["metrics"]["recent_losses"])
        ckpt.set_rng_state(resume["rng"])
    return run


def train_step(run: Run, data: TrainData, sp: SpecialIds, d: Dist,
               meters: tuple[Meter, ...]) -> int:
    args = run.args
    rows = global_rows(data, sp, args, run.step)
    norms = Norms.of(rows)
    batch = collate(rows[d.rank::d.world], sp, args.seq_len).to(d.device)
    window = grad_window_at(args.grad_window, run.step, args.steps, run.cfg.n_calls)
    run.wrapped.train()
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if d.device.type == "cuda"
                else contextlib.nullcontext())
    with autocast:
        out = run.wrapped(batch.inputs, batch.block, grad_window=window)
    ce, plan, halt = loss_terms(out, batch)
    # Heads without labels in this batch still join the graph (with zero gradient), so
    # that DDP sees the same set of parameters used on every rank and every step.
    loss = (ce.sum() / max(norms.tokens, 1) + args.plan_weight * plan / max(norms.plan, 1)
            + args.halt_weight * halt / max(norms.halt, 1))
    (loss * d.world).backward()  # DDP averages over ranks; this makes it a global sum
    if args.clip > 0:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), args.clip)
    run.opt.step()
    run.opt.zero_grad(set_to_none=True)
    run.sched.step()
    run.ema.update(run.model, run.step)
    for meter in meters:
        record(meter, ce, plan, halt, batch)
    run.step += 1
    n_tokens = len(rows) * args.seq_len
    run.tokens_seen += n_tokens
    return n_tokens


def _writers(args: TrainArgs, d: Dist) -> tuple[Any, Any]:
    if not d.main:
        return None, None
    from torch.utils.tensorboard import SummaryWriter

    tb = SummaryWriter(str(Path(args.out) / "tb"))
    wb = None
    with contextlib.suppress(ImportError):
        import wandb  # optional, never a dependency; offline only

        wb = wandb.init(mode="offline", dir=args.out, project="hrm-code", config=asdict(args))
    return tb, wb


def _log(tb: Any, wb: Any, metrics: dict[str, float], step: int) -> None:
    if tb is not None:
        for k, v in metrics.items():
            tb.add_scalar(k if "/" in k else f"loss/{k}", v, step)
    if wb is not None:
        wb.log(metrics, step=step)


@contextlib.contextmanager
def _progress(show: bool, total: int, done: int) -> Iterator[Any]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), disable=not show,
                  transient=False) as p:
        task = p.add_task("", total=total, completed=done)
        yield lambda desc, adv=1: p.update(task, advance=adv, description=desc)


def train(args: TrainArgs, data: TrainData) -> dict[str, Any]:
    """Train (or resume) and return the summary `hrm train --json` prints."""
    args = args.resolved()
    d = setup_distributed(args.device)
    out = Path(args.out)
    path = out / ckpt.CHECKPOINT_NAME
    resume = None
    if args.resume:
        resume = ckpt.load_checkpoint(path)
        saved = TrainArgs(**resume["train_args"])
        args = replace(saved, steps=args.steps, stop_after=args.stop_after, device=args.device,
                       fsdp=args.fsdp,
                       progress=args.progress, resume=True, save_every=args.save_every)
    elif path.exists():
        raise TrainError(f"{path} already exists; pass --resume to continue it or pick "
                         "another --out")
    sp = SpecialIds.from_tokenizer(data.tokenizer)
    if not data.available_kinds(args.seq_len):
        raise TrainError(f"no usable training data for --seq-len {args.seq_len}: the token "
                         "shards are too short and no task example fits")
    run = build_run(args, data, d, resume)
    meter, step_meter = Meter(data.langs), Meter(data.langs)
    tb, wb = _writers(args, d)
    stop = min(args.steps, args.stop_after) if args.stop_after else args.steps
    train_time, tokens_timed, last_loss = 0.0, 0, float("nan")
    try:
        with _progress(d.main and args.progress, args.steps, run.step) as advance:
            while run.step < stop:
                t0 = time.perf_counter()
                step_meter.reset()
                n = train_step(run, data, sp, d, (meter, step_meter))
                train_time += time.perf_counter() - t0
                tokens_timed += n
                if run.step == 1 or run.step == stop:
                    run.last_loss = step_meter.reduce(d).get("total")
                    if run.step == 1:
                        run.initial_loss = run.last_loss
                if run.step % args.log_every == 0 or run.step == stop or run.step == 1:
                    metrics = meter.reduce(d)
                    meter.reset()
                    last_loss = metrics.get("total", last_loss)
                    run.history.append(last_loss)
                    metrics |= {"lr": run.sched.get_last_lr()[0],
                                "tokens_per_s": tokens_timed / max(train_time, 1e-9),
                                "curriculum_stage": float(CURRICULUM.index(
                                    stage_at(run.step - 1, args.steps)))}
                    _log(tb, wb, metrics, run.step)
                advance(f"loss {last_loss:.3f}  {tokens_timed / max(train_time, 1e-9):,.0f} tok/s")
                if args.save_every and run.step % args.save_every == 0 and run.step < stop:
                    save(run, data, d)
    except KeyboardInterrupt:
        saved_to = save(run, data, d)
        raise TrainingInterrupted(run.step, saved_to) from None
    saved_to = save(run, data, d)
    result = {
        "checkpoint": str(saved_to), "step": run.step, "steps": args.steps,
        "stopped_early": run.step < args.steps, "arch": args.arch, "preset": args.preset,
        "params": run.model.num_params(), "initial_loss": run.initial_loss,
        "final_loss": run.last_loss, "tokens": run.tokens_seen,
        "tokens_per_s": tokens_timed / max(train_time, 1e-9), "world_size": d.world,
        "device": d.device.type, "qat": args.qat,
    }
    if data.lm_heldout is not None and args.eval_batches:
        from .evaluate import heldout_lm_loss

        with ema_weights(run):
            result["heldout_loss"] = heldout_lm_loss(run.model, data.lm_heldout, args.seq_len,
                                                     args.eval_batches, args.batch_size, d.device)
    if tb is not None:
        tb.close()
    if wb is not None:
        wb.finish()
    return result


@contextlib.contextmanager
def ema_weights(run: Run) -> Iterator[None]:
    """Temporarily swap the EMA weights in (for evaluation), then restore the live ones."""
    params = dict(run.model.named_parameters())
    live = {n: p.detach().clone() for n, p in params.items()}
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(run.ema.shadow[clean_name(n)])
    try:
        yield
    finally:
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(live[n])


def summary_json(result: dict[str, Any]) -> str:
    return json.dumps(result, sort_keys=True)


# -- data preparation -----------------------------------------------------------------------

def _stream(shard: Any) -> TokenStream | None:
    return TokenStream(shard.tokens, shard.starts, shard.langs) if len(shard.tokens) else None


def load_prepared(data_dir: str, corpus: str = "") -> TrainData:
    """TrainData from a directory trainer.data.build wrote (tokenizer, shards, task files)."""
    from .data.build import MANIFEST, DatasetInfo, read_jsonl
    from .data.shards import open_shard
    from .tokenizer import Tokenizer

    manifest = Path(data_dir) / MANIFEST
    try:
        info = DatasetInfo(**json.loads(manifest.read_text()))
    except (OSError, ValueError, TypeError) as e:
        raise TrainError(f"no readable prepared data in {data_dir} ({e.__class__.__name__}); "
                         "run `hrm train --corpus DIR` to build it or pass the run's data dir") from None
    examples: dict[str, list] = {}
    heldout: list = []
    try:
        for name, path in sorted(info.task_files.items()):
            records = read_jsonl(path)
            if name.endswith("_heldout"):
                heldout.extend(records)
            else:
                for rec in records:
                    examples.setdefault(rec["kind"], []).append(rec)
        tok = Tokenizer.load(info.tokenizer_path)
        train_shard = open_shard(info.shards_dir, "train")
        held_shard = open_shard(info.shards_dir, "heldout")
    except (OSError, ValueError) as e:
        raise TrainError(f"prepared data in {data_dir} is damaged: {e}") from None
    return TrainData(tok, info.tokenizer_path, _stream(train_shard), _stream(held_shard),
                     examples, heldout, corpus=corpus)


def prepare_data(corpus: str, data_dir: str, vocab_size: int, seed: int = 0,
                 say: Any = None) -> TrainData:
    """Build (or reuse, when nothing changed) tokenizer, shards and tasks for `corpus` with
    trainer.data.build, then load them. Without a corpus, load what data_dir holds."""
    if not corpus:
        return load_prepared(data_dir)
    if not Path(corpus).is_dir():
        raise TrainError(f"corpus directory {corpus} does not exist")
    from .data.build import build_dataset

    if say:
        say(f"preparing tokenizer, shards and tasks from {corpus} in {data_dir}")
    try:
        build_dataset(corpus, data_dir, vocab_size=vocab_size, seed=seed)
    except ValueError as e:
        raise TrainError(str(e)) from None
    return load_prepared(data_dir, str(Path(corpus).resolve()))
