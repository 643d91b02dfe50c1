"""The KV cache across turns, through the code paths users run: the chat TUI's edit requests
(EditCoder on the HRM backend) and `hrm run`'s plans between edits, on a retrofit with
SmolLM2's real vocabulary and ChatML prompts (agent.prompts.render_chatml). A turn must not
prefill again what the previous turn with the same start already put in the cache, and the
cached prefix must give the same output as a fresh prefill."""

from __future__ import annotations

import pytest
import torch

from converters.gguf_export import export_hrm
from converters.retrofit import retrofit
from hrmcli.agent.backends.hrm import HRMBackend
from hrmcli.agent.coder import EditCoder
from hrmcli.agent.planner import make_plan
from hrmcli.runtime.engine import Engine
from hrmcli.runtime.generate import prefill
from hrmcli.runtime.model import KVCache
from tests.chat_models import tiny_chat_llama

SOURCE = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(40))


@pytest.fixture(scope="module")
def chat_model(smollm2_gguf, tmp_path_factory):
    d = tmp_path_factory.mktemp("turns")
    path = d / "hrm.gguf"
    export_hrm(retrofit(tiny_chat_llama(smollm2_gguf, d / "base.gguf"), max_seq_len=1024), path,
               "q4_0")
    return path


def _common(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


class _Recorder:
    """Wraps backend.render to keep every prompt's token ids, in call order."""

    def __init__(self, backend: HRMBackend):
        self.ids: list[list[int]] = []
        render = backend.render

        def rec(messages):
            text = render(messages)
            self.ids.append(backend.engine.tokenize(text))
            return text

        backend.render = rec


def test_tui_turn_two_reuses_the_files_of_turn_one(chat_model, tmp_path):
    """Two edit requests on the same file (what the chat TUI sends per message): the second
    prompt shares the system prompt and the file with the first, and exactly that prefix
    comes from the cache."""
    (tmp_path / "calc.py").write_text(SOURCE)
    backend = HRMBackend(chat_model)
    rec = _Recorder(backend)
    coder = EditCoder(backend, tmp_path, max_repairs=0)
    coder.options.max_tokens = 4
    coder.propose(["calc.py"], "Rename f3 to add_three.")
    assert backend.engine.last.cached_tokens == 0
    coder.propose(["calc.py"], "Make f7 return x + 8.")
    first, second = rec.ids
    shared = _common(first, second)
    assert shared > 0.8 * len(second)  # the file dominates the prompt
    assert backend.engine.last.cached_tokens == shared
    assert backend.engine.last.prompt_tokens == len(second)


def test_run_plans_keep_their_cache_across_an_edit(chat_model, tmp_path):
    """`hrm run` asks the same model for a plan, an edit, then a revised plan: the revised
    plan reuses the first plan's prefix, although an edit prompt ran in between."""
    (tmp_path / "calc.py").write_text(SOURCE)
    backend = HRMBackend(chat_model)
    rec = _Recorder(backend)
    context = "calc.py:\n" + "".join(f"  def f{i}(x)\n" for i in range(40))
    make_plan(backend, "Rename f3 to add_three", context=context, max_tokens=4)
    coder = EditCoder(backend, tmp_path, max_repairs=0)
    coder.options.max_tokens = 4
    coder.propose(["calc.py"], "Rename f3 to add_three.")
    make_plan(backend, "Rename f3 to add_three", context=context, max_tokens=4,
              observations=["1. read calc.py -> ok\n" + SOURCE[:200]],
              done_so_far=["1. read calc.py"], allow_fallback=False)
    plan1, edit, plan2 = rec.ids
    assert _common(plan1, plan2) > 2 * _common(edit, plan2)  # the plans share much more
    assert backend.engine.last.cached_tokens == _common(plan1, plan2)


def test_a_single_cache_loses_the_plan_prefix(chat_model):
    """Why there are two caches: with one, the edit prompt evicts the plan's prefix."""
    eng = Engine.load(chat_model, kv_slots=1)
    plan = eng.tokenize("<|im_start|>system\nYou plan.<|im_end|>\n" + "x = 1\n" * 60)
    edit = eng.tokenize("<|im_start|>system\nYou plan.<|im_end|>\n" + "y = 2\n" * 60)
    eng.evaluate(plan)
    eng.evaluate(edit)
    eng.evaluate(plan + eng.tokenize("z"))
    small = eng.last.cached_tokens
    two = Engine.load(chat_model)
    two.evaluate(plan)
    two.evaluate(edit)
    two.evaluate(plan + two.tokenize("z"))
    assert small == _common(plan, edit) < two.last.cached_tokens == len(plan)


@pytest.mark.parametrize("kv", ["f32", "f16"])
def test_reused_prefix_gives_the_output_of_a_fresh_prefill(chat_model, kv):
    """Turn two's logits from the cached prefix equal a prefill of the whole prompt on an
    empty cache: the fused prompt path is the same whether it starts at 0 or mid-cache."""
    eng = Engine.load(chat_model, kv=kv)
    turn1 = eng.tokenize("<|im_start|>user\n" + SOURCE[:400] + "<|im_end|>\n")
    turn2 = turn1 + eng.tokenize("<|im_start|>user\nAnd f2?<|im_end|>\n<|im_start|>assistant\n")
    eng.evaluate(turn1)
    cached = eng.evaluate(turn2).logits[0, -1]
    assert eng.last.cached_tokens == len(turn1)
    fresh = KVCache(eng.cfg, dtype=eng.cache.k.dtype)
    whole = prefill(eng.model, turn2, [-1] * len(turn2), fresh).logits[0, -1]
    assert float((cached - whole).abs().max()) < 1e-3 * float(whole.abs().max())
    assert eng.cache.k.dtype == (torch.float16 if kv == "f16" else torch.float32)
