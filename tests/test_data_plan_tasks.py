"""Tool plans: rendered with the prompt format, and a representative subset executed in
throwaway git repos (plans that need the network are checked by shape only)."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from hrmcli import prompt_format as pf
from trainer.data.plan_tasks import (
    BUILDERS,
    PlanFailed,
    Scenario,
    execute,
    generate,
    runnable_here,
)


def test_records_parse_back_to_their_steps() -> None:
    for sc in generate(len(BUILDERS) * 3, seed=3):
        r = sc.record()
        assert r["kind"] == "plan" and r["prompt"].endswith(pf.ASSISTANT + pf.PLAN)
        assert r["answer"].endswith(pf.END_PLAN + pf.EOS)
        assert pf.parse_plan(r["answer"].removesuffix(pf.EOS)) == sc.steps
        assert sc.steps[-1][0] == "done"


def test_generation_is_deterministic() -> None:
    a = [s.record() for s in generate(30, seed=5)]
    assert a == [s.record() for s in generate(30, seed=5)]
    assert a != [s.record() for s in generate(30, seed=6)]


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_plans_execute_in_a_sandbox(builder, tmp_path: Path) -> None:
    sc = builder(random.Random(11))
    why = runnable_here(sc)
    if why == "needs the network":
        assert sc.needs_network()
        return
    if why is not None:
        pytest.skip(why)
    results = execute(sc, tmp_path)
    assert len(results) == len(sc.steps)
    for r in results:
        if r.returncode not in (None, 0):
            assert r.index in sc.may_fail


def test_recovery_contexts_are_real_tool_output() -> None:
    scs = {s.name: s for s in generate(len(BUILDERS), seed=0)}
    assert "CONFLICT (content): Merge conflict in settings.py" in scs["recover_merge_conflict"].context
    revise = scs["recover_failed_tests"].context
    assert revise.startswith("Steps done so far:\n1. run_tests ")
    assert re.search(r"-> failed\n\d+ passed, [1-9]\d* failed", revise), revise[:600]  # a real run's counts


def test_a_wrong_plan_is_caught(tmp_path: Path) -> None:
    sc = BUILDERS[0](random.Random(1))  # feature_branch
    broken = Scenario(sc.name, sc.request, [s for s in sc.steps if s[0] != "git_commit"],
                      setup=sc.setup, writes=sc.writes, check=sc.check)
    with pytest.raises(PlanFailed):
        execute(broken, tmp_path)


@pytest.mark.skipif(shutil.which("git") is None, reason="git missing")
def test_merge_plan_without_resolution_fails(tmp_path: Path) -> None:
    sc = BUILDERS[1](random.Random(2))  # merge_with_conflict
    steps = [s for s in sc.steps if s[0] != "resolve_conflict"]
    broken = Scenario(sc.name, sc.request, steps, setup=sc.setup, may_fail=sc.may_fail, check=sc.check)
    with pytest.raises(PlanFailed):
        execute(broken, tmp_path)


def test_fixes_commit_only_when_asked_and_running_the_tests_edits_nothing() -> None:
    from trainer.data.plan_tasks import run_tests_only, test_then_fix
    from trainer.data.test_fix_tasks import TEST_ARG

    fixes = [test_then_fix(random.Random(i)) for i in range(12)]
    for sc in fixes:
        tools = [t for t, _ in sc.steps]
        assert ("git_commit" in tools) == ("commit" in sc.request)
        assert tools[:4] == ["run_tests", "read", "edit", "run_tests"]
        assert sc.steps[1] == ("read", next(iter(sc.writes[2])))  # the module with the bug
    assert {("git_commit" in [t for t, _ in sc.steps]) for sc in fixes} == {True, False}
    # the file to fix is not always the same one, so a plan cannot name it from memory
    assert len({sc.steps[1][1] for sc in fixes}) >= 5
    for i in range(6):
        sc = run_tests_only(random.Random(i))
        assert sc.steps[1:] == [("done", "")] and sc.steps[0][0] == "run_tests"
        assert sc.steps[0][1] in TEST_ARG.values()
        assert "test" in sc.request.lower()
