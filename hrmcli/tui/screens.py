"""Modal screens: review a diff (apply/reject) and answer a yes/no question."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class DiffReview(ModalScreen[bool]):
    """Shows a unified diff; `a` applies, `r` or Escape rejects."""

    BINDINGS = [("a", "apply", "Apply"), ("r", "reject", "Reject"), ("escape", "reject", "Reject")]

    def __init__(self, title: str, diff: str) -> None:
        super().__init__()
        self.title_text = title
        self.diff = diff

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text.assemble((self.title_text, "bold"), "  (a: apply, r: reject)"))
            with VerticalScroll(id="dialog-body"):
                yield Static(Syntax(self.diff, "diff", theme="ansi_dark", word_wrap=True))
            with Horizontal(id="dialog-buttons"):
                yield Button("Apply", id="apply", variant="success")
                yield Button("Reject", id="reject", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "apply")

    def action_apply(self) -> None:
        self.dismiss(True)

    def action_reject(self) -> None:
        self.dismiss(False)


class Confirm(ModalScreen[bool]):
    """A yes/no question with the command it is about; `y` yes, `n` or Escape no."""

    BINDINGS = [("y", "answer(True)", "Yes"), ("n", "answer(False)", "No"),
                ("escape", "answer(False)", "No")]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text.assemble((self.question + "?", "bold"), "  (y / n)"))
            with VerticalScroll(id="dialog-body"):
                yield Static(Text(self.detail))
            with Horizontal(id="dialog-buttons"):
                yield Button("Yes", id="yes", variant="success")
                yield Button("No", id="no", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
