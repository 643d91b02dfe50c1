"""Turning a model reply into a program, the way LiveCodeBench does."""

from __future__ import annotations


def extract_code(reply: str) -> str:
    """The text between the last two lines that contain a ``` fence; "" when there are fewer."""
    lines = reply.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[-2] + 1:fences[-1]])
