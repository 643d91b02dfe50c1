"""Every prompt hrm sends, in one place: the texts are the .md files beside this module,
and this module loads them and renders requests as model input: chat messages for chat
models, HRM-Code's own token layout (hrmcli.prompt_format) for HRM-Code, and ChatML for
retrofits, so that inference sees exactly what training saw.

The texts live in .md files so they can be read and tuned without touching code: the edit
rules and examples, the repair turn, the chat planner's system prompt, tool list and turn
layout, and the agent loop's edit tasks. A file with <<<NAME>>> lines holds several named
sections (`sections`); `render` fills a one-piece template's {fields}. Benchmark prompts
that restate another harness's wording (bench/polyglot, bench/livecodebench) stay with
their benchmark.

A message with role "file" carries one file as "path\\ncontent": HRM-Code
renders it as a <|file|> block; chat prompts inline it in the user turn. A trailing, empty
message with role "plan" asks HRM-Code for a tool plan: it travels through the Backend
interface unchanged, so every backend that renders HRM-Code prompts opens the plan turn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from hrmcli import prompt_format as pf
from hrmcli.agent.backends.base import Message

PROMPT_DIR = Path(__file__).parent
EDIT_FORMATS = ("diff", "whole")
HRM_STYLE, CHAT_STYLE = "hrm", "chat"
_SECTION_RE = re.compile(r"^<<<([A-Z_]+)>>>$", re.MULTILINE)


@cache
def load(name: str) -> str:
    """The text of prompts/<name>, as written."""
    return (PROMPT_DIR / name).read_text(encoding="utf-8")


def render(name: str, **fields: str) -> str:
    """A one-piece template with its {fields} filled (the file's final newline dropped)."""
    return load(name).rstrip("\n").format(**fields)


def section_list(name: str) -> list[tuple[str, str]]:
    """(NAME, body) for each <<<NAME>>> section of prompts/<name>, in order; bodies lose
    their surrounding newlines."""
    parts = _SECTION_RE.split(load(name))
    return [(key, body.strip("\n")) for key, body in zip(parts[1::2], parts[2::2], strict=True)]


def sections(name: str) -> dict[str, str]:
    """The <<<NAME>>> sections of prompts/<name> by name."""
    return dict(section_list(name))


def _few_shot(edit_format: str) -> list[Message]:
    """Example turns from example_<format>.md (<<<USER>>>/<<<ASSISTANT>>> sections)."""
    return [Message(role.lower(), body) for role, body in section_list(f"example_{edit_format}.md")]


def _fence_for(content: str) -> str:
    """A fence longer than any backtick run in the content, so the file cannot close it."""
    longest = run = 0
    for ch in content:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def files_text(files: Sequence[tuple[str, str]]) -> str:
    parts = []
    for path, content in files:
        fence = _fence_for(content)
        body = content if content.endswith("\n") or not content else content + "\n"
        parts.append(f"File: {path}\n{fence}\n{body}{fence}")
    return "\n\n".join(parts)


def file_message(path: str, content: str) -> Message:
    return Message("file", f"{path}\n{content}")


def edit_messages(files: Sequence[tuple[str, str]], task: str, style: str = CHAT_STYLE,
                  edit_format: str = "diff", history: Sequence[Message] = ()) -> list[Message]:
    """The opening messages of an edit request. Earlier turns of the conversation
    (`history`) come before the files, so the files are always shown as they are now."""
    if edit_format not in EDIT_FORMATS:
        raise ValueError(f"unknown edit format {edit_format!r}; use one of {EDIT_FORMATS}")
    if style == HRM_STYLE:
        return [*history, *(file_message(p, c) for p, c in files), Message("user", task)]
    rules = load("edit_rules.md" if edit_format == "diff" else "whole_rules.md")
    system = f"{load('chat_system.md').strip()}\n\n{rules.strip()}"
    user = f"{files_text(files)}\n\nTask: {task}" if files else f"Task: {task}"
    return [Message("system", system), *_few_shot(edit_format), *history, Message("user", user)]


def repair_messages(reply: str, report: str, style: str = CHAT_STYLE) -> list[Message]:
    """Turns to append after a reply whose edits failed: the reply, then the failure report
    (an observation block for HRM-Code, a user turn for chat models)."""
    feedback = load("repair.md").format(report=report.strip())
    role = "tool" if style == HRM_STYLE else "user"
    return [Message("assistant", reply), Message(role, feedback)]


PLAN_ROLE = "plan"  # a trailing, empty message of this role opens a tool plan turn

_HRM_BLOCKS = {
    "system": lambda text: f"{pf.SYSTEM}{text}{pf.END_SYSTEM}",
    "user": pf.user_block,
    "tool": pf.obs_block,
}


def plan_messages(request: str, context: str = "") -> list[Message]:
    """The HRM-Code messages for a tool plan; render_hrm turns them into exactly
    prompt_format.plan_prompt(request, context), the layout the plan data was trained on."""
    ctx = [Message("tool", context)] if context else []
    return [*ctx, Message("user", request), Message(PLAN_ROLE, "")]


def render_hrm(messages: Sequence[Message]) -> str:
    """HRM-Code prompt text for a conversation, ending with the assistant opener (followed
    by the plan opener when the last message has role "plan").

    Files followed by one user turn is exactly prompt_format.edit_prompt, and an optional
    observation, one user turn and "plan" is exactly prompt_format.plan_prompt: the layouts
    the edit and plan data were trained on. Longer conversations close each assistant turn
    with <|eos|>.
    """
    plan = bool(messages) and messages[-1].role == PLAN_ROLE
    body = list(messages[:-1] if plan else messages)
    if any(m.role == PLAN_ROLE for m in body):
        raise ValueError('a "plan" message may only come last')
    roles = [m.role for m in body]
    if plan and roles in (["user"], ["tool", "user"]):
        return pf.plan_prompt(body[-1].content, body[0].content if len(body) == 2 else "")
    files = [m for m in body if m.role == "file"]
    rest = [m for m in body if m.role != "file"]
    if not plan and len(rest) == 1 and rest[0].role == "user" and body[-1] is rest[0]:
        return pf.edit_prompt([_split_file(m) for m in files], rest[0].content)
    out = [pf.BOS]
    for m in body:
        if m.role == "file":
            out.append(pf.file_block(*_split_file(m)))
        elif m.role == "assistant":
            out.append(f"{pf.ASSISTANT}{m.content}{pf.EOS}")
        elif m.role in _HRM_BLOCKS:
            out.append(_HRM_BLOCKS[m.role](m.content))
        else:
            raise ValueError(f"HRM-Code prompts have no role {m.role!r}")
    out.append(pf.ASSISTANT + (pf.PLAN if plan else ""))
    return "".join(out)


IM_START, IM_END = "<|im_start|>", "<|im_end|>"
CHATML_ROLES = {"system": "system", "user": "user", "assistant": "assistant", "tool": "user"}
PLAN_OPENER = "Plan:\n"  # a retrofit's plan turn opens with this line; steps follow


def render_chatml(messages: Sequence[Message]) -> str:
    """ChatML prompt text for HRM-Code retrofits (pretrained chat vocabularies, prompt
    format v2): the same messages as render_hrm, laid out as the pretrained model's chat
    turns. Our short system prompt comes first, files are inlined into the next user turn
    (as for chat models), a tool observation is a user turn, and a trailing "plan" message
    opens the assistant turn with PLAN_OPENER. Training data is rendered by this function
    too (trainer.data.chat_tasks), so inference sees exactly what tuning saw."""
    plan = bool(messages) and messages[-1].role == PLAN_ROLE
    body = list(messages[:-1] if plan else messages)
    if any(m.role == PLAN_ROLE for m in body):
        raise ValueError('a "plan" message may only come last')
    turns = inline_files(body)
    if not turns or turns[0].role != "system":
        turns.insert(0, Message("system", load("hrm_system.md").strip()))
    out = []
    for m in turns:
        if m.role not in CHATML_ROLES:
            raise ValueError(f"HRM-Code prompts have no role {m.role!r}")
        out.append(f"{IM_START}{CHATML_ROLES[m.role]}\n{m.content}{IM_END}\n")
    out.append(f"{IM_START}assistant\n" + (PLAN_OPENER if plan else ""))
    return "".join(out)


def _split_file(m: Message) -> tuple[str, str]:
    path, _, content = m.content.partition("\n")
    return path, content


def inline_files(messages: Sequence[Message]) -> list[Message]:
    """Chat-model view of a conversation: "file" messages folded into the next user turn."""
    out: list[Message] = []
    pending: list[tuple[str, str]] = []
    for m in messages:
        if m.role == "file":
            pending.append(_split_file(m))
            continue
        if pending and m.role == "user":
            m = Message("user", f"{files_text(pending)}\n\n{m.content}")
            pending = []
        out.append(m)
    if pending:
        out.append(Message("user", files_text(pending)))
    return out
