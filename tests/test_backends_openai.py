"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 that speaks the
streaming chat-completions protocol (server-sent events) with scripted replies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hrmcli.agent.backends import BackendError, load_backend
from hrmcli.agent.backends.base import GenerationOptions, Message, complete
from hrmcli.agent.backends.openai_compat import OpenAICompatBackend


class ScriptedServer:
    """A chat-completions server that answers each request with the next scripted reply,
    streamed a few characters per event; it records every request body."""

    def __init__(self, replies: list[str], chunk: int = 7, status: int = 200) -> None:
        self.replies = list(replies)
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body})
                if status != 200:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b'{"error": "model not loaded"}')
                    return
                reply = outer.replies.pop(0) if outer.replies else ""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [reply[i:i + chunk] for i in range(0, len(reply), chunk)]
                self._event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
                for p in pieces:
                    self._event({"choices": [{"index": 0, "delta": {"content": p}}]})
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                self._event({"choices": [], "usage": {"prompt_tokens": 42,
                                                      "completion_tokens": len(pieces)}})
                self.wfile.write(b"data: [DONE]\n\n")

            def _event(self, obj: dict) -> None:
                self.wfile.write(b": keep-alive\n\ndata: " + json.dumps(obj).encode() + b"\n\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


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
