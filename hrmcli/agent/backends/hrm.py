"""HRM-Code GGUF files through our own runtime (hrmcli.runtime.engine).

Prompts are rendered in HRM-Code's training layout (hrmcli.agent.prompts.render_hrm), so
the model sees files as <|file|> blocks and the task as a <|user|> block exactly as in
its training data; a plan request (a trailing "plan" message) ends with <|assistant|><|plan|>
like prompt_format.plan_prompt. The runtime keeps control tokens in the streamed text, so a
plan arrives as `N. <|t:tool|> argument` lines that prompt_format.parse_plan reads.

A retrofit (a pretrained chat vocabulary, ChatML) plans with its plan head, as HRM-Code is
designed to: in a plan turn (a trailing "plan" message) each line starts with the step
number, the plan head (on z_H, where tuning trains it: the position after `N.`) picks the
tool, and its spelling ` tool` is forced; the language model writes only the argument
(PlanHeadSteps). The call's Completion.plan_head tells which tools the head chose and how
sure it was.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Generator, Sequence
from pathlib import Path

import torch

from hrmcli.agent.backends import BackendError, ContextExceeded
from hrmcli.agent.backends.base import Completion, Generation, GenerationOptions, Message
from hrmcli.agent.prompts import HRM_STYLE, IM_END, PLAN_ROLE, render_chatml, render_hrm
from hrmcli.prompt_format import TOOLS

# One generation at a time per process: an Engine keeps its KV cache and prompt-prefix state
# between calls, and ggml's compute is not safe to enter from two threads at once (the
# benchmarks run exercises on threads and share one backend).
_GENERATE = threading.Lock()


_STEP_START = re.compile(r"(?:^|\n)\d+\.$")
MAX_PLAN_STEPS = 16  # a plan longer than this is cut: the loop revises it as it runs


class PlanHeadSteps:
    """Logits processor for a retrofit's plan turn: numbered lines whose tool is the plan
    head's argmax.

    A line starts with the next step number `N.`; right after it the plan head is read at
    that position (the one tuning labels, trainer.tune) and the tokens of ` tool` are forced
    one by one; the argument is the language model's own until the newline, except that it
    must start with a space or be empty (a token glued to the tool, `read_tests`, would make
    another word of it: `sep_ok` marks the tokens that may come first). Given files per
    tool (`paths`: the loop gives `read` and `edit`), that tool's argument is one of them:
    the model's logits choose among the tokens that continue some ` path` + newline, so a
    plan cannot name a file the repo does not have (a small model's memory of its training
    repos). The plan ends
    when the head chooses `done` (the turn then closes as plan records do:
    `done\n<|im_end|>`), after MAX_PLAN_STEPS steps, or at the token limit. Model output
    stays untrusted: the lines are parsed again by prompt_format.parse_plan like any plan.
    """

    def __init__(self, engine, sep_ok: torch.Tensor, inner=None,
                 paths: dict[str, Sequence[str]] | None = None) -> None:
        self.engine = engine
        self.sep_ok = sep_ok
        self.tok = engine.tokenizer
        self.inner = inner
        self.stops = sorted(self.tok.stop_ids)
        end = self.tok.token_to_id(IM_END)
        self.end = [end] if end is not None else self.stops[:1]
        self.spell = {t: self.tok.encode(" " + t) for t in TOOLS}
        self.steps: list[tuple[str, float]] = []  # (tool, plan-head probability) per step
        self.forced: list[int] = []
        self._sep = False  # the next token follows a tool's spelling
        self._number: list[int] = []  # the rest of `N.` once its first token was sampled
        # tool -> ` path` + newline as tokens, per file that tool's argument may name (each
        # file encoded once: `edit`'s files are some of `read`'s)
        paths = {t: ps for t, ps in (paths or {}).items() if ps}
        spelled = {f: self.tok.encode(f" {f}\n") for ps in paths.values() for f in ps}
        self.paths = {t: [spelled[f] for f in ps] for t, ps in paths.items()}
        self._choices: list[list[int]] = []
        self._path_at: int | None = None  # where the path argument starts in ids, once known

    def _only(self, logits: torch.Tensor, allowed: Sequence[int]) -> torch.Tensor:
        out = torch.full_like(logits, float("-inf"))
        idx = torch.tensor(list(allowed), dtype=torch.long)
        out[idx] = logits[idx]
        return out

    def __call__(self, ids: Sequence[int], logits: torch.Tensor) -> torch.Tensor:
        if self._number:
            first, rest = self._number[0], self._number[1:]
            self._number = []
            if ids and ids[-1] == first:
                self.forced = rest
        if self.forced:
            return self._only(logits, [self.forced.pop(0)])
        if self._choices:
            if self._path_at is None:  # the tool's spelling is done: the path starts here
                self._path_at = len(ids)
            path = list(ids[self._path_at:])
            n = len(path)
            allowed = {p[n] for p in self._choices if len(p) > n and p[:n] == path}
            if allowed:
                return self._only(logits, sorted(allowed))
            self._choices, self._path_at = [], None  # the newline is written: the line is done
        if self._sep:
            self._sep = False
            return logits.masked_fill(~self.sep_ok, float("-inf"))
        text = self.tok.decode(list(ids))
        if _STEP_START.search(text):
            probs = torch.softmax(self.engine.plan_logits.float(), -1)
            k = int(probs.argmax())
            self.steps.append((TOOLS[k], float(probs[k])))
            self.forced = list(self.spell[TOOLS[k]])
            if TOOLS[k] == "done":
                self.forced += self.tok.encode("\n") + self.end
            elif TOOLS[k] in self.paths:
                self._choices = self.paths[TOOLS[k]]  # the path follows the spelling
            else:
                self._sep = True
            return self._only(logits, [self.forced.pop(0)])
        if not text or text.endswith("\n"):
            if len(self.steps) >= MAX_PLAN_STEPS:
                return self._only(logits, self.end)
            number = self.tok.encode(f"{len(self.steps) + 1}.")
            self._number = number
            return self._only(logits, number[:1])
        return logits if self.inner is None else self.inner(ids, logits)


class HRMBackend:
    prompt_style = HRM_STYLE
    supports_logits_processor = True

    def __init__(self, model_path: str | Path, engine=None) -> None:
        """`engine`: an Engine already built (hrm eval wraps a checkpoint's model in one);
        model_path then only names it."""
        from hrmcli.runtime.engine import Engine

        self.path = Path(model_path)
        self.name = self.path.name
        try:
            self.engine = engine or Engine.load(str(self.path))
        except (OSError, ValueError) as e:
            raise BackendError(f"cannot load HRM-Code model {self.path}: {e}") from e
        self.context_size = int(self.engine.n_ctx)
        self._token_bytes: list[bytes] | None = None
        self._sep_ok: torch.Tensor | None = None
        self._generated = False  # the engine holds a finished generation for halt_prob
        self._halt: float | None = None

    def token_bytes(self) -> list[bytes]:
        """Bytes of every token id (b"" for control tokens), for constrained decoding."""
        if self._token_bytes is None:
            from hrmcli.agent.constrained import tokenizer_token_bytes

            self._token_bytes = tokenizer_token_bytes(self.engine.tokenizer)
        return self._token_bytes

    def separator_mask(self) -> torch.Tensor:
        """Tokens that may follow a tool name in a plan line: space- or newline-led ones."""
        if self._sep_ok is None:
            self._sep_ok = torch.tensor([b[:1] in (b" ", b"\n") for b in self.token_bytes()])
        return self._sep_ok

    def halt_prob(self) -> float:
        """P(done) from HRM-Code's halt head at the last token of the last generation.

        The head was trained on "edit applied and tests passed": at the end of an assistant
        turn it is near 1 when that turn finished the task and near 0 when more work (a
        repair) followed. The agent loop stops once it reaches 0.5. It reads whichever
        generation ran last on this backend (a plan or an edit reply): the head is the
        engine's state, not a call's result.
        """
        if not self._generated:
            raise BackendError(f"{self.name} has not finished a generation to read the halt head at")
        if self._halt is None:
            self.engine.end_of_turn()
            self._halt = self.engine.halt_prob
        return self._halt

    def render(self, messages: Sequence[Message]) -> str:
        """Prompt text in the model's own layout: HRM-Code's tokens, or ChatML for a
        retrofit of a pretrained chat model."""
        return render_chatml(messages) if self.engine.tokenizer.is_chat else render_hrm(messages)

    def stream(self, messages: Sequence[Message], opts: GenerationOptions) -> Generation:
        return Generation(self._locked(messages, opts))

    def _locked(self, messages: Sequence[Message], opts: GenerationOptions
                ) -> Generator[str, None, Completion]:
        with _GENERATE:
            return (yield from self._stream(messages, opts))

    def _stream(self, messages: Sequence[Message], opts: GenerationOptions
                ) -> Generator[str, None, Completion]:
        self._generated = False
        self._halt = None
        t0 = time.perf_counter()
        prompt = self.render(messages)
        prompt_tokens = len(self.engine.tokenize(prompt))
        if prompt_tokens >= self.context_size:
            raise ContextExceeded(
                f"the prompt is {prompt_tokens} tokens but {self.name} holds {self.context_size}; "
                "give it fewer or smaller files"
            )
        processor = opts.logits_processor
        head = None
        if messages and messages[-1].role == PLAN_ROLE and self.engine.tokenizer.is_chat:
            processor = head = PlanHeadSteps(self.engine, self.separator_mask(), processor,
                                              opts.plan_paths)
        yield from self.engine.stream(
            prompt, max_tokens=min(opts.max_tokens, self.context_size - prompt_tokens),
            temperature=opts.temperature, top_p=opts.top_p, stop=opts.stop,
            logits_processor=processor, seed=opts.seed,
        )
        stats = self.engine.last
        self._generated = True
        return Completion(
            text="", prompt_tokens=stats.prompt_tokens, completion_tokens=stats.completion_tokens,
            seconds=time.perf_counter() - t0, finish_reason=stats.finish_reason,
            plan_head=list(head.steps) if head is not None else [],
        )
