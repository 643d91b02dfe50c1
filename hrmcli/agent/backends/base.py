"""The one interface every model backend implements: messages in, streamed text out.

Backends: HRM-Code GGUF through our runtime, any GGUF chat model through llama-cpp-python,
and an OpenAI-compatible server on localhost. The agent, the benchmarks and the TUI talk
only to this interface (llm-style: Model -> Response).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass
class Message:
    role: str  # "system" | "user" | "assistant" | "tool"
    content: str


# A logits processor sees the token ids generated so far and the next-token logits
# (a 1-D float tensor or numpy array) and returns the logits to sample from. In-process
# backends use it for constrained SEARCH decoding; remote backends reject it.
LogitsProcessor = Callable[[Sequence[int], object], object]


@dataclass
class GenerationOptions:
    max_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    logits_processor: LogitsProcessor | None = None


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str = "stop"  # "stop" | "length" | "context"


@runtime_checkable
class Backend(Protocol):
    name: str
    context_size: int

    def stream(self, messages: Sequence[Message], opts: GenerationOptions) -> Iterator[str]:
        """Yield text pieces as they are generated. Sets self.last (a Completion) when done."""
        ...

    last: Completion | None


def complete(backend: Backend, messages: Sequence[Message], opts: GenerationOptions,
             on_text: Callable[[str], None] | None = None) -> Completion:
    """Run a whole generation, optionally echoing pieces; returns the Completion."""
    t0 = time.perf_counter()
    parts = []
    for piece in backend.stream(messages, opts):
        parts.append(piece)
        if on_text:
            on_text(piece)
    text = "".join(parts)
    last = backend.last
    if last is None:
        last = Completion(text, 0, 0, time.perf_counter() - t0)
    return Completion(text, last.prompt_tokens, last.completion_tokens,
                      time.perf_counter() - t0, last.finish_reason)
