"""The one error type the agent's tools raise for problems the caller (or the model) caused.

The agent loop catches it and shows the message to the model or the user verbatim, so every
message says what went wrong and what to do instead.
"""

from __future__ import annotations


class ToolError(Exception):
    """A refused or failed tool call with a message fit to show as-is."""
