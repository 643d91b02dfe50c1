"""HRM-Code: the one model definition, shared by the trainer, the converters and the runtime.

A Hierarchical Reasoning Model for code (after HRM and HRM-Text, see docs/hrm-code.md):
two recurrent modules of pre-norm transformer blocks, H (slow, plans) and L (fast, details).
Per forward, for each of h_cycles: run L l_cycles times on `z_L + z_H + x` (input injection),
then H once on `z_H + z_L`. Every module call ends in an RMSNorm, so the recurrent state stays
bounded. z_H starts as the token embedding, z_L as a learned vector. The token, plan and halt
heads read the final z_H.

The transformer baselines are the same code: h_cycles=1, l_cycles=0 and n layers in H is a
plain pre-norm transformer (`HRMConfig.transformer(...)`).

A *retrofit* (`retrofit=True`, built by converters.retrofit from a pretrained llama GGUF) keeps
the pretrained function exact at its identity setting: a prelude of pretrained layers runs
once on the embedding (e), then per H cycle L runs l_cycles times on
`e + inject_l(z_L) + inject_h(z_H)` and H once on z_L; one final RMSNorm precedes the heads
and modules have no exit norm. The injections start at zero, so the recursion is the
pretrained stack until tuning finds a use for it. Two layouts are compared in the model card:
(a) recurrent core: prelude = early layers, L = a block of late layers looped, H = the coda;
(b) planner H: L = the whole pretrained stack, H = new blocks whose output projections start
at zero (so H is the identity at first), fed back into L each H cycle. Plain causal attention
(the pretrained models never saw bidirectional prefix blocks).

Decoding keeps one KV cache per *layer application* (module call x layer), because each call
sees a different input; the cache is append-only across agent turns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hrmcli.prompt_format import TOOLS


@dataclass(frozen=True)
class HRMConfig:
    vocab_size: int = 8192
    d_model: int = 256
    n_heads: int = 4
    n_kv_heads: int = 4
    h_layers: int = 2
    l_layers: int = 2
    h_cycles: int = 2
    l_cycles: int = 2
    ffn_hidden: int = 0  # 0: SwiGLU default, 8/3 d rounded up to a multiple of 64
    max_seq_len: int = 1024
    rope_base: float = 10000.0
    norm_eps: float = 1e-5
    n_tools: int = len(TOOLS)
    tie_embeddings: bool = False  # lm_head shares the embedding matrix (SmolLM2, many llamas)
    retrofit: bool = False  # pretrained layout: prelude, zero-init injections, one final norm
    prelude_layers: int = 0  # retrofit: pretrained layers run once before the recursion

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def hidden(self) -> int:
        if self.ffn_hidden:
            return self.ffn_hidden
        return 64 * math.ceil(8 * self.d_model / 3 / 64)

    @property
    def is_transformer(self) -> bool:
        return self.l_cycles == 0

    @property
    def has_l(self) -> bool:
        return self.l_cycles > 0 and (self.l_layers > 0 or not self.retrofit)

    @property
    def n_calls(self) -> int:
        """Module calls per forward: each H cycle runs L l_cycles times, then H once."""
        return self.h_cycles * (self.l_cycles + 1)

    @property
    def n_applications(self) -> int:
        """Layer applications per token (N_app in docs/hrm-code.md): FLOPs and KV-cache size."""
        return self.prelude_layers + self.h_cycles * (self.h_layers + self.l_cycles * self.l_layers)

    def call_plan(self) -> list[tuple[str, int]]:
        """[(module, first KV-cache slot)] for every module call, in order ("P" = prelude)."""
        plan, slot = [], 0
        if self.prelude_layers:
            plan.append(("P", 0))
            slot = self.prelude_layers
        for _ in range(self.h_cycles):
            for _ in range(self.l_cycles if self.has_l else 0):
                plan.append(("L", slot))
                slot += self.l_layers
            plan.append(("H", slot))
            slot += self.h_layers
        return plan

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> HRMConfig:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def preset(cls, name: str, **overrides) -> HRMConfig:
        if name not in PRESETS:
            raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        return replace(PRESETS[name], **overrides)

    def transformer(self, n_layers: int) -> HRMConfig:
        """A plain transformer of n_layers with this config's width, heads and vocabulary."""
        return replace(self, h_layers=n_layers, l_layers=0, h_cycles=1, l_cycles=0)

    def same_params_transformer(self) -> HRMConfig:
        return self.transformer(self.h_layers + self.l_layers)

    def same_flops_transformer(self) -> HRMConfig:
        return self.transformer(self.n_applications)


PRESETS: dict[str, HRMConfig] = {
    "tiny": HRMConfig(vocab_size=8192, d_model=256, n_heads=4, n_kv_heads=4,
                      h_layers=2, l_layers=2, max_seq_len=1024),
    "small": HRMConfig(vocab_size=16384, d_model=512, n_heads=8, n_kv_heads=4,
                       h_layers=3, l_layers=3, max_seq_len=4096),
    "base": HRMConfig(vocab_size=32768, d_model=768, n_heads=12, n_kv_heads=4,
                      h_layers=6, l_layers=6, max_seq_len=8192),
}


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return xf.type_as(x) * self.weight


def recursion_field(layout: str) -> str | None:
    """The HRMConfig field that counts a retrofit layout's recursion: l_cycles for a core
    layout (how often the core runs), h_cycles for a planner; None for identity."""
    if layout.startswith("core"):
        return "l_cycles"
    if layout.startswith("planner"):
        return "h_cycles"
    return None


def rope_tables(cfg: HRMConfig, device=None) -> tuple[Tensor, Tensor]:
    """cos/sin tables of shape (max_seq_len, head_dim/2) for rotate-half RoPE (NEOX layout)."""
    hd = cfg.head_dim
    inv = 1.0 / (cfg.rope_base ** (torch.arange(0, hd, 2, device=device).float() / hd))
    t = torch.arange(cfg.max_seq_len, device=device).float()
    freqs = torch.outer(t, inv)
    return freqs.cos(), freqs.sin()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """x: (B, heads, T, hd); cos/sin: (T, hd/2). Rotates the two halves of each head."""
    x1, x2 = x.float().chunk(2, dim=-1)
    c, s = cos[None, None], sin[None, None]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1).type_as(x)


class KVCache:
    """Preallocated keys/values for every layer application, plus the block id of every key.

    Block ids let a later prompt chunk (a new observation block) be bidirectional within
    itself while staying causal to what is cached.
    """

    def __init__(self, cfg: HRMConfig, batch: int = 1, max_len: int | None = None,
                 dtype: torch.dtype = torch.float32, device=None):
        n = max_len or cfg.max_seq_len
        shape = (cfg.n_applications, batch, cfg.n_kv_heads, n, cfg.head_dim)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.block = torch.full((batch, n), -1, dtype=torch.long, device=device)
        self.max_len = n
        self.pos = 0  # tokens committed so far

    def reset(self) -> None:
        self.pos = 0

    def truncate(self, pos: int) -> None:
        """Drop everything after `pos` (used to roll back speculative tokens)."""
        self.pos = min(self.pos, pos)

    def nbytes(self) -> int:
        return self.k.nbytes + self.v.nbytes + self.block.nbytes


def block_ids(ids: Sequence[int], opener_ids: set[int], causal_id: int) -> list[int]:
    """Block id per token for the block-causal prefix mask.

    A token in a prefix block (opened by one of opener_ids: file, user, obs, ...) gets that
    block's number, so it sees its whole block. Tokens from the assistant opener on are
    causal (-1) until the next prefix opener.
    """
    out, cur, n = [], -1, 0
    for t in ids:
        if t in opener_ids:
            n += 1
            cur = n
        elif t == causal_id:
            cur = -1
        out.append(cur)
    return out


def attention_mask(q_block: Tensor, k_block: Tensor, q_offset: int) -> Tensor:
    """Boolean (B, 1, Tq, Tk) mask: causal, plus full visibility inside one prefix block."""
    tq, tk = q_block.shape[1], k_block.shape[1]
    qi = torch.arange(tq, device=q_block.device)[:, None] + q_offset
    kj = torch.arange(tk, device=q_block.device)[None, :]
    causal = (kj <= qi)[None]
    same = (q_block[:, :, None] == k_block[:, None, :]) & (q_block[:, :, None] >= 0)
    return (causal | same)[:, None]


class Attention(nn.Module):
    def __init__(self, cfg: HRMConfig):
        super().__init__()
        hd = cfg.head_dim
        self.n_heads, self.n_kv, self.hd = cfg.n_heads, cfg.n_kv_heads, hd
        self.wq = nn.Linear(cfg.d_model, cfg.n_heads * hd, bias=False)
        self.wk = nn.Linear(cfg.d_model, cfg.n_kv_heads * hd, bias=False)
        self.wv = nn.Linear(cfg.d_model, cfg.n_kv_heads * hd, bias=False)
        self.wo = nn.Linear(cfg.n_heads * hd, cfg.d_model, bias=False)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor | None,
                cache: KVCache | None, slot: int) -> Tensor:
        b, t, _ = x.shape
        q = self.wq(x).view(b, t, self.n_heads, self.hd).transpose(1, 2)
        k = self.wk(x).view(b, t, self.n_kv, self.hd).transpose(1, 2)
        v = self.wv(x).view(b, t, self.n_kv, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            p = cache.pos
            cache.k[slot, :, :, p:p + t] = k
            cache.v[slot, :, :, p:p + t] = v
            # an fp16 cache (KVCache dtype) is read back in the queries' precision
            k = cache.k[slot, :, :, :p + t].to(q.dtype)
            v = cache.v[slot, :, :, :p + t].to(q.dtype)
        gqa = self.n_kv != self.n_heads  # sdpa maps query heads to KV heads, no copies
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=t > 1, enable_gqa=gqa)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=gqa)
        return self.wo(y.transpose(1, 2).reshape(b, t, -1))


class SwiGLU(nn.Module):
    def __init__(self, cfg: HRMConfig):
        super().__init__()
        self.w1 = nn.Linear(cfg.d_model, cfg.hidden, bias=False)  # gate
        self.w3 = nn.Linear(cfg.d_model, cfg.hidden, bias=False)  # up
        self.w2 = nn.Linear(cfg.hidden, cfg.d_model, bias=False)  # down

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg: HRMConfig):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.ffn = SwiGLU(cfg)

    def forward(self, x, cos, sin, mask, cache, slot):
        x = x + self.attn(self.attn_norm(x), cos, sin, mask, cache, slot)
        return x + self.ffn(self.ffn_norm(x))


class Module(nn.Module):
    """One reasoning module (H or L): pre-norm blocks, then an RMSNorm at the exit
    (none in a retrofit, where the pretrained stack's one final norm sits before the heads)."""

    def __init__(self, cfg: HRMConfig, n_layers: int, exit_norm: bool = True):
        super().__init__()
        self.layers = nn.ModuleList(Block(cfg) for _ in range(n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps) if exit_norm else None

    def forward(self, x, cos, sin, mask, cache, slot):
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, mask, cache, slot + i)
        return x if self.norm is None else self.norm(x)


@dataclass
class Output:
    logits: Tensor  # (B, T, vocab)
    plan_logits: Tensor  # (B, T, n_tools): next tool step, read at plan positions
    halt_logits: Tensor  # (B, T): "done" (edit applied and tests passed), read at turn ends
    hidden: Tensor = field(repr=False)  # final z_H


class HRMCode(nn.Module):
    def __init__(self, cfg: HRMConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        exit_norm = not cfg.retrofit
        self.prelude = Module(cfg, cfg.prelude_layers, False) if cfg.prelude_layers else None
        self.h = Module(cfg, cfg.h_layers, exit_norm)
        self.l = Module(cfg, cfg.l_layers, exit_norm) if cfg.has_l else None
        self.z_l_init = None
        self.inject_l = self.inject_h = self.norm = None
        if cfg.retrofit:
            self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
            if self.l is not None:
                self.inject_l = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
                self.inject_h = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        elif not cfg.is_transformer:
            self.z_l_init = nn.Parameter(torch.zeros(cfg.d_model))
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed.weight
        self.plan_head = nn.Linear(cfg.d_model, cfg.n_tools, bias=False)
        self.halt_head = nn.Linear(cfg.d_model, 1, bias=True)
        cos, sin = rope_tables(cfg)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """LeCun-normal (truncated) init; embeddings scaled so z_H starts at unit RMS."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                std = 1.0 / math.sqrt(m.in_features)
                nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)
                if m.bias is not None:
                    m.bias.zero_()
        nn.init.trunc_normal_(self.embed.weight, std=1.0, a=-2.0, b=2.0)
        if self.z_l_init is not None:
            nn.init.trunc_normal_(self.z_l_init, std=1.0, a=-2.0, b=2.0)
        for inj in (self.inject_l, self.inject_h):
            if inj is not None:
                inj.weight.zero_()
        self.halt_head.bias.fill_(-2.0)

    def num_params(self, exclude_embeddings: bool = False) -> int:
        n = sum(p.numel() for p in self.parameters())  # a tied head is counted once
        return n - self.embed.weight.numel() if exclude_embeddings else n

    def forward(self, tokens: Tensor, block: Tensor | None = None, cache: KVCache | None = None,
                grad_window: int | None = None, select: Tensor | None = None) -> Output:
        """tokens: (B, T). block: (B, T) block ids (see block_ids) or None for plain causal.

        grad_window: only the last k module calls build a graph (HRM's 1-step gradient
        generalised, HRM-Text's window); None backpropagates through every call.
        With a cache, tokens continue from cache.pos and the cache advances by T.
        select: (B, T) bool; when given, the heads run only there and return (N, ...) rows
        (answer-only tuning: a 49k-vocabulary head on prompt tokens is wasted work).
        """
        cfg = self.cfg
        b, t = tokens.shape
        start = cache.pos if cache is not None else 0
        if start + t > (cache.max_len if cache is not None else cfg.max_seq_len):
            raise ValueError(f"sequence of {start + t} tokens exceeds the context of "
                             f"{cache.max_len if cache is not None else cfg.max_seq_len}")
        cos, sin = self.rope_cos[start:start + t], self.rope_sin[start:start + t]
        mask = None
        if cache is not None:
            if block is None:
                block = torch.full((b, t), -1, dtype=torch.long, device=tokens.device)
            cache.block[:, start:start + t] = block
            if t > 1:  # one query token sees every cached key: no mask needed
                mask = attention_mask(block, cache.block[:, :start + t], start)
        elif block is not None:
            mask = attention_mask(block, block, 0)

        x = self.embed(tokens)
        calls = cfg.call_plan()
        first_grad = 0 if grad_window is None else max(0, len(calls) - grad_window)
        step = self._retrofit_call if cfg.retrofit else self._hrm_call
        state = (x, x, self.z_l_init.expand_as(x) if self.z_l_init is not None else None)
        for i, (which, slot) in enumerate(calls):
            with torch.set_grad_enabled(torch.is_grad_enabled() and i >= first_grad):
                state = step(which, state, (cos, sin, mask, cache, slot))
        if cache is not None:
            cache.pos = start + t
        z_h = state[1] if self.norm is None else self.norm(state[1])
        if select is not None:
            z_h = z_h[select]
        return Output(self.lm_head(z_h), self.plan_head(z_h), self.halt_head(z_h).squeeze(-1), z_h)

    def _hrm_call(self, which: str, state, args):
        """HRM: L on z_L + z_H + x, H on z_H + z_L (z_H starts as x, z_L as a learned vector)."""
        x, z_h, z_l = state
        if which == "L":
            return x, z_h, self.l(z_l + z_h + x, *args)
        return x, self.h(z_h if z_l is None else z_h + z_l, *args), z_l

    def _retrofit_call(self, which: str, state, args):
        """Retrofit: e = prelude(x); L on e + inject_l(z_L) + inject_h(z_H); H on z_L.
        Before the first L call z_L and z_H carry nothing (they enter only through the zero-
        initialised injections); without L, H reads e directly."""
        e, z_h, z_l = state
        if which == "P":
            e = self.prelude(e, *args)
            return e, e, None
        if which == "L":
            inp = e
            if z_l is not None:
                inp = inp + self.inject_l(z_l) + self.inject_h(z_h)
            return e, z_h, self.l(inp, *args)
        return e, self.h(e if z_l is None else z_l, *args), z_l
