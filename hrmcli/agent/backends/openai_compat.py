"""An OpenAI-compatible chat server on this machine (llama-server, ollama, vLLM), spoken to
with plain http.client: /v1/chat/completions with streamed server-sent events.

Local models are slow, so timeouts are long; the context size is fixed by the user
because these servers do not report it. Only loopback hosts are allowed unless the user's
config says `[openai] allow_remote = true`: hrm is local-first, and sending a repository
to another machine must be a deliberate choice.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import time
from collections.abc import Generator, Iterator, Sequence
from urllib.parse import urlsplit

from hrmcli.agent.backends import BackendError
from hrmcli.agent.backends.base import Completion, Generation, GenerationOptions, Message
from hrmcli.agent.prompts import inline_files

DEFAULT_TIMEOUT_S = 900.0
DEFAULT_CONTEXT = 8192


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class OpenAICompatBackend:
    prompt_style = "chat"
    supports_logits_processor = False

    def __init__(self, url: str, model: str = "", context_size: int = DEFAULT_CONTEXT,
                 timeout_s: float = DEFAULT_TIMEOUT_S, allow_remote: bool = False,
                 api_key: str = "") -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendError(f"'{url}' is not an http(s) URL; use openai:http://127.0.0.1:8080/v1#model")
        if not allow_remote and not is_loopback(parts.hostname):
            raise BackendError(
                f"{parts.hostname} is not this machine; hrm only talks to servers on localhost "
                "unless your config sets `[openai] allow_remote = true`"
            )
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        base = parts.path.rstrip("/")
        if not base.endswith("/v1"):
            base += "/v1"
        self.endpoint = base + "/chat/completions"
        self.model = model
        self.name = f"openai:{url}#{model}" if model else f"openai:{url}"
        self.context_size = context_size
        self.timeout_s = timeout_s
        self.api_key = api_key

    def _connection(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout_s)

    def _body(self, messages: Sequence[Message], opts: GenerationOptions) -> dict:
        body: dict = {
            "messages": [{"role": m.role, "content": m.content} for m in inline_files(messages)],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": opts.max_tokens,
            "temperature": opts.temperature,
            "top_p": opts.top_p,
        }
        if self.model:
            body["model"] = self.model
        if opts.stop:
            body["stop"] = opts.stop
        if opts.seed is not None:
            body["seed"] = opts.seed
        return body

    def stream(self, messages: Sequence[Message], opts: GenerationOptions) -> Generation:
        if opts.logits_processor is not None:
            raise BackendError("an OpenAI-compatible server cannot take a logits processor")
        return Generation(self._stream(messages, opts))

    def _stream(self, messages: Sequence[Message], opts: GenerationOptions
                ) -> Generator[str, None, Completion]:
        t0 = time.perf_counter()
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        conn = self._connection()
        try:
            try:
                conn.request("POST", self.endpoint, json.dumps(self._body(messages, opts)), headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                raise BackendError(
                    f"cannot reach the model server at {self.host}:{self.port} ({e}); "
                    "is it running?"
                ) from e
            if resp.status != 200:
                detail = resp.read(2000).decode("utf-8", "replace").strip()
                raise BackendError(f"the model server answered HTTP {resp.status}: {detail}")
            usage: dict = {}
            finish = "stop"
            pieces = 0
            for event in _sse_events(resp):
                if event == "[DONE]":
                    break
                try:
                    chunk = json.loads(event)
                except json.JSONDecodeError as e:
                    raise BackendError(f"the model server sent invalid JSON: {event[:200]!r}") from e
                if chunk.get("error"):
                    raise BackendError(f"the model server reported: {chunk['error']}")
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    finish = choice.get("finish_reason") or finish
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        pieces += 1
                        yield text
            return Completion(
                text="",
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", pieces)),
                seconds=time.perf_counter() - t0,
                finish_reason="length" if finish == "length" else "stop",
            )
        except TimeoutError as e:
            raise BackendError(
                f"the model server did not answer within {self.timeout_s:.0f} s; "
                "raise [openai] timeout_s in the config for slow models"
            ) from e
        finally:
            conn.close()


def _sse_events(resp: http.client.HTTPResponse) -> Iterator[str]:
    """The data payloads of a server-sent event stream; multi-line data is joined."""
    data: list[str] = []
    while True:
        raw = resp.readline()
        if not raw:
            break
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
