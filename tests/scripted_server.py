"""The one scripted model server for tests: a real OpenAI-compatible HTTP server on 127.0.0.1
that streams scripted replies as server-sent events, the way local model servers do.

Every test that needs a model (the backend, the coder, `hrm edit`, the agent loop, the TUI,
the edit benchmark) talks to this over real HTTP, so the whole client path runs.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A request whose messages hold this text comes from the chat planner (its system prompt).
PLANNER_MARK = "You plan how a coding agent"

Script = Callable[[str, list[dict]], str]  # (kind, messages) -> reply


class ScriptedServer:
    """Chat completions over SSE, a few characters per event, then usage and [DONE].

    `script` is either a list of replies, answered in order ("" once it runs out), or a
    function script(kind, messages) -> reply, where kind is "plan" for planner prompts and
    "edit" otherwise. Every request is recorded in `requests` as {"path", "body", "kind"}.
    A status other than 200 answers every request with that error. Set `hold` to an Event
    to pause each stream half-way until it is set (`holding` is set while paused). `delay`
    seconds pass before each piece (a slow model); `dropped` is set when a client closes
    its connection before its stream has ended.
    """

    def __init__(self, script: Sequence[str] | Script, chunk: int = 7, status: int = 200,
                 delay: float = 0.0) -> None:
        self.replies = None if callable(script) else list(script)
        self.script = script if callable(script) else None
        self.chunk = chunk
        self.status = status
        self.delay = delay
        self.requests: list[dict] = []
        self.hold: threading.Event | None = None
        self.holding = threading.Event()
        self.dropped = threading.Event()
        self.usage_prompt_tokens = 42
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                msgs = body.get("messages", [])
                kind = "plan" if any(PLANNER_MARK in str(m.get("content", "")) for m in msgs) \
                    else "edit"
                server.requests.append({"path": self.path, "body": body, "kind": kind})
                if server.status != 200:
                    self.send_response(server.status)
                    self.end_headers()
                    self.wfile.write(b'{"error": "model not loaded"}')
                    return
                reply = server._reply(kind, msgs)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [reply[i:i + server.chunk] for i in range(0, len(reply), server.chunk)]
                try:
                    self._event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
                    for i, piece in enumerate(pieces):
                        if server.hold is not None and i == len(pieces) // 2:
                            server.holding.set()
                            server.hold.wait(30)
                        if server.delay:
                            time.sleep(server.delay)
                        self._event({"choices": [{"index": 0, "delta": {"content": piece}}]})
                    self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    self._event({"choices": [], "usage": {
                        "prompt_tokens": server.usage_prompt_tokens,
                        "completion_tokens": len(pieces)}})
                    self.wfile.write(b"data: [DONE]\n\n")
                except (BrokenPipeError, ConnectionResetError):
                    server.dropped.set()  # the client stopped reading (Ctrl-C, a cancel)

            def _event(self, obj: dict) -> None:
                self.wfile.write(b": keep-alive\n\ndata: " + json.dumps(obj).encode() + b"\n\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _reply(self, kind: str, messages: list[dict]) -> str:
        if self.script is not None:
            return self.script(kind, messages)
        return self.replies.pop(0) if self.replies else ""

    @property
    def url(self) -> str:
        """The base URL an OpenAI client takes (…/v1)."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def spec(self) -> str:
        """The --model spec hrm takes for this server."""
        return f"openai:{self.url}#scripted"

    @property
    def kinds(self) -> list[str]:
        """"plan" or "edit" for each request so far, in order."""
        return [r["kind"] for r in self.requests]

    def messages(self, i: int) -> list[dict]:
        """The chat messages of request i."""
        return self.requests[i]["body"]["messages"]

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()

