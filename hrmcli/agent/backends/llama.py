"""Any GGUF chat model through llama-cpp-python (the optional `hrmcli[llama]` extra).

The chat template comes from the GGUF file itself (llama-cpp-python applies
`tokenizer.chat_template`), so every model is prompted the way it was tuned. A file with
no template whose vocabulary has HRM-Code's role tokens is one of our transformer
baselines (converters/llama_export.py): it is prompted in HRM-Code's own layout, the one
it was trained on. The logits processor hook is passed straight through, which is what
constrained SEARCH decoding needs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path

from hrmcli.agent.backends import BackendError
from hrmcli.agent.backends.base import Completion, Generation, GenerationOptions, Message
from hrmcli.agent.prompts import CHAT_STYLE, HRM_STYLE, inline_files, render_hrm
from hrmcli.prompt_format import ASSISTANT

DEFAULT_CONTEXT = 8192


# A Llama object is not safe to use from two threads at once (benchmarks share one backend).
_GENERATE = threading.Lock()


class LlamaCppBackend:
    supports_logits_processor = True

    def __init__(self, model_path: str | Path, context_size: int = DEFAULT_CONTEXT,
                 n_threads: int | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise BackendError(
                "running this GGUF needs llama-cpp-python: pip install 'hrmcli[llama]'"
            ) from e
        self.path = Path(model_path)
        self.name = self.path.name
        try:
            self.llm = Llama(
                model_path=str(self.path),
                n_ctx=context_size,
                n_threads=n_threads or os.cpu_count() or 1,
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise BackendError(f"llama.cpp could not load {self.path}: {e}") from e
        self.context_size = self.llm.n_ctx()
        self.prompt_style = self._prompt_style()
        self._token_bytes: list[bytes] | None = None

    def token_bytes(self) -> list[bytes]:
        """The bytes each token id decodes to; control tokens decode to b"" (they are
        never text, so constrained decoding can tell them apart)."""
        if self._token_bytes is None:
            self._token_bytes = [self.llm.detokenize([i]) for i in range(self.llm.n_vocab())]
        return self._token_bytes

    def _prompt_style(self) -> str:
        if "tokenizer.chat_template" in self.llm.metadata:
            return CHAT_STYLE
        ids = self.llm.tokenize(ASSISTANT.encode(), add_bos=False, special=True)
        return HRM_STYLE if len(ids) == 1 else CHAT_STYLE

    def _chunks(self, messages: Sequence[Message], opts: GenerationOptions, procs) -> Iterator[dict]:
        common = dict(
            stream=True, max_tokens=opts.max_tokens, temperature=opts.temperature,
            top_p=opts.top_p, stop=opts.stop or None, seed=opts.seed, logits_processor=procs,
        )
        if self.prompt_style == HRM_STYLE:
            for chunk in self.llm.create_completion(prompt=render_hrm(messages), **common):
                choice = chunk["choices"][0]
                yield {"text": choice.get("text"), "finish_reason": choice.get("finish_reason")}
            return
        chat = [{"role": m.role, "content": m.content} for m in inline_files(messages)]
        for chunk in self.llm.create_chat_completion(messages=chat, **common):
            choice = chunk["choices"][0]
            yield {"text": choice.get("delta", {}).get("content"),
                   "finish_reason": choice.get("finish_reason")}

    def stream(self, messages: Sequence[Message], opts: GenerationOptions) -> Generation:
        return Generation(self._locked(messages, opts))

    def _locked(self, messages: Sequence[Message], opts: GenerationOptions
                ) -> Generator[str, None, Completion]:
        with _GENERATE:
            return (yield from self._stream(messages, opts))

    def _stream(self, messages: Sequence[Message], opts: GenerationOptions
                ) -> Generator[str, None, Completion]:
        from llama_cpp import LogitsProcessorList

        t0 = time.perf_counter()
        counter = _TokenCounter()
        procs = LogitsProcessorList(
            [counter, opts.logits_processor] if opts.logits_processor else [counter]
        )
        try:
            finish = "stop"
            for chunk in self._chunks(messages, opts, procs):
                finish = chunk["finish_reason"] or finish
                if chunk["text"]:
                    yield chunk["text"]
        except ValueError as e:  # llama-cpp-python raises ValueError when the prompt overflows
            raise BackendError(f"{self.name}: {e}") from e
        return Completion(
            text="",
            prompt_tokens=counter.prompt_tokens,
            completion_tokens=counter.calls,
            seconds=time.perf_counter() - t0,
            finish_reason="length" if finish == "length" else "stop",
        )


class _TokenCounter:
    """A pass-through logits processor: llama.cpp calls it once per sampled token, with
    the prompt plus the tokens so far, which gives exact token counts."""

    def __init__(self) -> None:
        self.calls = 0
        self.prompt_tokens = 0

    def __call__(self, input_ids, scores):  # noqa: ANN001 - numpy arrays from llama.cpp
        if self.calls == 0:
            self.prompt_tokens = len(input_ids)
        self.calls += 1
        return scores
