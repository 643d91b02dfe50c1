"""Ask the planner backend (the H role) for a numbered tool plan, and revise it.

HRM-Code is prompted in its own format (`prompt_format.plan_prompt`) and answers with tool
tokens; chat models get a system prompt that asks for the same `N. tool argument` lines
(the texts are hrmcli/agent/prompts/plan_*.md).
Both replies go through `prompt_format.parse_plan`, so there is one plan grammar. A retrofit
HRM-Code chooses each step's tool with its plan head (hrmcli.agent.backends.hrm); the Plan
keeps those choices and their probabilities (`head_tools`). Model
output is untrusted: a reply without a single parseable step falls back to a default plan
and says so, instead of failing the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hrmcli.agent.backends.base import Backend, Completion, GenerationOptions, Message, complete
from hrmcli.agent.prompts import load, plan_messages, render, sections
from hrmcli.agent.thinking import strip_thinking
from hrmcli.prompt_format import END_PLAN, TOOLS, parse_plan

Step = tuple[str, str]

_TOOL_TOKEN_RE = re.compile(r"(<\|t:[a-z_]+\|>)(?=[^\s])")
_DECORATION_RE = re.compile(r"^(\s*(?:\d+[.)]\s*)?)[*`_]*([a-z_]+)[*`_]*:?(\s|$)")


@dataclass
class Plan:
    steps: list[Step]
    raw: str  # the planner's reply as generated
    fallback: bool = False  # True when the reply had no parseable steps
    note: str = ""
    # (tool, probability) the planner's plan head chose per step, when it has one that
    # decides tools (a retrofit HRM-Code); empty when the tools came from text alone.
    head_tools: list[tuple[str, float]] = field(default_factory=list)
    generation: Completion | None = field(default=None, repr=False)  # the planner's call

    def lines(self) -> list[str]:
        return format_steps(self.steps)


def format_steps(steps: Sequence[Step], start: int = 1) -> list[str]:
    return [f"{i}. {tool} {arg}".rstrip() for i, (tool, arg) in enumerate(steps, start)]


def is_hrm(backend: Backend) -> bool:
    """HRM-Code backends take prompts in prompt_format's token layout."""
    return getattr(backend, "prompt_style", "chat") == "hrm"


def default_plan(request: str, context_files: Sequence[str] = ()) -> list[Step]:
    """Read what is in context, edit it, and check with the tests: the safe generic plan."""
    files = " ".join(context_files)
    steps: list[Step] = [("read", files)] if files else [("list", "")]
    steps += [("edit", files), ("run_tests", ""), ("done", "")]
    return steps


def _tidy(reply: str) -> str:
    """Undo the markdown chat models wrap around tool names (`1. **read**: x`), and split a
    tool token from an argument written against it (`<|t:read|>a.py`): the token is a whole
    word, but parse_plan needs the space."""
    out = []
    for line in _TOOL_TOKEN_RE.sub(r"\1 ", strip_thinking(reply)).splitlines():
        m = _DECORATION_RE.match(line)
        if m and m.group(2) in TOOLS:
            line = f"{m.group(1)}{m.group(2)}{m.group(3)}{line[m.end():]}"
        out.append(line)
    return "\n".join(out)


def observations_text(observations: Sequence[str]) -> str:
    return "\n\n".join(observations)


def tool_usage() -> dict[str, str]:
    """What each tool's argument means, as chat planners are shown it (prompts/plan_tools.md:
    one "- " line per tool, the tool first); HRM-Code learned it in training."""
    lines = [ln for ln in load("plan_tools.md").splitlines() if ln.startswith("- ")]
    return {ln[2:].split()[0]: ln for ln in lines}


def run_history(observations: Sequence[str], done_so_far: Sequence[str]) -> str:
    """What a revising planner is told of the run so far: the steps done (`N. tool arg`,
    marked failed or skipped) and their results (loop.observation)."""
    turn = sections("plan_turn.md")
    history = ""
    if done_so_far:
        history += turn["DONE"].format(steps="\n".join(done_so_far)) + "\n\n"
    if observations:
        history += turn["RESULTS"].format(results=observations_text(observations)) + "\n\n"
    return history


def hrm_plan_context(context: str, observations: Sequence[str] = (),
                     done_so_far: Sequence[str] = ()) -> str:
    """HRM-Code's planner context: the repo map, then the run's history (the tuning data's
    revision plans are built by this too, trainer.data.plan_tasks)."""
    history = run_history(observations, done_so_far).strip()
    return "\n\n".join(p for p in (context, history) if p)


def _messages(backend: Backend, request: str, context: str,
              observations: Sequence[str], done_so_far: Sequence[str]) -> list[Message]:
    turn = sections("plan_turn.md")
    if is_hrm(backend):
        return plan_messages(request, hrm_plan_context(context, observations, done_so_far))
    history = run_history(observations, done_so_far)
    usage = tool_usage()
    system = render("plan_system.md", tools="\n".join(usage[t] for t in TOOLS))
    user = turn["MAP"].format(map=context) + "\n\n" if context else ""
    user += history + turn["REQUEST"].format(request=request) + "\n\n"
    user += turn["REVISE" if done_so_far else "FIRST"]
    return [Message("system", system), Message("user", user)]


def make_plan(backend: Backend, request: str, *, context: str = "",
              observations: Sequence[str] = (), done_so_far: Sequence[str] = (),
              context_files: Sequence[str] = (), on_text: Callable[[str], None] | None = None,
              max_tokens: int = 512, allow_fallback: bool = True,
              paths: dict[str, Sequence[str]] | None = None) -> Plan:
    """A plan for `request` (or, with observations, for what remains of it). `paths`: tool
    -> the files its argument may name, where the backend can hold it to them."""
    opts = GenerationOptions(max_tokens=max_tokens, temperature=0.0, stop=[END_PLAN],
                             plan_paths={t: tuple(ps) for t, ps in (paths or {}).items()})
    done = complete(backend, _messages(backend, request, context, observations, done_so_far),
                    opts, on_text)
    reply, head = done.text, list(done.plan_head)
    steps = parse_plan(_tidy(reply))
    if steps:
        return Plan(steps, reply, head_tools=head, generation=done)
    if not allow_fallback:
        return Plan([], reply, note="the planner's reply held no numbered tool steps",
                    head_tools=head, generation=done)
    return Plan(default_plan(request, context_files), reply, fallback=True,
                note="the planner's reply held no numbered tool steps; using the default plan",
                head_tools=head, generation=done)
