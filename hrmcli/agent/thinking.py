"""Strip <think>...</think> reasoning from model output.

Reasoning models (Qwen3, DeepSeek-R1 distills) write their chain of thought inside think
tags; it must never reach the edit parser, because it is full of half-written SEARCH
blocks. Some chat templates open the tag in the prompt, so the reply may start inside a
think block and only show the closing tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OPEN, CLOSE = "<think>", "</think>"
_BLOCK_RE = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL)


def strip_thinking(text: str) -> str:
    """The reply without its reasoning. A lone closing tag means the template opened the
    block, so everything before it was reasoning; an unclosed opening tag runs to the end."""
    head, sep, tail = text.partition(CLOSE)
    if sep and OPEN not in head:
        text = tail
    return _BLOCK_RE.sub("", text).lstrip("\n")


@dataclass
class ThinkFilter:
    """Splits a token stream into visible text and reasoning as it arrives, so a UI can
    show the reasoning dimmed while it streams. Tags split across pieces are held back
    until they can be told apart from ordinary text."""

    thinking: bool = False
    _pending: str = field(default="", repr=False)

    def feed(self, piece: str) -> list[tuple[bool, str]]:
        """Return [(is_thinking, text)] for the part of the stream that is now certain."""
        out: list[tuple[bool, str]] = []
        buf = self._pending + piece
        self._pending = ""
        while buf:
            tag = CLOSE if self.thinking else OPEN
            at = buf.find(tag)
            if at >= 0:
                if at:
                    out.append((self.thinking, buf[:at]))
                buf = buf[at + len(tag):]
                self.thinking = not self.thinking
                continue
            keep = _partial_tag_suffix(buf, tag)
            if len(buf) > keep:
                out.append((self.thinking, buf[: len(buf) - keep]))
            self._pending = buf[len(buf) - keep:]
            break
        return out

    def flush(self) -> list[tuple[bool, str]]:
        rest, self._pending = self._pending, ""
        return [(self.thinking, rest)] if rest else []


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of text that is a proper prefix of tag."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0
