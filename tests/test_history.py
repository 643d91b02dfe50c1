"""Session history in a real SQLite file under HRM_HOME."""

from __future__ import annotations

import sqlite3

import pytest

from hrmcli.agent.history import History, HistoryError


def test_sessions_messages_events_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("HRM_HOME", str(tmp_path))
    with History() as h:
        s = h.start("run", "tiny.gguf", tmp_path, title="add a test")
        s.message("user", "add a test")
        s.plan([["read", "a.py"], ["edit", "a.py"]])
        s.generation(1.5, 100, 20)
        s.message("assistant", "reply", tokens=20)
        s.tool("run_tests", {"cmd": "pytest"}, ok=False, output="1 failed", seconds=0.4)
        s.edit(["a.py"], "--- a\n+++ b\n", applied=True, well_formed=True, seconds=2.0)
        s.finish("done")
        other = h.start("edit", "m")
    assert (tmp_path / "data" / "history.sqlite3").is_file()
    with History() as h:  # reopened from disk
        rows = h.list()
        assert [r["id"] for r in rows] == [other.id, s.id]
        assert rows[1]["edits"] == 1 and rows[1]["tokens"] == 20 and rows[1]["outcome"] == "done"
        shown = h.show(s.id)
        assert [m["role"] for m in shown["messages"]] == ["user", "assistant"]
        kinds = [e["kind"] for e in shown["events"]]
        assert kinds == ["plan", "generation", "tool", "edit"]
        tool = shown["events"][2]
        assert tool["ok"] is False and tool["data"]["output"] == "1 failed"
        assert h.resume(s.id).id == s.id
        with pytest.raises(HistoryError, match="no session 999"):
            h.show(999)
        with pytest.raises(ValueError, match="unknown event kind"):
            s.history = h
            s.event("nonsense", {})


def test_corrupt_database_is_a_clear_error(tmp_path):
    db = tmp_path / "h.sqlite3"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HistoryError, match="Move it aside"):
        History(db)
    assert db.read_bytes().startswith(b"this is not sqlite")  # nothing overwritten
    sqlite3.connect(tmp_path / "ok.sqlite3").close()
