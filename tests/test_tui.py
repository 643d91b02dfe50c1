"""`hrm chat` driven headless with Textual's run_test()/Pilot against a real SSE server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hrmcli.agent.backends import load_backend
from hrmcli.agent.history import History
from hrmcli.tui.app import SLASH_COMMANDS, ChatApp
from hrmcli.tui.screens import DiffReview
from hrmcli.tui.widgets import Message
from tests.scripted_server import ScriptedServer
from tests.test_loop import CALC, FIX, git, make_repo, plan_then

REPLY = "Flip the operator.\n\n" + FIX


async def _settle(app: ChatApp, pilot, until=lambda: False, timeout: float = 30.0) -> None:
    """Let workers and the screen catch up until `until()` holds (or the workers finish)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        await pilot.pause(0.05)
        if until():
            return
    raise AssertionError("the app did not reach the expected state in time")


def _texts(app: ChatApp) -> str:
    return app.conversation.transcript()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


async def _type(pilot, text: str) -> None:
    app = pilot.app
    app.query_one("#prompt").value = text
    await pilot.press("enter")


def test_message_streams_diff_applies_and_undo(repo: Path, tmp_path: Path) -> None:
    async def scenario() -> None:
        with ScriptedServer(plan_then("1. done\n", edit=REPLY), chunk=5) as srv:
            history = History(tmp_path / "h.sqlite3")
            app = ChatApp(repo, load_backend(srv.spec), history=history)
            async with app.run_test(size=(120, 40)) as pilot:
                await _type(pilot, "/add calc.py")
                await pilot.pause()
                assert app.files == ["calc.py"]
                await _type(pilot, "make add add")
                await _settle(app, pilot, lambda: isinstance(app.screen, DiffReview))
                # the reply streamed in many pieces into one assistant message
                streamed = [m for m in app.query(Message) if m.role == "assistant"]
                assert streamed and streamed[-1].text.startswith("Flip the operator.")
                assert streamed[-1].updates > 10
                assert "+    return a + b" in app.screen.diff
                await pilot.press("a")
                await _settle(app, pilot, lambda: "/undo reverts it" in _texts(app))
                assert (repo / "calc.py").read_text().endswith("a + b\n")
                assert "Hrm-Edit: true" in git(repo, "log", "-1", "--format=%B")
                await _type(pilot, "/diff")
                await pilot.pause()
                assert "+    return a + b" in _texts(app)
                await _type(pilot, "/undo")
                await pilot.pause()
                assert (repo / "calc.py").read_text() == CALC
                assert "undid" in _texts(app)
                session_id = app.session.id
            # the session was stored and resumes with its messages and files
            app2 = ChatApp(repo, load_backend(srv.spec), history=history, resume=session_id)
            async with app2.run_test(size=(120, 40)) as pilot:
                await pilot.pause()
                assert "make add add" in _texts(app2)
                assert app2.files == ["calc.py"]
            history.close()

    asyncio.run(scenario())


def test_rejecting_a_diff_changes_nothing(repo: Path) -> None:
    async def scenario() -> None:
        with ScriptedServer(plan_then("1. done\n", edit=REPLY)) as srv:
            app = ChatApp(repo, load_backend(srv.spec))
            async with app.run_test(size=(120, 40)) as pilot:
                await _type(pilot, "/add calc.py")
                await _type(pilot, "make add add")
                await _settle(app, pilot, lambda: isinstance(app.screen, DiffReview))
                await pilot.press("r")
                await _settle(app, pilot, lambda: "edit rejected" in _texts(app))
        assert (repo / "calc.py").read_text() == CALC
        assert git(repo, "status", "--porcelain") == ""

    asyncio.run(scenario())


def test_help_lists_every_command(repo: Path) -> None:
    async def scenario() -> None:
        with ScriptedServer(plan_then("1. done\n")) as srv:
            app = ChatApp(repo, load_backend(srv.spec))
            async with app.run_test() as pilot:
                await _type(pilot, "/help")
                await pilot.pause()
                text = _texts(app)
                for cmd in ("/add", "/drop", "/diff", "/undo", "/run", "/test", "/model", "/help"):
                    assert cmd in text
                shown = str(app.query(Message).last().render())  # as drawn, not as stored
                assert "/model [SPEC]" in shown and "/add FILE..." in shown
                assert set(SLASH_COMMANDS) == {"/add", "/drop", "/diff", "/undo", "/run",
                                               "/test", "/model", "/help"}
                await _type(pilot, "/frobnicate")
                await pilot.pause()
                assert "unknown command /frobnicate" in _texts(app)
                await _type(pilot, "/add ../../etc/passwd")
                await pilot.pause()
                assert "outside the project root" in _texts(app) and app.files == []

    asyncio.run(scenario())


def test_run_shows_plan_and_test_reports(repo: Path) -> None:
    plan = "1. read calc.py\n2. edit calc.py\n3. run_tests\n4. done\n"

    async def scenario() -> None:
        with ScriptedServer(plan_then(plan)) as srv:
            app = ChatApp(repo, load_backend(srv.spec))
            async with app.run_test(size=(120, 40)) as pilot:
                await _type(pilot, "/test")
                await _settle(app, pilot, lambda: "tests FAILED" in _texts(app))
                await _type(pilot, "/run fix add")
                await _settle(app, pilot, lambda: isinstance(app.screen, DiffReview))
                plan_text = str(app.plan_panel.render())
                assert "2. edit calc.py" in plan_text and "3. run_tests" in plan_text
                await pilot.press("a")
                await _settle(app, pilot, lambda: "run finished" in _texts(app))
                assert "run finished: tests pass (done)" in _texts(app)
                await _type(pilot, "/model")
                await pilot.pause()
                assert "model: openai:" in _texts(app)
        assert (repo / "calc.py").read_text().endswith("a + b\n")

    asyncio.run(scenario())
