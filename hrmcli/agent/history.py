"""Session history in SQLite (llm-style): every session's messages, plans, edits, tool
calls, outcomes, timings and token counts, so that `hrm history` can show what happened
and `hrm chat` can resume a conversation.

One connection per History; writes commit immediately so that a crash or Ctrl-C keeps
everything logged up to that point.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hrmcli.config import paths

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    repo TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    started_at REAL NOT NULL,
    ended_at REAL,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    tokens INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    ok INTEGER,
    seconds REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_session ON messages(session_id);
CREATE INDEX IF NOT EXISTS events_session ON events(session_id);
"""

# What an event records; `hrm history show` prints them in this vocabulary.
EVENT_KINDS = ("generation", "plan", "edit", "tool", "outcome")


class HistoryError(RuntimeError):
    """The history database cannot be opened or read."""


@dataclass
class Session:
    """A handle for logging into one session."""

    history: History
    id: int

    def message(self, role: str, content: str, tokens: int | None = None) -> None:
        self.history._insert(
            "INSERT INTO messages(session_id, role, content, tokens, created_at) VALUES (?,?,?,?,?)",
            (self.id, role, content, tokens, time.time()),
        )

    def event(self, kind: str, data: dict[str, Any], ok: bool | None = None,
              seconds: float | None = None, prompt_tokens: int | None = None,
              completion_tokens: int | None = None) -> None:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}; known: {EVENT_KINDS}")
        self.history._insert(
            "INSERT INTO events(session_id, kind, data, ok, seconds, prompt_tokens,"
            " completion_tokens, created_at) VALUES (?,?,?,?,?,?,?,?)",
            (self.id, kind, json.dumps(data), None if ok is None else int(ok), seconds,
             prompt_tokens, completion_tokens, time.time()),
        )

    def generation(self, seconds: float, prompt_tokens: int, completion_tokens: int,
                   finish_reason: str = "stop") -> None:
        self.event("generation", {"finish_reason": finish_reason}, seconds=seconds,
                   prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)

    def plan(self, steps: list[Any]) -> None:
        self.event("plan", {"steps": steps})

    def edit(self, files: list[str], diff: str, applied: bool, well_formed: bool,
             seconds: float | None = None) -> None:
        self.event("edit", {"files": files, "diff": diff, "well_formed": well_formed},
                   ok=applied, seconds=seconds)

    def tool(self, tool: str, args: Any, ok: bool, output: str = "",
             seconds: float | None = None) -> None:
        self.event("tool", {"tool": tool, "args": args, "output": output}, ok=ok, seconds=seconds)

    def finish(self, outcome: str) -> None:
        self.history._insert(
            "UPDATE sessions SET ended_at = ?, outcome = ? WHERE id = ?",
            (time.time(), outcome, self.id),
        )


class History:
    def __init__(self, db: Path | None = None) -> None:
        self.path = db or paths().history_db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=10)
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.executescript(SCHEMA)
        except (OSError, sqlite3.DatabaseError) as e:
            raise HistoryError(
                f"cannot open the history database {self.path}: {e}. "
                "Move it aside to start a fresh history."
            ) from e
        self.conn.row_factory = sqlite3.Row

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _insert(self, sql: str, args: tuple) -> int:
        with self.conn:
            cur = self.conn.execute(sql, args)
        return int(cur.lastrowid or 0)

    def start(self, command: str, model: str = "", repo: str | os.PathLike[str] = "",
              title: str = "") -> Session:
        sid = self._insert(
            "INSERT INTO sessions(command, model, repo, title, started_at) VALUES (?,?,?,?,?)",
            (command, model, str(repo), title[:200], time.time()),
        )
        return Session(self, sid)

    def resume(self, session_id: int) -> Session:
        if self.session_row(session_id) is None:
            raise HistoryError(f"no session {session_id}; `hrm history list` shows them")
        return Session(self, session_id)

    def session_row(self, session_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return dict(row) if row else None

    def list(self, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first, with totals of tokens and edits for the summary table."""
        rows = self.conn.execute(
            """SELECT s.*,
                 (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id) AS messages,
                 (SELECT COUNT(*) FROM events e WHERE e.session_id = s.id AND e.kind = 'edit')
                   AS edits,
                 (SELECT COALESCE(SUM(e.completion_tokens), 0) FROM events e
                   WHERE e.session_id = s.id) AS tokens
               FROM sessions s ORDER BY s.id DESC LIMIT ?""",
            (limit,),
        ).fetchall()
        return [dict(r) for r in rows]

    def messages(self, session_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT role, content, tokens, created_at FROM messages WHERE session_id = ? ORDER BY id",
            (session_id,),
        ).fetchall()
        return [dict(r) for r in rows]

    def events(self, session_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT kind, data, ok, seconds, prompt_tokens, completion_tokens, created_at"
            " FROM events WHERE session_id = ? ORDER BY id",
            (session_id,),
        ).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["data"] = json.loads(d["data"])
            d["ok"] = None if d["ok"] is None else bool(d["ok"])
            out.append(d)
        return out

    def show(self, session_id: int) -> dict[str, Any]:
        row = self.session_row(session_id)
        if row is None:
            raise HistoryError(f"no session {session_id}; `hrm history list` shows them")
        return {**row, "messages": self.messages(session_id), "events": self.events(session_id)}
