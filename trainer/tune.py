"""Tune a retrofit (converters.retrofit) on ChatML edit records (trainer.data.chat_tasks).

nanoGPT-style and built for a 2-core CPU that is stopped every few hours:

- answer-only loss, with the 49k-vocabulary head run only on answer positions;
- the two small heads learn in the same forward (HRM-Code's design: both read z_H): the
  plan head classifies the tool of each `N. tool arg` step of a plan record at the
  position that predicts the tool's first token (`--plan-weight`), and the halt head reads
  the position that predicts <|im_end|>: 1 after an edit (that turn finished the task),
  0 after a plan (a plan is never the end of the work) (`--halt-weight`);
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
import re
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from hrmcli.prompt_format import TOOLS
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
    stop_at: int = 0  # stop (and save) after this step, schedule unchanged; 0: run to --steps
    save_minutes: float = 10.0
    threads: int = 2
    bf16: bool = True
    seed: int = 0
    grad_clip: float = 1.0
    val: str = ""
    val_every: int = 100
    val_n: int = 24
    device: str = "cpu"
    plan_weight: float = 0.5
    change_weight: float = 1.0
    halt_weight: float = 0.2


IM_END = "<|im_end|>"
# Halt-head label at the end of a record's answer (unless the record has a "halt" field), by
# kind: a plan is never the end of the work; every other kind (the edit kinds) is one
# finished answer to one task.
HALT_LABEL: dict[str, float] = {"plan": 0.0}
_STEP = re.compile(r"(?m)^(\d+\.) ([a-z_]+)(?= |$)")


@dataclass
class Example:
    """One record as tensors: LM labels, plus positions (indices into ids) and labels for the
    plan head (one per plan step) and the halt head (at most one)."""

    ids: torch.Tensor  # (1, T)
    labels: torch.Tensor  # (1, T), IGNORE outside the answer
    plan_pos: list[int] = field(default_factory=list)
    plan_tool: list[int] = field(default_factory=list)  # TOOLS index per plan position
    halt_pos: list[int] = field(default_factory=list)
    halt_label: list[float] = field(default_factory=list)
    weights: torch.Tensor | None = None  # per answer token LM weight (see change_weights)


def plan_positions(tok: Tokenizer, answer: str, answer_ids: list[int]) -> list[tuple[int, int]]:
    """[(index into answer_ids, TOOLS index)] for each `N. tool ...` line of a plan answer:
    the last token before ` tool`, whose next token is the tool's first one.

    Each position comes from tokenising the answer up to `N.`: the byte-level pre-tokenizer
    never merges across the space that starts ` tool`, so those tokens are a prefix of the
    whole answer's (checked; a line where they are not is skipped).
    """
    out = []
    for m in _STEP.finditer(answer):
        if m.group(2) not in TOOLS:
            continue
        head = tok.encode(answer[:m.end(1)])
        if head and answer_ids[:len(head)] == head and len(head) < len(answer_ids):
            out.append((len(head) - 1, TOOLS.index(m.group(2))))
    return out


_MARK = re.compile(r"^(<{5,9} ?SEARCH|={5,9}|>{5,9} ?REPLACE)$")


LOCATE_CHARS = 12  # how much of a SEARCH section's first line change_weights marks


def change_weights(tok: Tokenizer, answer: str, answer_ids: list[int], factor: float) -> list[float]:
    """LM-loss weight per answer token: `factor` on the tokens that make an edit an edit, 1
    elsewhere. Most of a SEARCH/REPLACE answer is lines copied from the file, which a
    pretrained model learns at once; the few changed tokens carry the task. A REPLACE line
    that is not in its SEARCH section is a change, and so is the first REPLACE line where
    the two sections part (a deletion shows only there, or at the closing marker).

    Where an edit goes is as decisive: the newline that ends a SEARCH marker and the start
    of the first SEARCH line (LOCATE_CHARS characters) weigh `factor` too. The tokenizer
    merges that newline with the line's indentation ("\n   "), so the token that picks an
    indented or an unindented line comes before any of the line's text; copied lines
    after it are learnt at once, this choice is not."""
    w = [1.0] * len(answer_ids)
    if factor == 1.0 or "SEARCH" not in answer:
        return w
    spans, state, search, rep, off, locate = [], "", [], [], 0, 0
    for line in answer.splitlines(keepends=True):
        m = _MARK.match(line.rstrip("\n"))
        if m and "SEARCH" in m.group(1):
            state, search, rep = "search", [], []
            locate = off + len(line.rstrip("\n"))  # the newline that ends the marker
        elif m and m.group(1).startswith("=") and state == "search":
            state = "replace"
        elif m and "REPLACE" in m.group(1) and state == "replace":
            if rep == search[:len(rep)] and len(rep) < len(search):
                spans.append((off, off + len(line)))  # pure deletion: the close is the change
            state = ""
        elif state == "search":
            if not search:
                spans.append((locate, off + min(len(line), LOCATE_CHARS)))
            search.append(line)
        elif state == "replace":
            i = len(rep)
            rep.append(line)
            if line not in search or (i < len(search) and search[i] != line
                                      and rep[:i] == search[:i]):
                spans.append((off, off + len(line)))
        off += len(line)
    for a, b in spans:
        lo, hi = len(tok.encode(answer[:a])), len(tok.encode(answer[:b]))
        for j in range(lo, min(hi, len(w))):
            w[j] = factor
    return w


class Records:
    """Tokenised records in a seeded order that repeats per epoch.

    Which records are kept and their order depend only on the file, the tokenizer,
    max_tokens and the seed, so a checkpoint's data position means the same record after a
    resume (also one written before the plan and halt labels existed).
    """

    def __init__(self, path: str, tok: Tokenizer, max_tokens: int, seed: int,
                 change_weight: float = 1.0):
        self.items: list[tuple[list[int], list[int], list[tuple[int, int]], float | None]] = []
        self.weights: list[list[float] | None] = []
        end_id = tok.token_to_id(IM_END)
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line still being written by a running data build
                p, a = tok.encode(r["prompt"]), tok.encode(r["answer"])
                if len(p) + len(a) <= max_tokens and a:
                    kind = str(r.get("kind", ""))
                    plan = plan_positions(tok, r["answer"], a) if kind == "plan" else []
                    halt = r.get("halt")  # a record may say; else its kind does
                    halt = HALT_LABEL.get(kind, 1.0) if halt is None else float(halt)
                    if end_id is None or a[-1] != end_id:
                        halt = None
                    self.items.append((p, a, plan, halt))
                    self.weights.append(change_weights(tok, r["answer"], a, change_weight)
                                        if change_weight != 1.0 else None)
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

    def get(self, pos: int) -> Example:
        epoch, i = divmod(pos, len(self.items))
        k = self.order(epoch)[i]
        p, a, plan, halt = self.items[k]
        ids = torch.tensor([p + a], dtype=torch.long)
        labels = torch.tensor([[IGNORE] * (len(p) - 1) + a + [IGNORE]], dtype=torch.long)
        ex = Example(ids, labels, [len(p) + j for j, _ in plan], [t for _, t in plan])
        if self.weights[k] is not None:
            ex.weights = torch.tensor(self.weights[k])
        if halt is not None:  # the position whose next token is the closing <|im_end|>
            ex.halt_pos, ex.halt_label = [len(p) + len(a) - 2], [halt]
        return ex


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


@dataclass
class Losses:
    """One example's summed losses (tensors, for backward) and counts for the log."""

    lm: torch.Tensor
    n_lm: int
    plan: torch.Tensor
    n_plan: int = 0
    plan_hits: int = 0
    halt: torch.Tensor | None = None
    n_halt: int = 0
    halt_hits: int = 0
    lm_weighted: torch.Tensor | None = None  # lm with change_weights, what backward uses


def example_loss(model: HRMCode, ex: Example, bf16: bool) -> Losses:
    """LM cross-entropy on the answer, plan-head cross-entropy at plan positions and halt-head
    BCE at the halt position, all from one forward whose heads run only at the selected
    positions (the plan and halt positions lie inside the answer, so they cost nothing)."""
    dev = next(model.parameters()).device
    ids, labels = ex.ids.to(dev), ex.labels.to(dev)
    answer = labels != IGNORE
    select = answer.clone()
    select[0, ex.plan_pos + ex.halt_pos] = True
    ctx = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16)
    with ctx:
        out = model(ids, select=select)
    row = torch.cumsum(select[0].long(), 0) - 1  # position -> row of the selected outputs
    ce = F.cross_entropy(out.logits[answer[select]].float(), labels[answer], reduction="none")
    lm = ce.sum()
    res = Losses(lm, int(answer.sum()), out.plan_logits.new_zeros((), dtype=torch.float32))
    res.lm_weighted = lm if ex.weights is None else (ce * ex.weights.to(dev)).sum()
    res.halt = res.plan
    if ex.plan_pos:
        logits = out.plan_logits[row[ex.plan_pos]].float()
        want = torch.tensor(ex.plan_tool, device=dev)
        res.plan = F.cross_entropy(logits, want, reduction="sum")
        res.n_plan, res.plan_hits = len(want), int((logits.argmax(-1) == want).sum())
    if ex.halt_pos:
        logits = out.halt_logits[row[ex.halt_pos]].float()
        want_h = torch.tensor(ex.halt_label, device=dev)
        res.halt = F.binary_cross_entropy_with_logits(logits, want_h, reduction="sum")
        res.n_halt, res.halt_hits = len(want_h), int(((logits > 0) == (want_h > 0.5)).sum())
    return res


def head_metrics(parts: list[Losses], prefix: str = "") -> dict[str, float]:
    """Plan/halt loss and accuracy over some examples (keys only for heads that had labels)."""
    rec: dict[str, float] = {}
    for head in ("plan", "halt"):
        n = sum(getattr(x, f"n_{head}") for x in parts)
        if n:
            rec[f"{prefix}{head}_loss"] = sum(float(getattr(x, head).detach()) for x in parts) / n
            rec[f"{prefix}{head}_acc"] = sum(getattr(x, f"{head}_hits") for x in parts) / n
            rec[f"{prefix}{head}_n"] = n
    return rec


@torch.no_grad()
def validate(model: HRMCode, recs: Records, n: int, bf16: bool) -> dict[str, float]:
    """val_loss (answer tokens) and the heads' val_* metrics on the first n records."""
    model.eval()
    parts = [example_loss(model, recs.get(i), bf16) for i in range(min(n, len(recs.items)))]
    model.train()
    tot, cnt = sum(float(x.lm) for x in parts), sum(x.n_lm for x in parts)
    return {"val_loss": tot / max(cnt, 1), **head_metrics(parts, "val_")}


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
    model.to(a.device)
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
    data = Records(a.data, tok, a.max_tokens, a.seed, a.change_weight)
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
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        payload.update(model=weights, optimizer=opt.state_dict(), step=step,
                       data_pos=pos, rng=ckpt.rng_state(), tune_args=asdict(a))
        ckpt.save_checkpoint(state_path, payload)

    model.train()
    try:
        while step < a.steps and not stop["why"] and not 0 < a.stop_at <= step:
            t0 = time.monotonic()
            for g in opt.param_groups:
                g["lr"] = lr_at(step, a)
            batch = [data.get(pos + i) for i in range(a.accum)]
            n_tok = sum(int((ex.labels != IGNORE).sum()) for ex in batch)
            w_tok = sum(float(ex.weights.sum()) if ex.weights is not None
                        else int((ex.labels != IGNORE).sum()) for ex in batch)
            n_plan = sum(len(ex.plan_pos) for ex in batch)
            n_halt = sum(len(ex.halt_pos) for ex in batch)
            seen = sum(ex.ids.shape[1] for ex in batch)
            loss_sum, parts = 0.0, []
            for ex in batch:
                part = example_loss(model, ex, a.bf16)
                total = part.lm_weighted / w_tok
                if n_plan and a.plan_weight:
                    total = total + a.plan_weight * part.plan / n_plan
                if n_halt and a.halt_weight:
                    total = total + a.halt_weight * part.halt / n_halt
                total.backward()
                loss_sum += float(part.lm.detach())
                parts.append(part)
            gnorm = float(torch.nn.utils.clip_grad_norm_(params, a.grad_clip))
            opt.step()
            opt.zero_grad(set_to_none=True)
            step, pos = step + 1, pos + a.accum
            dt = time.monotonic() - t0
            rec = {"step": step, "loss": loss_sum / n_tok, "lr": lr_at(step - 1, a), "gnorm": gnorm,
                   "tok_s": seen / dt, "answer_tokens": n_tok, "tokens": seen, "time": time.time(),
                   **head_metrics(parts)}
            if val is not None and step % a.val_every == 0:
                rec.update(validate(model, val, a.val_n, a.bf16))
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if step % 10 == 0 or "val_loss" in rec:
                extra = f" val {rec['val_loss']:.3f}" if "val_loss" in rec else ""
                extra += "".join(f" {h} acc {rec[h + '_acc']:.2f}" for h in ("plan", "halt")
                                 if h + "_acc" in rec)
                print(f"step {step} loss {rec['loss']:.3f}{extra} {rec['tok_s']:.0f} tok/s", flush=True)
            now = time.monotonic()
            if now - last_save > a.save_minutes * 60:
                save()
                last_save = now
            if now - t_start > a.max_minutes * 60:
                stop["why"] = "time budget"
            if 0 < a.stop_at <= step:
                stop["why"] = f"--stop-at {a.stop_at}"
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
