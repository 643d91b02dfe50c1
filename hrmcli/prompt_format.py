"""HRM-Code's prompt format: special tokens, the tool vocabulary and how turns are laid out.

This is the one contract shared by the data generators (training), the GGUF converter
(tokenizer metadata), the runtime (decoding) and the agent (prompting). Change it only by
bumping PROMPT_FORMAT_VERSION: the version is stored in every GGUF file we write.

Layout of one example (all markers are single tokens):

    <|bos|><|file|>src/app.py
    ...file content...<|/file|><|user|>rename foo to bar<|/user|><|assistant|>src/app.py
    <<<<<<< SEARCH
    ...
    =======
    ...
    >>>>>>> REPLACE
    <|eos|>

Tool plans are numbered lines whose first token is a tool token:

    <|assistant|><|plan|>1. <|t:git_branch|> feature/x
    2. <|t:edit|> src/app.py
    3. <|t:run_tests|>
    <|/plan|><|eos|>

Prefix blocks (<|file|>, <|user|>, <|obs|>, <|system|>) are attended bidirectionally within
themselves; assistant tokens are strictly causal (see hrmcli.runtime.model.block_ids).
"""

from __future__ import annotations

from collections.abc import Iterable

PROMPT_FORMAT_VERSION = 1
# Retrofits of pretrained chat models keep their own vocabulary and speak ChatML
# (hrmcli.agent.prompts.render_chatml); their GGUF files carry this version instead.
CHATML_FORMAT_VERSION = 2
SUPPORTED_FORMATS = (PROMPT_FORMAT_VERSION, CHATML_FORMAT_VERSION)

BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
SYSTEM, USER, ASSISTANT, OBS = "<|system|>", "<|user|>", "<|assistant|>", "<|obs|>"
END_SYSTEM, END_USER, END_OBS = "<|/system|>", "<|/user|>", "<|/obs|>"
FILE, END_FILE = "<|file|>", "<|/file|>"
PLAN, END_PLAN = "<|plan|>", "<|/plan|>"
DONE = "<|done|>"

# Edit markers are ordinary text for every other model; HRM-Code gets them as single tokens.
SEARCH_MARK, DIVIDER_MARK, REPLACE_MARK = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"

# The plan head on z_H classifies over this list. Order is part of the format version.
TOOLS: tuple[str, ...] = (
    "read", "search", "list", "edit", "run_tests", "shell",
    "git_status", "git_diff", "git_add", "git_commit", "git_branch", "git_switch",
    "git_merge", "git_stash", "git_log", "resolve_conflict",
    "pip", "npm", "cargo", "go", "maven", "gradle", "make", "cmake",
    "done",
)


def tool_token(name: str) -> str:
    if name not in TOOLS:
        raise KeyError(f"unknown tool {name!r}; known: {', '.join(TOOLS)}")
    return f"<|t:{name}|>"


TOOL_TOKENS: tuple[str, ...] = tuple(tool_token(t) for t in TOOLS)

# Control tokens: never produced by byte-level merges, stripped from shown text.
CONTROL_TOKENS: tuple[str, ...] = (
    PAD, BOS, EOS, SYSTEM, END_SYSTEM, USER, END_USER, ASSISTANT, OBS, END_OBS,
    FILE, END_FILE, PLAN, END_PLAN, DONE,
) + TOOL_TOKENS
# Tokens that are whole words of the edit format: kept in decoded text.
TEXT_TOKENS: tuple[str, ...] = (SEARCH_MARK, DIVIDER_MARK, REPLACE_MARK)
SPECIAL_TOKENS: tuple[str, ...] = CONTROL_TOKENS + TEXT_TOKENS

# Tokens that open a bidirectional prefix block, and the one that opens causal generation.
BLOCK_OPENERS: tuple[str, ...] = (BOS, SYSTEM, USER, OBS, FILE)
CAUSAL_OPENER = ASSISTANT


def file_block(path: str, content: str) -> str:
    return f"{FILE}{path}\n{content}{END_FILE}"


def user_block(text: str) -> str:
    return f"{USER}{text}{END_USER}"


def obs_block(text: str) -> str:
    return f"{OBS}{text}{END_OBS}"


def edit_prompt(files: Iterable[tuple[str, str]], task: str) -> str:
    """The prompt for an edit: the files, the task, then the assistant opener."""
    body = "".join(file_block(p, c) for p, c in files)
    return f"{BOS}{body}{user_block(task)}{ASSISTANT}"


def plan_prompt(request: str, context: str = "") -> str:
    """The prompt for a tool plan: optional repo context (e.g. a repo map), the request."""
    ctx = obs_block(context) if context else ""
    return f"{BOS}{ctx}{user_block(request)}{ASSISTANT}{PLAN}"


def render_plan(steps: Iterable[tuple[str, str]]) -> str:
    """Plan text for [(tool, argument)], closed with END_PLAN."""
    lines = []
    for i, (tool, arg) in enumerate(steps, 1):
        lines.append(f"{i}. {tool_token(tool)} {arg}".rstrip())
    return "\n".join(lines) + "\n" + END_PLAN


def parse_plan(text: str) -> list[tuple[str, str]]:
    """Inverse of render_plan; tolerant of missing numbers and of plain tool names."""
    steps: list[tuple[str, str]] = []
    for line in text.replace(END_PLAN, "").splitlines():
        line = line.strip()
        if not line:
            continue
        head, _, rest = line.partition(" ")
        if head.rstrip(".").isdigit():
            line = rest.strip()
        for t in TOOLS:
            for form in (tool_token(t), t):
                if line == form or line.startswith(form + " "):
                    steps.append((t, line[len(form):].strip()))
                    break
            else:
                continue
            break
    return steps
