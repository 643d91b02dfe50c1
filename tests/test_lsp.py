"""`hrm lsp` end to end: the real server started as a subprocess (`python -m hrmcli lsp`),
spoken to over stdio by pygls's own LSP client acting as the editor, with the model served
by the scripted OpenAI-compatible server over real HTTP on 127.0.0.1.

The editor here holds a document whose text differs from the file on disk (unsaved work),
applies the server's workspace/applyEdit to its own copy and reports the change back with
didChange, as an editor does.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import threading
from pathlib import Path
from typing import Union

import pytest

pytest.importorskip("pygls")

from lsprotocol import types  # noqa: E402
from pygls.exceptions import JsonRpcException  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402
from pygls.protocol import default_converter  # noqa: E402

from hrmcli.lsp import actions  # noqa: E402
from hrmcli.lsp.text import line_edits  # noqa: E402
from tests.scripted_server import ScriptedServer  # noqa: E402

ON_DISK = "def greet(name):\n    return 'hi ' + name\n"
EDITOR = ("def greet(name):\n    return 'hi ' + nam\n\n\n"
          "def add(a, b):\n    total = a + b\n    return total\n")


def block(search: str, replace: str) -> str:
    return (f"I'll change app.py.\n\napp.py\n```python\n<<<<<<< SEARCH\n{search}=======\n"
            f"{replace}>>>>>>> REPLACE\n```\n")


SIMPLIFY = block("    total = a + b\n    return total\n", "    return a + b\n")
DOCSTRING = block("def greet(name):\n", 'def greet(name):\n    """Return a greeting for name."""\n')
FIX = block("    return 'hi ' + nam\n", "    return 'hi ' + name\n")
MALFORMED = "app.py\n```python\n<<<<<<< SEARCH\n    total = a + b\n```\n"
TIMEOUT = 90


def by_task(kind: str, messages: list[dict]) -> str:
    """The model: a reply chosen by what the task asks."""
    task = messages[-1]["content"]
    if "Simplify" in task:
        return SIMPLIFY
    if "docstring" in task:
        return DOCSTRING
    if "undefined name" in task:
        return FIX
    return "I do not know what to change."


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    """The editor's side: LSP positions (ASCII text here, so UTF-16 units are characters)
    to offsets, applied from the end so earlier offsets stay valid."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def offset(p: types.Position) -> int:
        if p.line >= len(starts):
            return len(text)
        return min(starts[p.line] + p.character, len(text))

    spans = sorted(((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits),
                   reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def _converter():  # noqa: ANN202 - a cattrs Converter
    """pygls's converter, except that a code action result item is a CodeAction whenever
    its "command" is an object: the stock union hook reads every item as a Command."""
    conv = default_converter()

    def code_action_or_command(obj: dict, _type: object) -> object:
        kind = types.Command if isinstance(obj.get("command"), str) else types.CodeAction
        return conv.structure(obj, kind)

    union = Union[types.Command, types.CodeAction]  # noqa: UP007 - the type lsprotocol names
    conv.register_structure_hook(union, code_action_or_command)
    return conv


class Editor:
    """An editor as the server sees one: pygls's LanguageClient on the server's stdio,
    holding one document, applying workspace/applyEdit to it and recording what the server
    sent (applied edits, messages, progress, questions)."""

    def __init__(self, root: Path, answer: str | None = "Simplify") -> None:
        self.root = root
        self.uri = (root / "app.py").as_uri()
        self.text = EDITOR
        self.version = 1
        self.answer = answer
        self.applied: list[types.ApplyWorkspaceEditParams] = []
        self.messages: list[types.ShowMessageParams] = []
        self.asked: list[types.ShowMessageRequestParams] = []
        self.created: list[str] = []
        self.progress: list[tuple[str, str, str]] = []  # (token, kind, message)
        self.client = c = LanguageClient("test-editor", "1", converter_factory=_converter)

        @c.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.applied.append(params)
            (change,) = params.edit.document_changes
            if change.text_document.version != self.version:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="stale")
            self.text = apply_text_edits(self.text, change.edits)
            self.version += 1
            c.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri,
                                                                    version=self.version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=self.text)]))
            return types.ApplyWorkspaceEditResult(applied=True)

        @c.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params)

        @c.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def ask(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            self.asked.append(params)
            return types.MessageActionItem(title=self.answer) if self.answer else None

        @c.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create(params: types.WorkDoneProgressCreateParams) -> None:
            self.created.append(str(params.token))

        @c.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            value = params.value if isinstance(params.value, dict) else {}
            self.progress.append((str(params.token), value.get("kind", ""),
                                  value.get("message", "")))

    async def start(self, model: str, home: Path) -> None:
        env = {**os.environ, "HRM_HOME": str(home)}
        await self.client.start_io(sys.executable, "-m", "hrmcli", "lsp", "--model", model,
                                   cwd=str(self.root), env=env)
        caps = types.ClientCapabilities(
            window=types.WindowClientCapabilities(
                work_done_progress=True,
                show_message=types.ShowMessageRequestClientCapabilities()),
            workspace=types.WorkspaceClientCapabilities(
                apply_edit=True,
                workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)))
        result = await asyncio.wait_for(self.client.initialize_async(types.InitializeParams(
            capabilities=caps, process_id=os.getpid(), root_uri=self.root.as_uri())), TIMEOUT)
        assert set(actions.COMMANDS) <= set(result.capabilities.execute_command_provider.commands)
        self.client.initialized(types.InitializedParams())
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=self.uri, language_id="python",
                                                 version=self.version, text=self.text)))

    async def stop(self) -> int | None:
        """shutdown, then exit: the server's exit code (None if it had to be killed)."""
        server = self.client._server
        code = None
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 30)
            self.client.exit(None)
            code = await asyncio.wait_for(server.wait(), 30)
        finally:
            if server.returncode is None:
                server.kill()
                await server.wait()
            await self.client.stop()
        return code

    async def code_actions(self, start: int, end: int,
                           diagnostics: list[types.Diagnostic] = ()) -> list[types.CodeAction]:
        rng = types.Range(start=types.Position(line=start, character=0),
                          end=types.Position(line=end, character=0))
        got = await asyncio.wait_for(self.client.text_document_code_action_async(
            types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=self.uri),
                                   range=rng, context=types.CodeActionContext(
                                       diagnostics=list(diagnostics)))), TIMEOUT)
        return list(got or [])

    async def execute(self, action: types.CodeAction) -> object:
        return await asyncio.wait_for(self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=action.command.command,
                                       arguments=action.command.arguments)), TIMEOUT)

    def tokens_with(self, kind: str) -> list[str]:
        return [t for t, k, _ in self.progress if k == kind]

    async def until(self, check, what: str, seconds: float = 15) -> None:  # noqa: ANN001
        for _ in range(int(seconds * 20)):
            if check():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    (root / "app.py").write_text(ON_DISK)
    return root


def _pick(found: list[types.CodeAction], command: str) -> types.CodeAction:
    matches = [a for a in found if a.command and a.command.command == command]
    assert len(matches) == 1, [a.title for a in found]
    return matches[0]


def test_three_actions_edit_the_editors_text(tmp_path: Path):
    root = _repo(tmp_path)
    undefined = types.Diagnostic(
        range=types.Range(start=types.Position(line=1, character=19),
                          end=types.Position(line=1, character=22)),
        message="undefined name 'nam'", source="pyflakes", code="F821")

    async def main(srv: ScriptedServer) -> str:
        ed = Editor(root)
        await ed.start(srv.spec, tmp_path / "home")
        try:
            # lines 6-7, inside add(), no diagnostics: edit and document, no fix
            found = await ed.code_actions(5, 7)
            assert [a.title for a in found] == ["hrm: edit selection…",
                                                "hrm: document this function"]
            result = await ed.execute(_pick(found, actions.EDIT))
            assert result == {"applied": True}
            assert [a.title for a in ed.asked[0].actions] == list(actions.PRESET_INSTRUCTIONS)
            assert ed.text == EDITOR.replace("    total = a + b\n    return total\n",
                                             "    return a + b\n")
            task = srv.messages(0)[-1]["content"]
            assert "Simplify" in task and "lines 6-7 of app.py" in task
            assert "    total = a + b\n    return total\n```" in task

            # inside greet(), with the editor's diagnostic: all three
            found = await ed.code_actions(1, 1, [undefined])
            assert [a.kind for a in found] == [types.CodeActionKind.RefactorRewrite] * 2 + \
                [types.CodeActionKind.QuickFix]
            assert await ed.execute(_pick(found, actions.DOCUMENT)) == {"applied": True}
            assert "docstring to `greet` (lines 1-2 of app.py)" in srv.messages(1)[-1]["content"]
            assert await ed.execute(_pick(found, actions.FIX)) == {"applied": True}
            fix_task = srv.messages(2)[-1]["content"]
            assert "pyflakes reports at line 2 of app.py [F821]: undefined name 'nam'" in fix_task

            assert len(ed.applied) == 3 and all(p.label.startswith("hrm: ") for p in ed.applied)
            # each command: a created token, then begin ... end on it
            assert len(ed.created) == 3
            assert ed.tokens_with("begin") == ed.created
            await ed.until(lambda: ed.tokens_with("end") == ed.created, "progress end")
            assert not [m for m in ed.messages if m.type == types.MessageType.Error]
            # the model saw the editor's unsaved text, not the file on disk
            assert "'hi ' + nam\n" in srv.messages(0)[-1]["content"]
        except BaseException:
            await ed.stop()
            raise
        assert await ed.stop() == 0  # exit after shutdown, at once
        return ed.text

    with ScriptedServer(by_task) as srv:
        text = asyncio.run(main(srv))
    assert text == ('def greet(name):\n    """Return a greeting for name."""\n'
                    "    return 'hi ' + name\n\n\ndef add(a, b):\n    return a + b\n")
    assert (root / "app.py").read_text() == ON_DISK  # the server never writes files


def test_malformed_reply_is_an_error_message_and_the_server_goes_on(tmp_path: Path):
    root = _repo(tmp_path)

    async def main(srv: ScriptedServer) -> None:
        ed = Editor(root)
        await ed.start(srv.spec, tmp_path / "home")
        try:
            found = await ed.code_actions(5, 7)
            assert await ed.execute(_pick(found, actions.EDIT)) == {"applied": False}
            errors = [m.message for m in ed.messages if m.type == types.MessageType.Error]
            assert len(errors) == 1, ed.messages
            assert "did not give edits that apply; nothing was changed" in errors[0]
            assert "divider" in errors[0]  # the parser's own reason
            assert ed.applied == [] and ed.text == EDITOR
            await ed.until(lambda: ed.tokens_with("end") == ed.created, "progress end")
            # still serving
            assert len(await ed.code_actions(0, 1)) == 2
            assert ed.client._server.returncode is None
        finally:
            await ed.stop()

    with ScriptedServer([MALFORMED] * 4) as srv:
        asyncio.run(main(srv))
    assert len(srv.requests) == 4  # the first try and the coder's three repairs


def test_unreachable_model_is_an_error_message(tmp_path: Path):
    root = _repo(tmp_path)

    async def main() -> None:
        ed = Editor(root)
        # nothing listens on port 9 of this machine
        await ed.start("openai:http://127.0.0.1:9/v1#none", tmp_path / "home")
        try:
            found = await ed.code_actions(1, 1)
            assert await ed.execute(_pick(found, actions.DOCUMENT)) == {"applied": False}
            (error,) = [m.message for m in ed.messages if m.type == types.MessageType.Error]
            assert error.startswith("hrm: ") and "127.0.0.1:9" in error
        finally:
            await ed.stop()

    asyncio.run(main())


# About 90 pieces at 0.05 s each: a model still writing when the user cancels.
LONG = block("    total = a + b\n    return total\n",
             "    return a + b\n    # " + "x" * 500 + "\n")


def test_cancel_ends_the_request_and_stops_generation(tmp_path: Path):
    """A slow model (the scripted server writes a piece every 0.05 s and pauses mid-reply):
    $/cancelRequest, then the progress's cancel button. Each ends its request at once with
    no edit, and once the model writes again the server drops the connection before the
    reply is finished instead of reading on."""
    root = _repo(tmp_path)

    async def main(srv: ScriptedServer) -> None:
        ed = Editor(root)
        await ed.start(srv.spec, tmp_path / "home")
        try:
            action = _pick(await ed.code_actions(5, 7), actions.EDIT)
            # the instruction as the command's argument: no question asked
            args = [{**action.command.arguments[0], "instruction": "Simplify"}]
            params = types.ExecuteCommandParams(command=actions.EDIT, arguments=args)

            # 1. $/cancelRequest
            srv.hold = threading.Event()
            pending = ed.client.protocol.send_request_async(
                types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="slow-1")
            assert await asyncio.to_thread(srv.holding.wait, TIMEOUT)
            ed.client.cancel_request(types.CancelParams(id="slow-1"))
            with pytest.raises(JsonRpcException) as cancelled:
                await asyncio.wait_for(pending, 10)
            assert cancelled.value.code == -32800  # RequestCancelled
            await ed.until(lambda: len(ed.tokens_with("end")) == 1, "progress end")
            assert ed.progress[-1][1:] == ("end", "cancelled")
            assert not srv.dropped.is_set()  # the model is still paused mid-reply
            srv.hold.set()
            assert await asyncio.to_thread(srv.dropped.wait, 15), "the reply was read on"

            # 2. the progress's cancel button
            srv.holding.clear()
            srv.dropped.clear()
            srv.hold = threading.Event()
            pending = ed.client.protocol.send_request_async(
                types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="slow-2")
            assert await asyncio.to_thread(srv.holding.wait, TIMEOUT)
            token = ed.tokens_with("begin")[-1]
            ed.client.window_work_done_progress_cancel(
                types.WorkDoneProgressCancelParams(token=token))
            assert await asyncio.wait_for(pending, 10) == {"applied": False}
            assert ed.tokens_with("end") == ed.tokens_with("begin")
            srv.hold.set()
            assert await asyncio.to_thread(srv.dropped.wait, 15), "the reply was read on"

            assert ed.applied == [] and ed.text == EDITOR
            assert not [m for m in ed.messages if m.type == types.MessageType.Error]
            await asyncio.sleep(0.5)
            assert len(srv.requests) == 2  # no repair request after either cancel
        finally:
            await ed.stop()

    with ScriptedServer([LONG, LONG], delay=0.05) as srv:
        asyncio.run(main(srv))


def test_line_edits_touch_only_changed_lines():
    old = "a\r\nb\r\nc"
    edits = line_edits(old, "a\r\nB\r\nc")
    assert [(e.range.start.line, e.range.end.line, e.new_text) for e in edits] == \
        [(1, 2, "B\r\n")]
    # a last line without a newline ends at its length in UTF-16 units (𝔘 counts two)
    (edit,) = line_edits("x\n𝔘y", "x\nz\n")
    assert (edit.range.end.line, edit.range.end.character) == (1, 3)
    assert apply_text_edits("x\nab", line_edits("x\nab", "x\nab\nc\n")) == "x\nab\nc\n"
    assert line_edits("same\n", "same\n") == []


def test_enclosing_function_is_the_innermost():
    src = "class A:\n    def m(self):\n        return 1\n\n\ndef f():\n    pass\n"
    assert actions.enclosing_function(src, "x.py", 2) == actions.Function("m", 1, 2)
    assert actions.enclosing_function(src, "x.py", 6).name == "f"
    assert actions.enclosing_function(src, "x.py", 0) is None  # the class line
    assert actions.enclosing_function(src, "notes.txt", 1) is None
