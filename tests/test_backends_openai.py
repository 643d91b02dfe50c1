"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 that speaks the
streaming chat-completions protocol (server-sent events) with scripted replies
(tests/scripted_server.py)."""

from __future__ import annotations

import pytest

from hrmcli.agent.backends import BackendError, load_backend
from hrmcli.agent.backends.base import GenerationOptions, Message, complete
from hrmcli.agent.backends.openai_compat import OpenAICompatBackend
from tests.scripted_server import ScriptedServer


def test_streams_scripted_reply_in_pieces_with_usage():
    reply = "Here you go.\n\nfile.py\n```python\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n```\n"
    with ScriptedServer([reply]) as srv:
        backend = load_backend(f"openai:{srv.url}#tiny-model")
        pieces: list[str] = []
        done = complete(backend, [Message("system", "s"), Message("user", "u")],
                        GenerationOptions(max_tokens=99, temperature=0.2, stop=["END"]), pieces.append)
    assert done.text == reply
    assert len(pieces) > 5  # it really streamed
    assert done.prompt_tokens == 42 and done.completion_tokens == len(pieces)
    req = srv.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["body"]["model"] == "tiny-model" and req["body"]["stream"] is True
    assert req["body"]["max_tokens"] == 99 and req["body"]["stop"] == ["END"]
    assert [m["role"] for m in req["body"]["messages"]] == ["system", "user"]


def test_file_messages_are_inlined_for_chat_servers():
    with ScriptedServer(["ok"]) as srv:
        backend = OpenAICompatBackend(srv.url)
        complete(backend, [Message("file", "a.py\nprint(1)\n"), Message("user", "task")],
                 GenerationOptions())
    msgs = srv.requests[0]["body"]["messages"]
    assert len(msgs) == 1 and msgs[0]["role"] == "user"
    assert "File: a.py" in msgs[0]["content"] and "print(1)" in msgs[0]["content"]


def test_http_error_is_a_clear_backend_error():
    with ScriptedServer([], status=503) as srv:
        backend = OpenAICompatBackend(srv.url)
        with pytest.raises(BackendError, match="HTTP 503"):
            complete(backend, [Message("user", "u")], GenerationOptions())


def test_unreachable_server_says_so():
    with ScriptedServer([]) as srv:
        url = srv.url
    backend = OpenAICompatBackend(url)  # the server is gone: nothing listens there now
    with pytest.raises(BackendError, match="is it running"):
        complete(backend, [Message("user", "u")], GenerationOptions())


def test_refuses_hosts_off_this_machine_unless_allowed():
    with pytest.raises(BackendError, match="not this machine"):
        OpenAICompatBackend("http://10.1.2.3:8080/v1")
    assert OpenAICompatBackend("http://10.1.2.3:8080/v1", allow_remote=True).host == "10.1.2.3"
    assert OpenAICompatBackend("http://[::1]:8080").endpoint == "/v1/chat/completions"


def test_logits_processor_is_rejected():
    backend = OpenAICompatBackend("http://127.0.0.1:9/v1")
    with pytest.raises(BackendError, match="logits processor"):
        list(backend.stream([Message("user", "u")],
                            GenerationOptions(logits_processor=lambda ids, x: x)))
