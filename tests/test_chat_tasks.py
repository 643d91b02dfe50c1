"""ChatML tuning data: windows of whole definitions, records rendered exactly as `hrm edit`
and `hrm run` prompt a retrofit, answers that apply to the shown file with our own engine,
and the new user-phrased task kinds."""

from __future__ import annotations

import json
import subprocess

from hrmcli.agent.apply import apply_edits
from hrmcli.agent.editblocks import parse_edits
from hrmcli.agent.planner import hrm_plan_context
from hrmcli.agent.prompts import HRM_STYLE, IM_END, edit_messages, plan_messages, render_chatml
from hrmcli.agent.transcript import Transcript
from trainer.data import chat_tasks
from trainer.data.edit_tasks import edit_tasks_for_file
from trainer.data.test_fix_tasks import TEST_ARG

PY = '''import os


def area(w, h):
    """Area of a rectangle."""
    return w * h


def perimeter(w, h):
    total = 2 * (w + h)
    return total


def describe(shape):
    name = shape.name
    return f"{name}: {area(shape.w, shape.h)}"
'''


def test_windows_are_runs_of_whole_top_level_definitions():
    big = PY * 20
    wins = chat_tasks.windows(big, "python", 400)
    assert len(wins) > 5 and all(len(w) <= 400 for w in wins)
    for w in wins:
        assert w in big and not w.startswith(" ")  # whole lines from a top-level node
    assert chat_tasks.windows(PY, "python", 4000) == [PY]


def test_records_render_like_hrm_edit_and_apply(tmp_path):
    kinds = set()
    for task in edit_tasks_for_file("geom.py", PY, "python", seed=1):
        rec = chat_tasks.render(task)
        kinds.add(task.task)
        want = render_chatml(edit_messages([("geom.py", task.before)], task.request, HRM_STYLE))
        assert rec["prompt"] == want
        assert rec["prompt"].endswith("<|im_start|>assistant\n")
        assert rec["answer"].endswith(IM_END)
        (tmp_path / "geom.py").write_text(task.before)
        parsed = parse_edits(rec["answer"].removesuffix(IM_END))
        assert not parsed.errors
        res = apply_edits(parsed.blocks, tmp_path)
        assert not res.failed and (tmp_path / "geom.py").read_text() == task.after
    assert {"rename", "remove_debug", "delete_function", "literal"} <= kinds


def test_remove_debug_and_delete_function_tasks_read_like_users():
    by_kind = {t.task: t for t in edit_tasks_for_file("geom.py", PY, "python", seed=3)}
    dbg = by_kind["remove_debug"]
    assert 'print("DEBUG' in dbg.before and 'print("DEBUG' not in dbg.after
    assert "debug" in dbg.request.lower()
    dead = by_kind["delete_function"]
    assert dead.after == PY and len(dead.before) > len(PY)
    assert any(w in dead.request.lower() for w in ("remove", "delete", "drop"))
    # the debug line stays after a docstring, never before it
    lines = dbg.before.splitlines()
    i = next(i for i, ln in enumerate(lines) if "DEBUG" in ln)
    assert '"""' not in lines[i + 1]


def test_plan_records_are_the_planners_prompt_and_parse_back():
    from hrmcli.prompt_format import parse_plan

    recs = list(chat_tasks.plan_records(12, seed=0))
    assert len(recs) == 12
    for r in recs:
        assert r["prompt"].endswith("<|im_start|>assistant\nPlan:\n")
        steps = parse_plan(r["answer"].removesuffix(IM_END))
        assert steps and steps[-1][0] == "done"
    from trainer.data.plan_tasks import generate

    for r, sc in zip(recs, generate(12, 0), strict=True):
        assert r["prompt"] == render_chatml(plan_messages(sc.request, sc.context))


def test_build_streams_records_with_token_counts(tmp_path, smollm2_gguf):
    from hrmcli.runtime.gguf_load import load_tokenizer

    src = tmp_path / "corpus"
    src.mkdir()
    (src / "geom.py").write_text(PY)
    (src / "util.js").write_text(
        "function add(a, b) {\n  return a + b;\n}\n\nfunction twice(x) {\n"
        "  const y = add(x, x);\n  return y;\n}\n\nmodule.exports = { add, twice };\n")
    out = tmp_path / "train.jsonl"
    counts = chat_tasks.build(out, [src], load_tokenizer(smollm2_gguf), seed=0, max_tokens=1024)
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == sum(counts.values()) > 4
    assert {r["lang"] for r in recs} == {"python", "javascript"}
    assert all(r["prompt_tokens"] + r["answer_tokens"] <= 1024 for r in recs)
    # The CLI writes the same file.
    cli = tmp_path / "cli.jsonl"
    subprocess.run([".venv/bin/python", "-m", "trainer.data.chat_tasks", str(cli), str(src),
                    "--tokenizer-from", str(smollm2_gguf)], check=True, capture_output=True)
    assert cli.read_text() == out.read_text()


def test_plan_records_with_the_repo_map_show_what_hrm_run_shows(tmp_path):
    """With repo_map the planner is tuned on the map `hrm run` builds for the same repo
    (AgentLoop._repo_map), then any captured tool output; no temp path leaks into it."""
    from hrmcli.agent.loop import AgentLoop
    from hrmcli.tools.permissions import Policy
    from trainer.data.plan_tasks import generate, planner_context

    scs = list(generate(13, seed=2))
    recs = list(chat_tasks.plan_records(13, seed=2, repo_map=True))
    by_name = {sc.name: (sc, r) for sc, r in zip(scs, recs, strict=True)}
    sc, rec = by_name["test_then_fix"]
    context = planner_context(sc)
    assert rec["prompt"] == render_chatml(plan_messages(sc.request, context))
    src = sc.steps[1][1]
    assert f"{src}:" in context and "/tmp" not in context
    root = tmp_path / "repo"
    root.mkdir()
    sc.setup(root)
    loop = AgentLoop(root, None, None, Policy(), map_tokens=1024)
    loop.request = sc.request
    assert loop._repo_map() == context
    # the revision after a failed run_tests: the map, then the run so far as the loop
    # records it (its first step run for real here)
    sc, rec = by_name["recover_failed_tests"]
    context = planner_context(sc)
    root = tmp_path / "revise"
    root.mkdir()
    sc.setup(root)
    loop = AgentLoop(root, None, None, Policy(), map_tokens=1024)
    loop.request = sc.request
    loop.transcript = Transcript(sc.request)
    arg = TEST_ARG["python" if sc.steps[0][1].endswith(".py") else "javascript"]
    loop._record([], loop._step(1, "run_tests", arg))
    assert loop.done_lines == [f"1. run_tests {arg} (failed)"]
    want = hrm_plan_context(loop._repo_map(), loop.observations, loop.done_lines)
    assert context.startswith(loop._repo_map() + "\n\nSteps done so far:\n")

    def head(c: str) -> str:  # up to the counts line; the tail has paths and timings
        before, after = c.split("-> failed\n", 1)
        return before + after.splitlines()[0]

    assert head(context) == head(want)
    deps = [sc for name, (sc, _) in by_name.items() if name.startswith("add_dependency_")]
    assert deps and all(planner_context(sc) for sc in deps)  # not run (network), still mapped
