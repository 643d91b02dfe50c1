"""`hrm run` uses HRM-Code's heads: the plan head of a retrofit picks each step's tool, and
the halt head ends the loop once the plan has run out (never earlier).

Real files and runtime throughout: a tiny random llama with SmolLM2's real vocabulary
(tests/chat_models), retrofitted, tuned a few steps with trainer.tune on plan records,
exported with converters.gguf_export.export_hrm, run by HRMBackend in real git repos.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from converters.gguf_export import export_hrm, load_checkpoint
from hrmcli.agent.backends.hrm import HRMBackend
from hrmcli.agent.loop import AgentLoop
from hrmcli.agent.planner import make_plan
from hrmcli.agent.repomap import RepoMap, identifiers_in
from hrmcli.prompt_format import TOOLS
from hrmcli.runtime.model import HRMCode
from hrmcli.tools.permissions import Policy
from tests.chat_models import (
    PLANS,
    TEST_REQUESTS,
    TEST_STEPS,
    edit_record,
    plan_record,
    retrofit_checkpoint,
    tiny_chat_llama,
    write_records,
)
from tests.cli_helpers import hrm, init_repo
from trainer.tune import TuneArgs, tune

TESTS = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "test_calc.py": ("from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
                     "def test_add_zero():\n    assert add(0, 4) == 4\n"),
}


@pytest.fixture(scope="module")
def tuned(smollm2_gguf, tmp_path_factory):
    """A tiny retrofit tuned on plan records (the plan head learns `N.` -> tool), exported as
    GGUF three times: as tuned, and with the halt head set by hand to say done (+5) or not
    (-5) everywhere (weights zeroed, so the reading is exactly sigmoid(bias))."""
    shared = tmp_path_factory.getbasetemp() / "chat-models"
    shared.mkdir(exist_ok=True)
    d = tmp_path_factory.mktemp("planhead")
    init = retrofit_checkpoint(tiny_chat_llama(smollm2_gguf, shared / "tiny.gguf"), d / "init.pt")
    # "run the tests" records with the context `hrm run` gives its planner in a repo like
    # the tests' (the repo map), so the head learns on the prompts it will see
    repo = init_repo(d / "maprepo", TESTS)
    repo_map = RepoMap(repo, cache_dir=d / "cache")
    runs = [plan_record(r, TEST_STEPS, repo_map.render([], identifiers_in(r), 1024))
            for r in TEST_REQUESTS]
    data = write_records(d / "plans.jsonl", (PLANS + runs) * 2 + [edit_record()])
    tune(TuneArgs(init=str(init), data=str(data), out=str(d / "run"), steps=60, accum=2,
                  lr=1e-2, warmup=1, min_lr_frac=1.0, train_layers=2, max_tokens=512,
                  bf16=False, threads=1, save_minutes=100.0, plan_weight=3.0, halt_weight=1.0))
    ck = load_checkpoint(d / "run" / "checkpoint.pt")
    out = {"tuned": d / "tuned.gguf"}
    export_hrm(ck, out["tuned"], "f32")
    for name, bias in (("done", 5.0), ("not_done", -5.0)):
        ck.state["halt_head.weight"] = torch.zeros_like(ck.state["halt_head.weight"])
        ck.state["halt_head.bias"] = torch.full_like(ck.state["halt_head.bias"], bias)
        out[name] = d / f"{name}.gguf"
        export_hrm(ck, out[name], "f32")
    out["checkpoint"] = ck
    out["context"] = repo_map.render([], identifiers_in("run the tests"), 1024)
    return out


def test_the_plan_head_chooses_each_tool_at_the_step_number(tuned):
    backend = HRMBackend(tuned["tuned"])
    plan = make_plan(backend, "run the tests", context=tuned["context"], max_tokens=96)
    tools = [t for t, _ in plan.head_tools]
    # every parsed step is the head's choice (a step cut by the token limit may not parse)
    assert tools and [t for t, _ in plan.steps] == tools[:len(plan.steps)]
    assert len(tools) - len(plan.steps) in (0, 1)
    assert all(0.0 < p <= 1.0 for _, p in plan.head_tools)
    assert "run_tests" in tools, plan.raw
    # The head was read where tuning labels it: the position of each `N.`. The torch model
    # on the same tokens gives the same argmax there.
    eng = backend.engine
    ids = eng.turn
    model = HRMCode(tuned["checkpoint"].cfg).eval()
    model.load_state_dict(tuned["checkpoint"].state)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).plan_logits[0]
    n_prompt = plan.generation.prompt_tokens
    text = ""
    marks = []
    for i in range(n_prompt, len(ids)):
        text = eng.detokenize(ids[n_prompt:i + 1])
        if re.search(r"(?:^|\n)\d+\.$", text):
            marks.append(i)
    assert len(marks) - len(tools) in (0, 1)  # the limit may fall right after a last `N.`
    assert [TOOLS[int(logits[i].argmax())] for i in marks[:len(tools)]] == tools


def _loop(repo: Path, model: Path, max_steps: int = 4):
    backend = HRMBackend(model)
    loop = AgentLoop(repo, backend, backend, Policy(assume_yes=True), max_steps=max_steps)
    return loop.run("run the tests")


def test_the_halt_head_ends_the_run_only_when_the_plan_has_run_out(tuned, tmp_path):
    repo = init_repo(tmp_path / "done", TESTS)
    res = _loop(repo, tuned["done"])
    ran = [s.tool for s in res.steps]
    assert res.reason == "the halt head signalled done" and res.done
    # a head that always says done still let every planned step before the end run
    planned = [line.split(" ")[1] for line in res.plan]
    assert ran == [t for t in planned if t != "done"], (res.plan, ran)
    assert "run_tests" in ran and res.tests is not None and res.tests.passed == 2

    repo = init_repo(tmp_path / "not_done", TESTS)
    res = _loop(repo, tuned["not_done"])
    assert res.reason != "the halt head signalled done"
    assert "run_tests" in [s.tool for s in res.steps]


def test_hrm_run_plans_the_tests_with_the_plan_head_and_reports_them(tuned, tmp_path):
    repo = init_repo(tmp_path / "repo", TESTS)
    r = hrm(repo, tmp_path / "home", "run", "run the tests", "--model", str(tuned["tuned"]),
            "--yes", "--max-steps", "3", "--json", timeout=600)
    shown = r.stderr  # with --json the human output goes to stderr
    plan = shown.split("plan:", 1)[1].split("> step", 1)[0]
    assert re.search(r"\d+\. run_tests", plan) and "plan head: " in plan, shown
    assert "2 passed, 0 failed" in shown, shown
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert any(line.split(" ")[1] == "run_tests" for line in result["plan"])
    assert result["tests"] == {"passed": 2, "failed": 0}


def test_path_arguments_name_only_the_files_given(tuned):
    """With files per tool, a step's argument is chosen among them token by token
    (PlanHeadSteps; the loop gives `read` and `edit` the repo's files), so the model cannot
    name a file the repo lacks. Here every tool is held to two files the model never saw,
    whichever tools the head picks."""
    backend = HRMBackend(tuned["tuned"])
    files = ["docs/notes.txt", "src/shop.py"]
    paths = {t: files for t in TOOLS if t != "done"}
    ask = ("Rename total to sum_all in calc.py.", "calc.py:\n  def total(xs)")  # as tuned
    plan = make_plan(backend, ask[0], context=ask[1], max_tokens=96, paths=paths)
    named = [a for t, a in plan.steps if t != "done"]
    assert named and all(a in files for a in named[:-1]), plan.raw
    assert any(f.startswith(named[-1]) for f in files)  # the token limit may cut the last
    free = make_plan(backend, ask[0], context=ask[1], max_tokens=96)
    assert any(a not in files for t, a in free.steps if t != "done"), free.raw


def test_the_loop_holds_edits_off_test_files_unless_the_request_names_them(tmp_path):
    from hrmcli.agent.loop import is_test_file

    assert [is_test_file(f) for f in ("test_calc.py", "calc.py", "pkg/tests/util.py",
                                      "x_test.go", "a.test.js", "ShopTest.java", "latest.py")] \
        == [True, False, True, True, True, True, False]
    repo = init_repo(tmp_path / "repo", TESTS)
    loop = AgentLoop(repo, None, None, Policy())
    loop.request = "make the failing test pass"
    assert loop._files() == {"read": ["calc.py", "test_calc.py"], "edit": ["calc.py"]}
    loop.request = "fix the assertion in test_calc.py"
    assert loop._files()["edit"] == ["calc.py", "test_calc.py"]
