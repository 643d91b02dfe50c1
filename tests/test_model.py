"""HRM-Code model: KV-cache decoding, the gradient window, the block-causal mask, baselines."""

from __future__ import annotations

import pytest
import torch

from hrmcli.runtime.model import Block, HRMCode, HRMConfig, KVCache, attention_mask, block_ids

CFG = HRMConfig(vocab_size=97, d_model=64, n_heads=4, n_kv_heads=2, h_layers=2, l_layers=2,
                h_cycles=2, l_cycles=2, max_seq_len=64)
OPEN = {1, 2}  # token ids that open a prefix block in these tests
CAUSAL = 3


def _model(cfg: HRMConfig = CFG, seed: int = 0) -> HRMCode:
    torch.manual_seed(seed)
    return HRMCode(cfg).eval()


def _prompt() -> list[int]:
    """Two prefix blocks, then an assistant opener and causal tokens."""
    return [1, 10, 11, 12, 13, 2, 20, 21, 22, CAUSAL, 30, 31, 32, 33, 34]


def _full(model: HRMCode, ids: list[int]):
    tok = torch.tensor([ids])
    blk = torch.tensor([block_ids(ids, OPEN, CAUSAL)])
    with torch.no_grad():
        return model(tok, blk)


def test_cache_decode_matches_full_forward_token_by_token():
    model, ids = _model(), _prompt()
    ref = _full(model, ids)
    blk = block_ids(ids, OPEN, CAUSAL)
    cache = KVCache(CFG, batch=1, max_len=32)
    # Prefix blocks must arrive whole to stay bidirectional; causal tokens may come singly.
    chunks = [(0, 5), (5, 9)] + [(i, i + 1) for i in range(9, len(ids))]
    got = []
    with torch.no_grad():
        for a, b in chunks:
            out = model(torch.tensor([ids[a:b]]), torch.tensor([blk[a:b]]), cache=cache)
            got.append(out)
    assert cache.pos == len(ids)
    logits = torch.cat([o.logits for o in got], dim=1)
    plan = torch.cat([o.plan_logits for o in got], dim=1)
    halt = torch.cat([o.halt_logits for o in got], dim=1)
    torch.testing.assert_close(logits, ref.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(plan, ref.plan_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(halt, ref.halt_logits, atol=1e-5, rtol=0)


def test_chunked_prefill_of_causal_tail_matches_full_forward():
    model, ids = _model(seed=1), _prompt()
    ref = _full(model, ids)
    blk = block_ids(ids, OPEN, CAUSAL)
    cache = KVCache(CFG, batch=1)
    with torch.no_grad():
        first = model(torch.tensor([ids[:11]]), torch.tensor([blk[:11]]), cache=cache)
        second = model(torch.tensor([ids[11:]]), torch.tensor([blk[11:]]), cache=cache)
    torch.testing.assert_close(torch.cat([first.logits, second.logits], 1), ref.logits,
                               atol=1e-5, rtol=0)


def test_plain_causal_cache_matches_forward_without_blocks():
    model = _model(seed=2)
    tok = torch.randint(4, CFG.vocab_size, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(tok).logits
        cache = KVCache(CFG, batch=2, max_len=16)
        a = model(tok[:, :7], cache=cache).logits
        b = torch.cat([model(tok[:, i:i + 1], cache=cache).logits for i in range(7, 12)], 1)
    torch.testing.assert_close(torch.cat([a, b], 1), ref, atol=1e-5, rtol=0)


def test_cache_truncate_rolls_back_and_redecodes_identically():
    model, ids = _model(seed=3), _prompt()
    blk = block_ids(ids, OPEN, CAUSAL)
    cache = KVCache(CFG, batch=1)
    with torch.no_grad():
        model(torch.tensor([ids[:12]]), torch.tensor([blk[:12]]), cache=cache)
        a = model(torch.tensor([ids[12:]]), torch.tensor([blk[12:]]), cache=cache).logits
        cache.truncate(12)
        b = model(torch.tensor([ids[12:]]), torch.tensor([blk[12:]]), cache=cache).logits
    assert torch.equal(a, b)


def test_context_overflow_is_a_clear_error():
    model = _model()
    with pytest.raises(ValueError, match="exceeds the context"):
        model(torch.zeros(1, CFG.max_seq_len + 1, dtype=torch.long))


def _grads(model: HRMCode, window: int | None) -> dict[str, torch.Tensor | None]:
    model.train()
    model.zero_grad(set_to_none=True)
    tok = torch.randint(4, CFG.vocab_size, (2, 10), generator=torch.Generator().manual_seed(1))
    out = model(tok, grad_window=window)
    (out.logits.square().mean() + out.halt_logits.mean() + out.plan_logits.mean()).backward()
    return {n: p.grad for n, p in model.named_parameters()}


def test_grad_window_one_leaves_l_module_and_embedding_without_grads():
    g = _grads(_model(), window=1)
    # Calls are L L H L L H: with a window of 1 only the last H call builds a graph.
    assert all(v is None for n, v in g.items() if n.startswith("l.") or n == "z_l_init")
    assert g["embed.weight"] is None
    assert all(v is not None and v.abs().sum() > 0 for n, v in g.items() if n.startswith("h."))


def test_grad_window_two_reaches_last_l_call_and_the_input_injection():
    g = _grads(_model(), window=2)
    assert all(v is not None and v.abs().sum() > 0 for n, v in g.items() if n.startswith("l."))
    assert g["embed.weight"] is not None and g["embed.weight"].abs().sum() > 0
    # z_L's initial value only feeds the first L call, which is outside the window.
    assert g["z_l_init"] is None


def test_full_backprop_reaches_every_parameter():
    g = _grads(_model(), window=None)
    missing = [n for n, v in g.items() if v is None or v.abs().sum() == 0]
    assert missing == []


def test_grad_window_changes_gradients_not_the_forward():
    model = _model()
    tok = torch.randint(4, CFG.vocab_size, (1, 9), generator=torch.Generator().manual_seed(2))
    a = model(tok, grad_window=1).logits
    b = model(tok, grad_window=None).logits
    assert torch.equal(a, b)


def test_attention_mask_is_block_causal():
    blk = torch.tensor([block_ids(_prompt(), OPEN, CAUSAL)])
    m = attention_mask(blk, blk, 0)[0, 0]
    n = blk.shape[1]
    for q in range(n):
        for k in range(n):
            same_block = blk[0, q] >= 0 and blk[0, q] == blk[0, k]
            assert bool(m[q, k]) == (k <= q or bool(same_block)), (q, k)


def _perturb_effect(model: HRMCode, ids: list[int], pos: int) -> torch.Tensor:
    """Max change of each position's output when token `pos` changes."""
    other = list(ids)
    other[pos] = 50 if ids[pos] != 50 else 51
    a, b = _full(model, ids).logits[0], _full(model, other).logits[0]
    return (a - b).abs().amax(-1)


def test_prefix_token_sees_later_tokens_of_its_block_but_not_later_blocks():
    model, ids = _model(), _prompt()
    # Changing token 3 (inside block 1) changes token 1's output: bidirectional in the block.
    eff = _perturb_effect(model, ids, 3)
    assert eff[1] > 1e-4 and eff[0] > 1e-4
    # Changing token 7 (block 2) must not change anything in block 1 (positions 0-4).
    eff = _perturb_effect(model, ids, 7)
    assert eff[:5].max() == 0
    assert eff[5] > 1e-4  # the opener of block 2 sees its whole block
    # Causal tokens: changing token 12 leaves 9-11 unchanged and changes 12 onwards.
    eff = _perturb_effect(model, ids, 12)
    assert eff[:12].max() == 0 and eff[12:].min() > 1e-4


def test_block_ids_follow_openers_and_causal_opener():
    ids = [1, 5, 6, 2, 7, CAUSAL, 8, 9, 2, 4, CAUSAL, 6]
    assert block_ids(ids, OPEN, CAUSAL) == [1, 1, 1, 2, 2, -1, -1, -1, 3, 3, -1, -1]


@pytest.mark.parametrize("preset", ["tiny", "small", "base"])
def test_transformer_baselines_have_expected_sizes(preset):
    cfg = HRMConfig.preset(preset)
    d = cfg.d_model
    same_p, same_f = cfg.same_params_transformer(), cfg.same_flops_transformer()
    assert same_p.h_layers == cfg.h_layers + cfg.l_layers
    assert same_f.h_layers == cfg.n_applications == 2 * (cfg.h_layers + 2 * cfg.l_layers)
    assert same_p.n_applications == same_p.h_layers and same_p.n_calls == 1
    if preset != "tiny":
        return  # building the large models is slow; the counting rule is checked on tiny
    hrm, tp, tf = HRMCode(cfg), HRMCode(same_p), HRMCode(same_f)
    # Same layers; HRM also has z_L's initial vector and a second module-exit norm.
    assert tp.num_params() == hrm.num_params() - 2 * d
    per_layer = sum(p.numel() for p in hrm.h.layers[0].parameters())
    assert tf.num_params() - tp.num_params() == (same_f.h_layers - same_p.h_layers) * per_layer
    assert tp.l is None and len(tp.h.layers) == 4 and len(tf.h.layers) == 12


def test_hrm_applies_n_app_layers_per_token():
    """Count layer applications by hooking blocks: the FLOPs claim behind the baselines."""
    for cfg in (CFG, CFG.same_params_transformer(), CFG.same_flops_transformer()):
        model = _model(cfg)
        calls: list[int] = []
        for blk in model.modules():
            if isinstance(blk, Block):
                blk.register_forward_hook(lambda *_, seen=calls: seen.append(1))
        with torch.no_grad():
            model(torch.zeros(1, 4, dtype=torch.long))
        assert len(calls) == cfg.n_applications


def test_config_round_trips_through_dict():
    cfg = HRMConfig.preset("small", vocab_size=1234)
    assert HRMConfig.from_dict(cfg.to_dict() | {"unknown": 1}) == cfg
    with pytest.raises(KeyError, match="unknown preset"):
        HRMConfig.preset("huge")
