"""Each generate call carries its own result: two threads sharing one backend (as the
benchmarks' exercise threads do) each get their own token counts, never the other's and
never 0. Real backends: the scripted server over HTTP on 127.0.0.1 and our runtime on the
tiny bundled HRM-Code GGUF."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hrmcli.agent.backends.base import Completion, GenerationOptions, Message, complete
from tests.scripted_server import ScriptedServer

TINY = Path(__file__).resolve().parents[1] / "hrmcli" / "weights" / "hrm-code-tiny-q4_0.gguf"


def _both_at_once(backend, jobs: list[tuple[list[Message], GenerationOptions]]) -> list[Completion]:
    start = threading.Barrier(len(jobs))

    def run(job: tuple[list[Message], GenerationOptions]) -> Completion:
        start.wait(10)
        return complete(backend, *job)

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_server_calls_on_two_threads_keep_their_own_counts():
    from hrmcli.agent.backends.openai_compat import OpenAICompatBackend

    replies = {"long": "L" * 70, "short": "S" * 14}  # 10 and 2 events of 7 characters

    def script(kind: str, messages: list[dict]) -> str:
        return replies[messages[-1]["content"]]

    with ScriptedServer(script) as server:
        server.hold = threading.Event()
        backend = OpenAICompatBackend(server.url, "scripted")
        opts = GenerationOptions(max_tokens=64)
        first = backend.stream([Message("user", "long")], opts)
        assert next(first) == "L" * 7  # the long call is in flight, paused half-way
        assert server.holding.wait(10)
        threading.Timer(0.3, server.hold.set).start()  # the short call runs meanwhile
        short = complete(backend, [Message("user", "short")], opts)
        long_text = "L" * 7 + "".join(first)
    assert short.text == replies["short"] and short.completion_tokens == 2
    assert long_text == replies["long"] and first.result is not None
    assert first.result.text == long_text and first.result.completion_tokens == 10
    assert short.prompt_tokens == first.result.prompt_tokens == 42  # the server's usage

    with ScriptedServer(script) as server:
        backend = OpenAICompatBackend(server.url, "scripted")
        opts = GenerationOptions(max_tokens=64)
        got = _both_at_once(backend, [([Message("user", "long")], opts),
                                      ([Message("user", "short")], opts)])
    assert [(c.text, c.completion_tokens) for c in got] == [(replies["long"], 10),
                                                            (replies["short"], 2)]


def _no_stop(stop_ids: set[int]):
    """A logits processor that forbids the stop tokens, so a call runs to max_tokens."""
    def proc(ids, logits):
        out = logits.clone()
        out[list(stop_ids)] = float("-inf")
        return out
    return proc


@pytest.mark.skipif(not TINY.is_file(), reason="the tiny bundled model is not in hrmcli/weights")
def test_runtime_calls_on_two_threads_keep_their_own_counts():
    from hrmcli.agent.backends.hrm import HRMBackend
    from hrmcli.agent.prompts import edit_messages

    backend = HRMBackend(TINY)
    tok = backend.engine.tokenizer
    proc = _no_stop(set(tok.stop_ids))
    jobs = [
        (edit_messages([("a.py", "x = 1\n")], "rename x to y", backend.prompt_style),
         GenerationOptions(max_tokens=3, logits_processor=proc)),
        (edit_messages([("b.py", "def f(a, b):\n    return a + b\n" * 4)],
                       "make f return the product of its arguments", backend.prompt_style),
         GenerationOptions(max_tokens=9, logits_processor=proc)),
    ]
    want_prompt = [len(backend.engine.tokenize(backend.render(m))) for m, _ in jobs]
    assert want_prompt[0] < want_prompt[1]
    for _ in range(3):  # the order the lock lets them in varies; each keeps its own counts
        got = _both_at_once(backend, jobs)
        assert [c.completion_tokens for c in got] == [3, 9]
        assert [c.prompt_tokens for c in got] == want_prompt
        assert all(c.text and c.seconds > 0 for c in got)
