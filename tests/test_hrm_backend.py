"""HRMBackend on a real tiny HRM-Code GGUF (random weights, converter-made): plan prompts are
exactly prompt_format.plan_prompt, tool tokens survive decoding into parse_plan, and the halt
head reading matches the torch model at the end of the generated turn."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import torch

from bench.speed import code_corpus, random_checkpoint
from converters.gguf_export import export_hrm
from hrmcli import prompt_format as pf
from hrmcli.agent.backends import BackendError
from hrmcli.agent.backends.base import Generation, GenerationOptions, Message
from hrmcli.agent.backends.hrm import HRMBackend
from hrmcli.agent.planner import make_plan
from hrmcli.agent.prompts import edit_messages, plan_messages, render_hrm
from hrmcli.runtime.model import HRMCode, HRMConfig, block_ids
from trainer.tokenizer import Tokenizer

CFG = HRMConfig(d_model=64, n_heads=2, n_kv_heads=1, h_layers=1, l_layers=1, max_seq_len=512)
REQUEST = "rename total to sum_all in calc.py"
CONTEXT = "calc.py:\n  def total(xs)"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    tok = Tokenizer.train(code_corpus(60_000), 400)
    ck = random_checkpoint(CFG, tok.to_gguf_fields(), seed=11)
    path = tmp_path_factory.mktemp("hrm") / "tiny.gguf"
    export_hrm(ck, path, "f32")
    return tok, ck, path


def _torch_model(ck) -> HRMCode:
    ref = HRMCode(ck.cfg).eval()
    ref.load_state_dict(ck.state)
    return ref


def _blocks(tok: Tokenizer, ids: list[int]) -> list[int]:
    return block_ids(ids, {tok.special_ids[t] for t in pf.BLOCK_OPENERS},
                     tok.special_ids[pf.CAUSAL_OPENER])


def test_render_hrm_plan_is_plan_prompt() -> None:
    assert render_hrm(plan_messages(REQUEST, CONTEXT)) == pf.plan_prompt(REQUEST, CONTEXT)
    assert render_hrm(plan_messages(REQUEST)) == pf.plan_prompt(REQUEST)
    assert render_hrm(plan_messages(REQUEST)).endswith(pf.ASSISTANT + pf.PLAN)
    # a plan after a longer conversation still opens with the plan token
    convo = [*edit_messages([("a.py", "x = 1\n")], "t", style="hrm"), Message("assistant", "r"),
             Message("tool", "failed"), Message("plan", "")]
    assert render_hrm(convo).endswith(f"{pf.obs_block('failed')}{pf.ASSISTANT}{pf.PLAN}")
    with pytest.raises(ValueError, match="only come last"):
        render_hrm([Message("plan", ""), Message("user", REQUEST)])


def test_planner_feeds_the_engine_plan_prompt_ids(model) -> None:
    tok, _, path = model
    backend = HRMBackend(path)
    shown: list[str] = []
    plan = make_plan(backend, REQUEST, context=CONTEXT, context_files=["calc.py"],
                     on_text=shown.append, max_tokens=12)
    eng = backend.engine
    want = tok.encode(pf.plan_prompt(REQUEST, CONTEXT))
    assert eng.last.prompt_tokens == len(want) == plan.generation.prompt_tokens
    assert eng.turn[:len(want)] == want
    assert plan.raw == "".join(shown)
    # random weights write no parseable plan: the planner says so and uses the default plan
    assert plan.fallback and "default plan" in plan.note
    assert plan.steps == [("read", "calc.py"), ("edit", "calc.py"), ("run_tests", ""), ("done", "")]

    # a revised plan carries the results in the observation block, still plan_prompt's layout
    make_plan(backend, REQUEST, context=CONTEXT, observations=["1. run_tests -> failed"],
              done_so_far=["1. run_tests (failed)"], max_tokens=4, allow_fallback=False)
    ctx = f"{CONTEXT}\n\nSteps done so far:\n1. run_tests (failed)\n\nResults:\n1. run_tests -> failed"
    want = tok.encode(pf.plan_prompt(REQUEST, ctx))
    assert eng.turn[:len(want)] == want and eng.last.prompt_tokens == len(want)


def test_halt_prob_matches_torch_at_the_end_of_the_turn(model) -> None:
    tok, ck, path = model
    backend = HRMBackend(path)
    with pytest.raises(BackendError, match="not finished a generation"):
        backend.halt_prob()
    plan = make_plan(backend, REQUEST, context=CONTEXT, max_tokens=10)
    got = backend.halt_prob()
    assert isinstance(got, float) and 0.0 <= got <= 1.0
    assert backend.halt_prob() == got  # read once per generation

    # the torch model, greedy from the same prompt for as many tokens as the backend sampled
    ref = _torch_model(ck)
    ids = tok.encode(pf.plan_prompt(REQUEST, CONTEXT))
    n_prompt = len(ids)
    with torch.no_grad():
        for _ in range(plan.generation.completion_tokens):
            out = ref(torch.tensor([ids]), torch.tensor([_blocks(tok, ids)]))
            ids.append(int(out.logits[0, -1].argmax()))
        out = ref(torch.tensor([ids]), torch.tensor([_blocks(tok, ids)]))
    assert ids[n_prompt:] == backend.engine.turn[n_prompt:]
    want = float(torch.sigmoid(out.halt_logits[0, -1]))
    assert abs(got - want) < 1e-4
    # reading the head leaves the stats of the generation alone
    assert backend.engine.last.completion_tokens == plan.generation.completion_tokens


class ForcedHRM(HRMBackend):
    """The real backend and engine, with the sampler forced to write `script` (then EOS):
    random weights cannot write a plan, and this checks everything after sampling."""

    def __init__(self, path, script: str) -> None:
        super().__init__(path)
        self.want = self.engine.tokenize(script) + [self.engine.tokenizer.eos_id]

    def stream(self, messages: Sequence[Message], opts: GenerationOptions) -> Generation:
        def force(done: Sequence[int], logits):
            out = torch.full_like(logits, -1e9)
            out[self.want[min(len(done), len(self.want) - 1)]] = 0
            return out

        opts.logits_processor = force
        return super().stream(messages, opts)


def test_tool_tokens_survive_decoding_into_the_plan(model) -> None:
    _, _, path = model
    steps = [("git_branch", "feature/sum"), ("read", "calc.py"), ("edit", "calc.py"),
             ("run_tests", ""), ("done", "")]
    script = pf.render_plan(steps)
    assert pf.tool_token("git_branch") in script and script.endswith(pf.END_PLAN)
    backend = ForcedHRM(path, script)
    plan = make_plan(backend, REQUEST, context=CONTEXT)
    assert not plan.fallback and plan.note == ""
    assert plan.steps == steps
    # the raw reply is the plan text with its tool tokens, cut at the <|/plan|> stop
    assert plan.raw == script[:-len(pf.END_PLAN)]
    assert plan.generation.finish_reason == "stop"
    assert 0.0 <= backend.halt_prob() <= 1.0

    # an argument written against its tool token still parses
    backend = ForcedHRM(path, f"1. {pf.tool_token('read')}calc.py\n{pf.END_PLAN}")
    assert make_plan(backend, REQUEST).steps == [("read", "calc.py")]
