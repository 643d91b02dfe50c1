"""The one interface every model backend implements: messages in, streamed text out.

Backends: HRM-Code GGUF through our runtime, any GGUF chat model through llama-cpp-python,
and an OpenAI-compatible server on localhost. The agent, the benchmarks and the TUI talk
only to this interface (llm-style: Model -> Response).

Each call returns its own `Generation`, which carries that call's result (text, token
counts, time) once it is consumed. Nothing about a call is kept on the backend, so threads
that share one backend (the benchmarks run cases on threads) never read each other's counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
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
    # tool -> the files a plan step with that tool may name (`read`, `edit`), where the
    # backend can constrain its decoding (HRM-Code's plan head); others are free text.
    plan_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str = "stop"  # "stop" | "length" | "context"
    # (tool, probability) a retrofit's plan head chose per step of a plan turn; empty for
    # other turns and for models that spell tools as tokens.
    plan_head: list[tuple[str, float]] = field(default_factory=list)


class Generation(Iterator[str]):
    """One generate call: iterating it yields the text pieces; once they are exhausted,
    `result` is this call's Completion (text joined from the pieces). Backends build it from
    a generator that returns the Completion at its end."""

    def __init__(self, pieces: Generator[str, None, Completion]) -> None:
        self._pieces = pieces
        self._parts: list[str] = []
        self.result: Completion | None = None

    def __next__(self) -> str:
        if self.result is not None:
            raise StopIteration
        try:
            piece = next(self._pieces)
        except StopIteration as end:
            done = end.value
            if not isinstance(done, Completion):
                raise TypeError("a backend's generator must return its Completion") from None
            self.result = replace(done, text="".join(self._parts))
            raise StopIteration from None
        self._parts.append(piece)
        return piece

    def close(self) -> None:
        """Stop early (the caller no longer wants pieces); frees the backend's lock."""
        self._pieces.close()


@runtime_checkable
class Backend(Protocol):
    name: str
    context_size: int

    def stream(self, messages: Sequence[Message], opts: GenerationOptions) -> Generation:
        """This call's Generation: its pieces as they are generated, then its result."""
        ...


def complete(backend: Backend, messages: Sequence[Message], opts: GenerationOptions,
             on_text: Callable[[str], None] | None = None) -> Completion:
    """Run a whole generation, optionally echoing pieces; returns the Completion."""
    t0 = time.perf_counter()
    gen = backend.stream(messages, opts)
    for piece in gen:
        if on_text:
            on_text(piece)
    assert gen.result is not None  # the loop above exhausted it
    return replace(gen.result, seconds=time.perf_counter() - t0)
