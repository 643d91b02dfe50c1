"""Prompts live in one place (hrmcli/agent/prompts/: .md texts and their loader), and moving
them there changed no byte the models see."""

from __future__ import annotations

from pathlib import Path

import hrmcli.agent.prompts as prompts
from hrmcli.agent.backends.base import Message
from hrmcli.agent.loop import AgentLoop
from hrmcli.agent.planner import _messages, tool_usage
from hrmcli.prompt_format import TOOLS
from hrmcli.tools.permissions import Policy


class _ChatBackend:
    """Only what the planner reads to pick the chat layout; no model is called."""

    prompt_style = "chat"


def test_the_loader_is_the_package_of_the_texts() -> None:
    module = Path(prompts.__file__)
    assert module.name == "__init__.py" and module.parent == prompts.PROMPT_DIR
    assert not (module.parent.parent / "prompts.py").exists()
    texts = {p.name for p in prompts.PROMPT_DIR.iterdir() if p.suffix == ".md"}
    assert {"chat_system.md", "edit_rules.md", "hrm_system.md", "plan_system.md",
            "plan_tools.md", "plan_turn.md", "edit_retry.md", "resolve_conflicts.md"} <= texts


def test_every_tool_has_one_usage_line() -> None:
    usage = tool_usage()
    assert set(usage) == set(TOOLS)
    assert usage["git_branch"] == "- git_branch NAME  (create and switch to a branch)"


def test_chat_plan_prompt_is_unchanged_by_the_move() -> None:
    msgs = _messages(_ChatBackend(), "fix add", "calc.py:\n  def add", ["1. run_tests -> failed"],
                     ["1. run_tests (failed)"])
    system, user = msgs
    assert system.role == "system" and system.content.startswith(
        "You plan how a coding agent carries out a request in a repository.\n"
        "Reply with a numbered list of tool steps and nothing else, one step per line, exactly:"
        "\n\nN. tool argument\n\nTools:\n- read PATH [PATH ...]  (show files; they join the "
        "edit context)\n- search REGEX  (grep the repository)\n")
    assert system.content.endswith(
        "- done  (the request is complete)\n\nPrefer reading a file before editing it, run the "
        "tests after editing, and end the plan\nwith `done` once the request will be complete.")
    assert user == Message("user", "Repository map:\ncalc.py:\n  def add\n\n"
                                   "Steps done so far:\n1. run_tests (failed)\n\n"
                                   "Results:\n1. run_tests -> failed\n\n"
                                   "Request: fix add\n\nPlan the remaining steps.")
    first = _messages(_ChatBackend(), "fix {add}", "", [], [])[1]
    assert first.content == "Request: fix {add}\n\nPlan the steps."


def test_loop_edit_tasks_come_from_the_templates(tmp_path: Path) -> None:
    loop = AgentLoop(tmp_path, _ChatBackend(), _ChatBackend(), Policy())  # type: ignore[arg-type]
    loop.request = "make {x} work"
    assert loop._edit_task() == "make {x} work"
    loop.observations = ["1. edit a.py -> ok", "2. run_tests -> failed\n1 failed"]
    assert loop._edit_task() == "make {x} work\n\nLatest result:\n2. run_tests -> failed\n1 failed"
    assert prompts.render("resolve_conflicts.md", request="r", files="a.py, b.py") == (
        "r\n\nResolve the merge conflicts in a.py, b.py: remove every <<<<<<<, ======= and "
        ">>>>>>> marker, keeping the intent of both sides. Each SEARCH quotes a whole conflict "
        "region, from its <<<<<<< line to its >>>>>>> line.")


def test_sections_keep_order_and_drop_surrounding_newlines() -> None:
    assert [k for k, _ in prompts.section_list("example_diff.md")] == ["USER", "ASSISTANT"]
    turn = prompts.sections("plan_turn.md")
    assert turn["DONE"] == "Steps done so far:\n{steps}" and turn["FIRST"] == "Plan the steps."
