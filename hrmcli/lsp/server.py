"""The Language Server: the editor's documents, three code actions, and the command each
runs, with progress and cancellation.

A command runs as an asyncio task that keeps the protocol answering; the model is loaded
and the proposal made on a worker thread, one proposal at a time (one model). The result
goes to the editor as workspace/applyEdit, versioned where the client allows, so an edit
to a document that changed meanwhile is refused rather than misapplied.

Two ways to cancel: $/cancelRequest for the workspace/executeCommand request (pygls then
answers it as cancelled; HrmProtocol also stops the proposal), or the progress's cancel
button (window/workDoneProgress/cancel), after which the command answers
{"applied": false}. Either way generation stops at the model's next piece.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.workspace import TextDocument

from hrmcli import __version__
from hrmcli.agent.backends.base import GenerationOptions
from hrmcli.lsp import actions
from hrmcli.lsp.job import Cancelled, EditJob, ProposalFailed, StoppableBackend
from hrmcli.lsp.text import line_edits, lsp_lines

log = logging.getLogger("hrmcli.lsp")

NOT_APPLIED = {"applied": False}
TITLES = {actions.EDIT: "hrm: edit selection", actions.DOCUMENT: "hrm: document function",
          actions.FIX: "hrm: fix diagnostic"}


class HrmProtocol(LanguageServerProtocol):
    def _handle_cancel_notification(self, msg_id: Any) -> None:
        # pygls answers the request as cancelled, but a handler already running keeps
        # going; stopping the proposal is ours to do.
        stop = self._server.stops.get(msg_id)
        if stop is not None:
            stop.set()
        super()._handle_cancel_notification(msg_id)


class HrmServer(LanguageServer):
    def __init__(self, model: str = "", edit_format: str = "diff",
                 options: GenerationOptions | None = None) -> None:
        super().__init__("hrm", __version__, protocol_cls=HrmProtocol)
        self.model_spec = model
        self.edit_format = edit_format
        self.options = options or GenerationOptions(max_tokens=1024)
        self.stops: dict[Any, threading.Event] = {}  # request id -> its stop signal
        self.shutdown_requested = False
        self._backend: StoppableBackend | None = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def backend(self) -> StoppableBackend:
        """The --model backend, loaded on first use (the bundled model takes seconds)."""
        with self._load_lock:
            if self._backend is None:
                from hrmcli.agent.backends import load_backend

                self._backend = StoppableBackend(load_backend(self.model_spec))
            return self._backend

    def open_document(self, uri: str) -> TextDocument | None:
        """The document as the editor holds it; None unless the editor opened it (pygls
        would otherwise read the disk copy)."""
        return self.workspace.text_documents.get(unquote(uri))

    def show(self, message: str, kind: types.MessageType = types.MessageType.Error) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def relative_path(self, doc_path: str) -> str:
        """The document's path as `hrm edit` would name it: relative to the workspace root,
        or just its name outside one."""
        p = Path(doc_path)
        root = self.workspace.root_path
        if root:
            try:
                return p.resolve().relative_to(Path(root).resolve()).as_posix()
            except (ValueError, OSError):
                pass
        return p.name or "document.txt"

    async def ask_instruction(self) -> str | None:
        """A preset instruction picked with window/showMessageRequest, which offers buttons
        but no text field (free text comes as the command's "instruction")."""
        item = await self.window_show_message_request_async(types.ShowMessageRequestParams(
            type=types.MessageType.Info,
            message="hrm: how should the selection change?",
            actions=[types.MessageActionItem(title=t) for t in actions.PRESET_INSTRUCTIONS],
        ))
        return item.title if item is not None else None

    async def task_for(self, command: str, arg: dict, source: str, rng: types.Range,
                       path: str) -> str | None:
        """The coder's task for a command, or None (after telling the user why)."""
        if command == actions.EDIT:
            instruction = str(arg.get("instruction") or "").strip() or await self.ask_instruction()
            if not instruction:
                return None
            start, end = rng.start.line, rng.end.line
            if end > start and rng.end.character == 0:
                end -= 1  # a selection of whole lines ends at the start of the next
            selection = "".join(lsp_lines(source)[start:end + 1])
            return actions.edit_task(path, start, end, selection, instruction)
        if command == actions.DOCUMENT:
            fn = actions.enclosing_function(source, path, rng.start.line)
            if fn is None:
                self.show(f"hrm: no function around line {rng.start.line + 1} of {path}",
                          types.MessageType.Warning)
                return None
            return actions.document_task(path, fn)
        diagnostic = arg.get("diagnostic")
        if not isinstance(diagnostic, dict) or not diagnostic.get("message"):
            self.show("hrm: fix needs the diagnostic (the code action passes it)")
            return None
        return actions.fix_task(path, diagnostic)

    async def run_command(self, command: str, args: tuple) -> dict:
        arg = args[0] if args and isinstance(args[0], dict) else {}
        uri = arg.get("uri")
        doc = self.open_document(uri) if isinstance(uri, str) else None
        if doc is None:
            self.show(f"hrm: {uri} is not open in the editor; open it and run the action again")
            return NOT_APPLIED
        rng = actions.parse_range(arg.get("range"))
        if rng is None:
            self.show(f"hrm: {command} needs a range as its argument's \"range\"")
            return NOT_APPLIED
        stop = threading.Event()
        msg_id = self.protocol.msg_id
        self.stops[msg_id] = stop
        try:
            source, version, path = doc.source, doc.version, self.relative_path(doc.path)
            task = await self.task_for(command, arg, source, rng, path)
            if task is None or stop.is_set():
                return NOT_APPLIED
            progress = await self.begin_progress(TITLES[command], stop)
            new_text = await self.propose(path, source, task, stop, progress)
        finally:
            self.stops.pop(msg_id, None)
        if new_text is None:
            return NOT_APPLIED
        if doc.version != version:
            self.show("hrm: the document changed while the model worked; run the action again",
                      types.MessageType.Warning)
            return NOT_APPLIED
        edits = line_edits(source, new_text, doc.position_codec.client_num_units)
        if not edits:
            self.show("hrm: the model's edits change nothing", types.MessageType.Info)
            return NOT_APPLIED
        result = await self.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
            edit=self.workspace_edit(uri, version, edits), label=TITLES[command]))
        if not result.applied:
            self.show(f"hrm: the editor did not apply the edit: "
                      f"{result.failure_reason or 'it gave no reason'}", types.MessageType.Warning)
        return {"applied": bool(result.applied)}

    def workspace_edit(self, uri: str, version: int | None,
                       edits: list[types.TextEdit]) -> types.WorkspaceEdit:
        caps = self.client_capabilities.workspace
        if caps and caps.workspace_edit and caps.workspace_edit.document_changes:
            doc = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
            return types.WorkspaceEdit(document_changes=[
                types.TextDocumentEdit(text_document=doc, edits=edits)])
        return types.WorkspaceEdit(changes={uri: edits})

    async def begin_progress(self, title: str, stop: threading.Event) -> str | None:
        """A server-created progress token shown by the client, whose cancel button sets
        `stop`; None when the client shows no progress."""
        window = self.client_capabilities.window
        if not (window and window.work_done_progress):
            return None
        token = f"hrm-{uuid.uuid4().hex}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception as e:  # the client refused: work on without progress
            log.warning("no progress: %s", e)
            return None
        future = self.work_done_progress.tokens.get(token)
        if future is not None:
            future.add_done_callback(lambda f: stop.set() if f.cancelled() else None)
        self.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title=title, cancellable=True, message="waiting for the model"))
        return token

    def end_progress(self, token: str | None, message: str) -> None:
        if token is None:
            return
        self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        self.work_done_progress.tokens.pop(token, None)

    async def propose(self, path: str, source: str, task: str, stop: threading.Event,
                      token: str | None) -> str | None:
        """The proposed text, or None after telling the user what went wrong."""
        loop = asyncio.get_running_loop()

        def report(message: str) -> None:
            if token is None or stop.is_set():
                return
            try:
                loop.call_soon_threadsafe(self.work_done_progress.report, token,
                                          types.WorkDoneProgressReport(message=message))
            except RuntimeError:
                pass  # the loop has closed: nobody to tell

        def work() -> str:
            with self._run_lock:  # one proposal at a time: one model
                if stop.is_set():
                    raise Cancelled()
                report("loading the model")
                backend = self.backend()
                job = EditJob(backend, path, source, task, edit_format=self.edit_format,
                              options=self.options, on_progress=report, cancelled=stop)
                return _logged(job, backend.name, self.workspace.root_path or "")

        ended = "failed"
        worker = _on_daemon_thread(loop, work)
        try:
            while not worker.done():
                await asyncio.wait([worker], timeout=0.1)
                if stop.is_set() and not worker.done():
                    # Answer now; the worker stops at the model's next piece (a stalled
                    # server sends none) and its Cancelled is collected unseen.
                    worker.add_done_callback(lambda f: f.cancelled() or f.exception())
                    raise Cancelled()
            new_text = worker.result()
            ended = "done"
            return new_text
        except Cancelled:
            ended = "cancelled"
            return None
        except ProposalFailed as e:
            self.show("hrm: the model's reply did not give edits that apply; nothing was "
                      f"changed. {_clip('; '.join(e.errors))}")
            return None
        except Exception as e:  # BackendError, CoderError and the unexpected: never a crash
            from hrmcli.agent.backends import BackendError
            from hrmcli.agent.coder import CoderError

            if not isinstance(e, (BackendError, CoderError)):
                log.exception("proposal failed")
            self.show(f"hrm: {_clip(str(e)) or type(e).__name__}")
            return None
        finally:
            self.end_progress(token, ended)


def _on_daemon_thread(loop: asyncio.AbstractEventLoop, fn: Callable[[], str]) -> asyncio.Future:
    """fn() on a daemon thread, as a future of `loop`. Not the loop's executor: a proposal
    abandoned after a cancel may wait on a stalled server, and that must not keep the
    server from exiting when the editor quits."""
    future = loop.create_future()

    def settle(result: str | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        try:
            result, error = fn(), None
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting task
            result, error = None, e
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:
            pass  # the loop has closed: the server is exiting and nobody waits

    threading.Thread(target=run, name="hrm-lsp-proposal", daemon=True).start()
    return future


def _clip(text: str, width: int = 600) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _logged(job: EditJob, model: str, root: str) -> str:
    """job.run() with its prompts, replies and outcome in the history log (hrm history),
    like every other command; a log that cannot be opened only costs the record."""
    from hrmcli.agent.history import History, HistoryError

    try:
        history = History()
    except HistoryError as e:
        log.warning("%s; this session is not logged", e)
        return job.run()
    with history:
        job.session = history.start("lsp", model, root, title=job.task)
        status = "error"
        try:
            text = job.run()
            status = "proposed"
            return text
        except Cancelled:
            status = "cancelled"
            raise
        except ProposalFailed:
            status = "malformed"
            raise
        finally:
            job.session.finish(status)


def build_server(model: str = "", edit_format: str = "diff",
                 options: GenerationOptions | None = None) -> HrmServer:
    server = HrmServer(model, edit_format, options)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite]))
    def code_action(ls: HrmServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        doc = ls.open_document(params.text_document.uri)
        return actions.code_actions(params, doc.source) if doc is not None else []

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: HrmServer, *_args: Any) -> None:
        ls.shutdown_requested = True

    @server.feature(types.EXIT)
    def exit_now(ls: HrmServer, *_args: Any) -> None:
        # pygls exits only once its stdin reader thread returns (when the editor closes the
        # pipe), and a proposal abandoned after a cancel may still wait on a stalled model
        # server: leave at once, with the code LSP asks for.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0 if ls.shutdown_requested else 1)

    for command in actions.COMMANDS:
        server.command(command)(_command_handler(command))
    return server


def _command_handler(command: str):
    async def handler(ls: HrmServer, *args: Any) -> dict:
        return await ls.run_command(command, args)

    handler.__name__ = command.replace(".", "_")
    return handler
