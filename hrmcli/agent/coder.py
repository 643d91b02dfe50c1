"""The edit coder: files + task -> prompt -> streamed reply -> parsed edits -> applied.

One coder per edit format (Aider-style), here one class with the format as a field since
both formats share every step but parsing. Edits are first applied as a dry run; when a
block fails, the failure report goes back to the model and it tries again (bounded), so a
near-miss costs a retry instead of the whole task. A reply whose edits change nothing, or
leave a file that no longer parses, fails the same way (hrmcli.agent.verify). Chat models
get the failure report as a repair turn; HRM-Code, which was tuned on single turns, is
asked the same prompt again with sampling (a new seed per try). Nothing is written until a
reply applies cleanly, and then only when the caller asks (`apply_proposal`).

For in-process backends the SEARCH sections are constrained to spans of the files
(hrmcli.agent.constrained), so with constraint on, failures come only from malformed
structure, never from SEARCH text the file does not contain.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hrmcli.agent import prompts
from hrmcli.agent.apply import ApplyResult, apply_edits, apply_whole_files
from hrmcli.agent.backends import ContextExceeded
from hrmcli.agent.backends.base import Backend, GenerationOptions, Message, complete
from hrmcli.agent.constrained import SearchConstraint, TokenTrie
from hrmcli.agent.editblocks import BlockFailure, EditBlock, parse_edits
from hrmcli.agent.history import Session
from hrmcli.agent.thinking import strip_thinking
from hrmcli.agent.transaction import EditTransaction
from hrmcli.agent.verify import NO_CHANGE, broken_syntax, completed_rename, dangling_names
from hrmcli.agent.wholefile import MalformedWholeFile, WholeFile, parse_whole_files
from hrmcli.agent.window import fit_files
from hrmcli.tools.paths import Refused, resolve_in_root

MAX_REPAIRS = 3
# HRM-Code retries by sampling the same prompt again (it was never tuned on repair
# conversations, and the runtime reuses the prompt's KV cache): at this temperature and
# top-p, with a different seed per try.
RESAMPLE_TEMPERATURE = 0.7
RESAMPLE_TOP_P = 0.95
MAX_FILE_BYTES = 1_000_000


class CoderError(Exception):
    """The request cannot be made (unreadable file, path outside the repo)."""


@dataclass
class EditOutcome:
    """What one edit request produced. `applied` is true only once files were written;
    `well_formed` means the final reply parsed into edits that match the files."""

    applied: bool
    well_formed: bool
    files: list[str]
    diff: str
    seconds: float
    tokens: int
    reply: str
    attempts: int = 1
    prompt_tokens: int = 0
    errors: list[str] = field(default_factory=list)
    edits: list[EditBlock] | list[WholeFile] = field(default_factory=list, repr=False)
    notes: list[str] = field(default_factory=list)  # what hrm added to the model's edits

    def to_json(self) -> dict:
        return {"applied": self.applied, "well_formed": self.well_formed, "files": self.files,
                "diff": self.diff, "seconds": round(self.seconds, 3), "tokens": self.tokens,
                "notes": self.notes}


_TRIES: dict[int, TokenTrie] = {}


def _trie_for(backend: Backend) -> TokenTrie | None:
    """The backend's token trie, built once per loaded backend (a large vocabulary takes
    a second), or None when the backend cannot take a logits processor."""
    if not getattr(backend, "supports_logits_processor", False):
        return None
    token_bytes = getattr(backend, "token_bytes", None)
    if token_bytes is None:
        return None
    key = id(backend)
    if key not in _TRIES:
        _TRIES[key] = TokenTrie(token_bytes())
    return _TRIES[key]


def _covering_block(path: str, text: str, renamed: str, index: int) -> EditBlock | None:
    """A block that turns `text` into `renamed` (they differ in a few lines): the lines from
    the first difference to the last, widened until they occur once in `text`."""
    a, b = text.splitlines(keepends=True), renamed.splitlines(keepends=True)
    if len(a) != len(b) or "\r" in text or not text.endswith("\n"):
        return None  # blocks are LF lines that end with a newline
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if not diff:
        return None
    lo, hi = diff[0], diff[-1] + 1
    while text.count("".join(a[lo:hi])) > 1:
        if lo == 0 and hi == len(a):
            return None
        lo, hi = max(lo - 1, 0), min(hi + 1, len(a))
    return EditBlock(index, path, "".join(a[lo:hi]), "".join(b[lo:hi]))


def _finish_renames(new_contents: dict[str, str], files: dict[str, str],
                    count: int) -> tuple[list[EditBlock], list[str]]:
    """One more block per file where the reply renamed a function but left some of its uses
    under the old name (verify.completed_rename): it renames those uses, so the diff shows
    them and they apply with the rest; and a note per block that says hrm made it."""
    blocks, notes = [], []
    for rel, text in new_contents.items():
        done = completed_rename(rel, files[rel], text) if rel in files else None
        block = _covering_block(rel, text, done.text, count + len(blocks) + 1) if done else None
        if block is not None:
            blocks.append(block)
            notes.append(f"the model renamed `{done.old}` to `{done.new}` in {rel}; hrm "
                         f"renamed its {done.uses} other use(s) there too (in the diff)")
    return blocks, notes


@dataclass
class EditCoder:
    backend: Backend
    root: Path
    edit_format: str = "diff"
    constrain: bool = True
    max_repairs: int = MAX_REPAIRS
    options: GenerationOptions = field(default_factory=lambda: GenerationOptions(max_tokens=1024))
    session: Session | None = None
    on_text: Callable[[str], None] | None = None
    on_attempt: Callable[[int, str], None] | None = None  # (attempt, failure report) before a retry
    # Edits may only touch the files given to the coder: a model that names another path
    # (small models hallucinate them) gets that back as a failure instead of a new file.
    allow_other_files: bool = False
    # Send back edits that leave a file unparseable (hrmcli.agent.verify). The polyglot
    # benchmark turns this off to keep Aider's procedure: apply, lint, then a lint repair.
    check_syntax: bool = True
    # Earlier turns of a conversation that spans requests, sent before this request's files
    # (shown as they are now). Each propose() appends its own turns: the task, any repairs
    # and the last reply. The polyglot benchmark keeps chat history between tries this way.
    history: list[Message] | None = None
    # Files git left with conflict markers in a merge: SEARCH may quote whole conflict
    # regions there (hrmcli.agent.apply reads such blocks only in these files).
    conflicted: frozenset[str] = frozenset()

    def read_files(self, paths: Sequence[str]) -> list[tuple[str, str]]:
        files = []
        for p in paths:
            try:
                rel, real = resolve_in_root(self.root, p)
            except Refused as e:
                raise CoderError(str(e)) from None
            if not real.is_file():
                raise CoderError(f"{rel} does not exist (or is not a file) in {self.root}")
            data = real.read_bytes()
            if len(data) > MAX_FILE_BYTES:
                raise CoderError(f"{rel} is {len(data)} bytes; hrm edits files up to {MAX_FILE_BYTES}")
            if b"\0" in data[:8192]:
                raise CoderError(f"{rel} looks binary; hrm only edits text files")
            try:
                files.append((rel, data.decode("utf-8-sig")))
            except UnicodeDecodeError:
                raise CoderError(f"{rel} is not UTF-8 text; convert it first") from None
        return files

    def _processor(self, files: list[tuple[str, str]]) -> SearchConstraint | None:
        if not self.constrain or self.edit_format != "diff":
            return None
        trie = _trie_for(self.backend)
        return SearchConstraint(trie, dict(files)) if trie else None

    def _own_spelling(self, edits: list, allowed: set[str]) -> list:
        """A block whose path names a file being edited in another case ("invoice.java" for
        Invoice.java) is read as that file, when exactly one file matches that way: small
        models lower-case names. A path that matches no file, or several, is left as written
        (and reported by _outside)."""
        out = []
        for e in edits:
            low = e.path.replace("\\", "/").removeprefix("./").lower()
            if e.path not in allowed:
                same = [a for a in allowed if a.lower() == low]
                if len(same) == 1:
                    e = dataclasses.replace(e, path=same[0])
            out.append(e)
        return out

    def _outside(self, edits: list, allowed: set[str]) -> list[BlockFailure]:
        if self.allow_other_files:
            return []
        out = []
        for i, e in enumerate(edits, 1):
            try:
                rel = resolve_in_root(self.root, e.path)[0]
            except Refused:
                continue  # the applier reports the refusal itself
            if rel not in allowed:
                out.append(BlockFailure(getattr(e, "index", i), e.path,
                                        f"{e.path} is not one of the files being edited "
                                        f"({', '.join(sorted(allowed))})"))
        return out

    def _check(self, reply: str, files: dict[str, str] | None = None
               ) -> tuple[list, ApplyResult | None, list[BlockFailure], list[str]]:
        """Parse and dry-run a reply: (edits, dry-run result, failures, notes on what hrm
        added to the edits). With `files` (path
        -> content as read from disk), edits may touch only those files; edits that apply but change
        nothing, leave one of them unparseable, or leave a use of a function they renamed or
        removed, are failures too (hrmcli.agent.verify)."""
        if self.edit_format == "whole":
            try:
                edits: list = parse_whole_files(reply)
            except MalformedWholeFile as e:
                return [], None, [BlockFailure(0, "", str(e))], []
            errors: list[BlockFailure] = []
            apply = apply_whole_files
        else:
            parsed = parse_edits(reply)
            edits, errors = parsed.blocks, list(parsed.errors)
            apply = functools.partial(apply_edits, conflicted=self.conflicted)
        if not edits and not errors:
            what = "SEARCH/REPLACE blocks" if self.edit_format == "diff" else "whole-file blocks"
            errors = [BlockFailure(0, "", f"the reply has no {what}")]
        if not errors and files is not None:
            edits = self._own_spelling(edits, set(files))
            errors = self._outside(edits, set(files))
        if errors:
            return edits, None, errors, []
        result = apply(edits, self.root, dry_run=True)
        failed = list(result.failed)
        if not failed and not result.applied:
            failed = [BlockFailure(0, "", NO_CHANGE)]
        notes: list[str] = []
        if not failed and files and self.check_syntax and self.edit_format == "diff":
            more, notes = _finish_renames(result.new_contents, files, len(edits))
            if more:
                edits = edits + more
                result = apply(edits, self.root, dry_run=True)
                failed = list(result.failed)
        for rel, text in result.new_contents.items() if not failed else ():
            checked = self.check_syntax and files and rel in files
            why = (broken_syntax(rel, files[rel], text) or dangling_names(rel, files[rel], text)) \
                if checked else None
            if why:
                failed.append(BlockFailure(0, rel, why))
        return edits, result, failed, notes

    def propose(self, paths: Sequence[str], task: str) -> EditOutcome:
        """Ask for edits and dry-run them, repairing up to max_repairs times. Writes nothing."""
        files = self.read_files(paths)
        style = getattr(self.backend, "prompt_style", prompts.CHAT_STYLE)
        ctx = int(getattr(self.backend, "context_size", 0) or 0)
        # Files too long for the context are shown as a window around what the task names;
        # edits still apply to, and SEARCH is still constrained by, the whole files.
        shown = fit_files(files, task, ctx, min(self.options.max_tokens, ctx // 3) + 300) \
            if ctx else files
        messages: list[Message] = prompts.edit_messages(shown, task, style, self.edit_format,
                                                        self.history or ())
        turns = [Message("user", task)]
        if self.session:
            self.session.message("user", task)
        t0 = time.perf_counter()
        tokens = prompt_tokens = 0
        reply, failures, edits, result = "", [], [], None
        notes: list[str] = []
        resample = style == prompts.HRM_STYLE
        for attempt in range(1, self.max_repairs + 2):
            opts = GenerationOptions(**{**vars(self.options), "logits_processor": self._processor(files)})
            if resample and attempt > 1:
                opts.temperature = max(opts.temperature, RESAMPLE_TEMPERATURE)
                opts.top_p = min(opts.top_p, RESAMPLE_TOP_P)
                opts.seed = (opts.seed or 0) + attempt - 1
            try:
                done = complete(self.backend, messages, opts, self.on_text)
            except ContextExceeded as e:
                if attempt == 1:
                    raise
                # The repair conversation outgrew the model: stop and report the last failure.
                failures = failures + [BlockFailure(0, "", f"stopped repairing: {e}")]
                break
            tokens += done.completion_tokens
            prompt_tokens += done.prompt_tokens
            reply = strip_thinking(done.text)
            turns.append(Message("assistant", done.text))
            if self.session:
                self.session.message("assistant", done.text, done.completion_tokens)
                self.session.generation(done.seconds, done.prompt_tokens, done.completion_tokens,
                                        done.finish_reason)
            edits, result, failures, notes = self._check(reply, dict(files))
            if not failures or attempt > self.max_repairs:
                break
            report = "\n".join(f"- {f}" for f in failures)
            if self.on_attempt:
                self.on_attempt(attempt + 1, report)
            if resample:  # ask again from the same prompt; only the last reply is kept
                turns.pop()
                continue
            repair = prompts.repair_messages(done.text, report, style)
            messages, turns = messages + repair, turns + repair[1:]  # [0] is the reply
        if self.history is not None:
            self.history.extend(turns)
        ok = not failures and result is not None
        outcome = EditOutcome(
            applied=False, well_formed=ok,
            files=list(result.applied) if ok and result else [],
            diff=result.diff if ok and result else "",
            seconds=time.perf_counter() - t0, tokens=tokens, reply=reply, attempts=attempt,
            prompt_tokens=prompt_tokens, errors=[str(f) for f in failures],
            edits=edits if ok else [], notes=notes if ok else [],
        )
        if self.session:
            self.session.edit(outcome.files, outcome.diff, applied=False, well_formed=ok,
                              seconds=outcome.seconds)
        return outcome

    def apply_proposal(self, outcome: EditOutcome) -> EditOutcome:
        """Write a well-formed proposal, all or nothing and without git commits, through
        the one edit transaction (hrmcli.agent.transaction). Files may have changed since
        the dry run, so the edits are matched again; a failure leaves everything untouched.
        hrm edit, apply, run and chat use EditTransaction itself, which also saves your
        pending changes and commits the edit for `hrm undo`."""
        if not outcome.well_formed:
            raise CoderError("the proposal is not well formed; nothing to apply")
        done = EditTransaction(self.root, commit=False, session=self.session).apply(
            outcome.edits, self.edit_format)
        if not done.ok:
            outcome.errors = done.errors
            return outcome
        outcome.applied = True
        outcome.files, outcome.diff = done.files, done.diff
        return outcome

    def run(self, paths: Sequence[str], task: str, dry_run: bool = False) -> EditOutcome:
        outcome = self.propose(paths, task)
        if dry_run or not outcome.well_formed:
            return outcome
        return self.apply_proposal(outcome)
