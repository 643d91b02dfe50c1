"""HRM-Code GGUF files through our own runtime (hrmcli.runtime.engine).

Prompts are rendered in HRM-Code's training layout (hrmcli.agent.prompts.render_hrm), so
the model sees files as <|file|> blocks and the task as a <|user|> block exactly as in
its training data; a plan request (a trailing "plan" message) ends with <|assistant|><|plan|>
like prompt_format.plan_prompt. The runtime keeps control tokens in the streamed text, so a
plan arrives as `N. <|t:tool|> argument` lines that prompt_format.parse_plan reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from hrmcli.agent.backends import BackendError, ContextExceeded
from hrmcli.agent.backends.base import Completion, GenerationOptions, Message
from hrmcli.agent.prompts import HRM_STYLE, render_chatml, render_hrm

# One generation at a time per process: an Engine keeps its KV cache and prompt-prefix state
# between calls, and ggml's compute is not safe to enter from two threads at once (the
# benchmarks run exercises on threads and share one backend).
_GENERATE = threading.Lock()


class HRMBackend:
    prompt_style = HRM_STYLE
    supports_logits_processor = True

    def __init__(self, model_path: str | Path) -> None:
        from hrmcli.runtime.engine import Engine

        self.path = Path(model_path)
        self.name = self.path.name
        try:
            self.engine = Engine.load(str(self.path))
        except (OSError, ValueError) as e:
            raise BackendError(f"cannot load HRM-Code model {self.path}: {e}") from e
        self.context_size = int(self.engine.n_ctx)
        self.last: Completion | None = None
        self._token_bytes: list[bytes] | None = None
        self._halt: float | None = None

    def token_bytes(self) -> list[bytes]:
        """Bytes of every token id (b"" for control tokens), for constrained decoding."""
        if self._token_bytes is None:
            from hrmcli.agent.constrained import tokenizer_token_bytes

            self._token_bytes = tokenizer_token_bytes(self.engine.tokenizer)
        return self._token_bytes

    def halt_prob(self) -> float:
        """P(done) from HRM-Code's halt head at the last token of the last generation.

        The head was trained on "edit applied and tests passed": at the end of an assistant
        turn it is near 1 when that turn finished the task and near 0 when more work (a
        repair) followed. The agent loop stops once it reaches 0.5. It reads whichever
        generation ran last on this backend (a plan or an edit reply).
        """
        if self.last is None:
            raise BackendError(f"{self.name} has not finished a generation to read the halt head at")
        if self._halt is None:
            self.engine.end_of_turn()
            self._halt = self.engine.halt_prob
        return self._halt

    def render(self, messages: Sequence[Message]) -> str:
        """Prompt text in the model's own layout: HRM-Code's tokens, or ChatML for a
        retrofit of a pretrained chat model."""
        return render_chatml(messages) if self.engine.tokenizer.is_chat else render_hrm(messages)

    def stream(self, messages: Sequence[Message], opts: GenerationOptions) -> Iterator[str]:
        with _GENERATE:
            yield from self._stream(messages, opts)

    def _stream(self, messages: Sequence[Message], opts: GenerationOptions) -> Iterator[str]:
        self.last = None
        self._halt = None
        t0 = time.perf_counter()
        prompt = self.render(messages)
        prompt_tokens = len(self.engine.tokenize(prompt))
        if prompt_tokens >= self.context_size:
            raise ContextExceeded(
                f"the prompt is {prompt_tokens} tokens but {self.name} holds {self.context_size}; "
                "give it fewer or smaller files"
            )
        yield from self.engine.stream(
            prompt, max_tokens=min(opts.max_tokens, self.context_size - prompt_tokens),
            temperature=opts.temperature, top_p=opts.top_p, stop=opts.stop,
            logits_processor=opts.logits_processor, seed=opts.seed,
        )
        stats = self.engine.last
        self.last = Completion(
            text="", prompt_tokens=stats.prompt_tokens, completion_tokens=stats.completion_tokens,
            seconds=time.perf_counter() - t0, finish_reason=stats.finish_reason,
        )
