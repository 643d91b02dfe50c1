"""Ask the planner backend (the H role) for a numbered tool plan, and revise it.

HRM-Code is prompted in its own format (`prompt_format.plan_prompt`) and answers with tool
tokens; chat models get a system prompt that asks for the same `N. tool argument` lines.
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

from hrmcli.agent.backends.base import Backend, GenerationOptions, Message, complete
from hrmcli.agent.prompts import plan_messages
from hrmcli.agent.thinking import strip_thinking
from hrmcli.prompt_format import END_PLAN, TOOLS, parse_plan

Step = tuple[str, str]

# What each tool's argument means, shown to chat models (HRM-Code learned it in training).
TOOL_USAGE: dict[str, str] = {
    "read": "read PATH [PATH ...]  (show files; they join the edit context)",
    "search": "search REGEX  (grep the repository)",
    "list": "list [GLOB]  (list repository files)",
    "edit": "edit PATH [PATH ...]  (write SEARCH/REPLACE edits to these files)",
    "run_tests": "run_tests  (run the project's test suite)",
    "shell": "shell COMMAND  (run a shell command)",
    "git_status": "git_status", "git_diff": "git_diff", "git_log": "git_log",
    "git_add": "git_add PATH [PATH ...]", "git_commit": "git_commit MESSAGE",
    "git_branch": "git_branch NAME  (create and switch to a branch)",
    "git_switch": "git_switch NAME", "git_merge": "git_merge BRANCH", "git_stash": "git_stash",
    "resolve_conflict": "resolve_conflict [PATH ...]  (edit away merge conflict markers)",
    "pip": "pip ARGS", "npm": "npm ARGS", "cargo": "cargo ARGS", "go": "go ARGS",
    "maven": "maven ARGS", "gradle": "gradle ARGS", "make": "make [TARGET]",
    "cmake": "cmake ARGS",
    "done": "done  (the request is complete)",
}

CHAT_PLANNER_SYSTEM = """You plan how a coding agent carries out a request in a repository.
Reply with a numbered list of tool steps and nothing else, one step per line, exactly:

N. tool argument

Tools:
{tools}

Prefer reading a file before editing it, run the tests after editing, and end the plan
with `done` once the request will be complete."""

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


def _messages(backend: Backend, request: str, context: str,
              observations: Sequence[str], done_so_far: Sequence[str]) -> list[Message]:
    history = ""
    if done_so_far:
        history += "Steps done so far:\n" + "\n".join(done_so_far) + "\n\n"
    if observations:
        history += "Results:\n" + observations_text(observations) + "\n\n"
    if is_hrm(backend):
        return plan_messages(request, "\n\n".join(p for p in (context, history.strip()) if p))
    tools = "\n".join(f"- {TOOL_USAGE[t]}" for t in TOOLS)
    user = ""
    if context:
        user += f"Repository map:\n{context}\n\n"
    user += history
    user += f"Request: {request}\n\n"
    user += ("Plan the remaining steps." if done_so_far else "Plan the steps.")
    return [Message("system", CHAT_PLANNER_SYSTEM.format(tools=tools)), Message("user", user)]


def make_plan(backend: Backend, request: str, *, context: str = "",
              observations: Sequence[str] = (), done_so_far: Sequence[str] = (),
              context_files: Sequence[str] = (), on_text: Callable[[str], None] | None = None,
              max_tokens: int = 512, allow_fallback: bool = True) -> Plan:
    """A plan for `request` (or, with observations, for what remains of it)."""
    opts = GenerationOptions(max_tokens=max_tokens, temperature=0.0, stop=[END_PLAN])
    reply = complete(backend, _messages(backend, request, context, observations, done_so_far),
                     opts, on_text).text
    head = list(getattr(backend, "last_plan_head", None) or [])
    steps = parse_plan(_tidy(reply))
    if steps:
        return Plan(steps, reply, head_tools=head)
    if not allow_fallback:
        return Plan([], reply, note="the planner's reply held no numbered tool steps",
                    head_tools=head)
    return Plan(default_plan(request, context_files), reply, fallback=True,
                note="the planner's reply held no numbered tool steps; using the default plan",
                head_tools=head)
