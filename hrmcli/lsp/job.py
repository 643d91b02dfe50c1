"""One code action's proposal: the editor's text in, the proposed text out, cancellable.

The edit coder reads and dry-runs files under a root, so the text the editor holds (which
may be unsaved) is copied into a scratch directory under the same relative path; the
model sees the same path it would for `hrm edit`, and nothing in the user's tree is read
or written. The proposal is EditCoder.propose, `hrm edit`'s own path.

Cancelling stops generation at the next streamed piece: the coder's text callback raises,
the job closes the backend's stream (the runtime stops decoding, a model server sees its
client go away), and no repair request follows.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hrmcli.agent.backends.base import Backend, GenerationOptions, Message
from hrmcli.agent.history import Session


class Cancelled(Exception):
    """The user cancelled the action; nothing is proposed."""


class StoppableBackend:
    """A backend as the coder sees it, holding on to the stream in flight so that a
    cancelled job can close it at once instead of whenever its frames are collected.
    Keep one per loaded backend: per-backend caches (the coder's token trie) key on it."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._stream: object | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(self.backend, name)

    def stream(self, messages: Sequence[Message], opts: GenerationOptions) -> Iterator[str]:
        self._stream = self.backend.stream(messages, opts)
        return self._stream

    def close_stream(self) -> None:
        """Close the stream in flight; call it on the thread that consumed it."""
        stream, self._stream = self._stream, None
        close = getattr(stream, "close", None)
        if close is not None:
            close()


class ProposalFailed(Exception):
    """The model's reply gave no edits that apply to the document."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors) or "the reply had no usable edits")


@dataclass
class EditJob:
    backend: StoppableBackend
    path: str  # the document's path relative to the workspace (what the model is shown)
    text: str  # the document as the editor holds it
    task: str
    edit_format: str = "diff"
    options: GenerationOptions = field(default_factory=lambda: GenerationOptions(max_tokens=1024))
    # (message) every so often while the model writes, and before each repair try
    on_progress: Callable[[str], None] | None = None
    session: Session | None = None  # the history log's session, when logging works
    report_every_s: float = 0.5
    cancelled: threading.Event = field(default_factory=threading.Event)
    diff: str = ""

    def cancel(self) -> None:
        """Thread-safe; takes effect at the next piece the model streams."""
        self.cancelled.set()

    def _check(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled()

    def run(self) -> str:
        """The proposed text of the document (equal to `text` when the edits change
        nothing). Raises Cancelled, ProposalFailed, or the coder's and backend's errors."""
        from hrmcli.agent.apply import apply_edits, apply_whole_files
        from hrmcli.agent.coder import EditCoder

        self._check()
        pieces, last = 0, 0.0

        def on_text(_piece: str) -> None:
            nonlocal pieces, last
            self._check()
            pieces += 1
            now = time.monotonic()
            if self.on_progress and now - last >= self.report_every_s:
                last = now
                self.on_progress(f"writing edits ({pieces} pieces)")

        def on_attempt(attempt: int, _report: str) -> None:
            self._check()
            if self.on_progress:
                self.on_progress(f"the edits did not apply; asking again (try {attempt})")

        with tempfile.TemporaryDirectory(prefix="hrm-lsp-") as tmp:
            root = Path(tmp)
            scratch = root / self.path
            scratch.parent.mkdir(parents=True, exist_ok=True)
            scratch.write_text(self.text, encoding="utf-8", newline="")
            coder = EditCoder(self.backend, root, edit_format=self.edit_format,
                              options=self.options, session=self.session,
                              on_text=on_text, on_attempt=on_attempt)
            try:
                outcome = coder.propose([self.path], self.task)
                self._check()
            except Cancelled:
                self.backend.close_stream()
                raise
            if not outcome.well_formed:
                raise ProposalFailed(outcome.errors)
            apply = apply_edits if self.edit_format == "diff" else apply_whole_files
            result = apply(outcome.edits, root, dry_run=True)
            if not result.ok:  # the coder's own dry run passed, so this means a bug
                raise ProposalFailed([str(f) for f in result.failed])
            self.diff = result.diff
            return result.new_contents.get(self.path, self.text)
