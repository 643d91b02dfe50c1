"""The panes of the chat screen: the conversation (with a streaming message), the files in
context and the current plan."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class Message(Static):
    """One turn. Keeps its plain text so the conversation can be searched and tested."""

    def __init__(self, role: str, text: str = "") -> None:
        super().__init__(classes=f"message {role}")
        self.role = role
        self.text = text
        self.updates = 0
        self._show()

    def _show(self) -> None:
        label = {"user": "you", "assistant": "hrm", "system": "·", "error": "error"}[self.role]
        # A Text, not markup: model output and file names are shown exactly as written.
        self.update(Text.assemble((label, "bold"), " ", self.text))

    def append(self, piece: str) -> None:
        self.text += piece
        self.updates += 1
        self._show()


class Conversation(VerticalScroll):
    def say(self, role: str, text: str) -> Message:
        msg = Message(role, text)
        self.mount(msg)
        self.scroll_end(animate=False)
        return msg

    def stream(self) -> Message:
        """An empty assistant message that model output is appended to as it arrives."""
        return self.say("assistant", "")

    def transcript(self) -> str:
        return "\n".join(m.text for m in self.query(Message))


class FilesPanel(Static):
    def show(self, files: list[str]) -> None:
        self.update(Text("\n".join(files)) if files else Text("none: /add FILE", "dim"))


class PlanPanel(Static):
    def show(self, lines: list[str], current: int = 0) -> None:
        """Plan lines; `current` (1-based) marks the step being run."""
        if not lines:
            self.update(Text("no plan: /run WORKFLOW", "dim"))
            return
        self.update(Text("\n").join(Text(line, "reverse" if i == current else "")
                                     for i, line in enumerate(lines, 1)))
