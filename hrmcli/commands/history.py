"""`hrm history`: the logged sessions (prompts, edits, tool calls, outcomes, timings)."""

from __future__ import annotations

import json
import time

import typer
from rich.console import Console
from rich.table import Table

history_app = typer.Typer(help="Show logged sessions.", invoke_without_command=True)


def _open():
    from rich.markup import escape

    from hrmcli.agent.history import History, HistoryError

    try:
        return History()
    except HistoryError as e:
        Console(stderr=True).print(f"[red]error:[/] {escape(str(e))}")
        raise typer.Exit(1) from None


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


@history_app.callback()
def history_main(ctx: typer.Context,
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List sessions (newest first); `hrm history show ID` shows one."""
    if ctx.invoked_subcommand is None:
        list_cmd(as_json=as_json, limit=20)


@history_app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many sessions."),
) -> None:
    """List the latest sessions."""
    from rich.markup import escape

    with _open() as h:
        rows = h.list(limit)
    if as_json:
        print(json.dumps(rows))
        return
    if not rows:
        Console().print("No sessions logged yet.")
        return
    t = Table("id", "started", "command", "model", "outcome", "edits", "tokens", "title")
    for r in rows:
        t.add_row(str(r["id"]), _when(r["started_at"]), r["command"], escape(r["model"]),
                  r["outcome"] or "", str(r["edits"]), str(r["tokens"]), escape(r["title"][:60]))
    Console(highlight=False).print(t)


@history_app.command("show")
def show_cmd(
    session_id: int = typer.Argument(..., help="Session id from `hrm history list`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one session: its messages and events in order."""
    from rich.markup import escape

    from hrmcli.agent.history import HistoryError

    with _open() as h:
        try:
            s = h.show(session_id)
        except HistoryError as e:
            Console(stderr=True).print(f"[red]error:[/] {escape(str(e))}")
            raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(s))
        return
    c = Console(highlight=False, soft_wrap=True)
    took = f"{s['ended_at'] - s['started_at']:.1f} s" if s["ended_at"] else "unfinished"
    c.print(f"[bold]session {s['id']}[/] {s['command']} · {escape(s['model'])} · "
            f"{_when(s['started_at'])} · {took} · {s['outcome'] or ''}")
    if s["repo"]:
        c.print(f"[dim]repo {escape(s['repo'])}[/]")
    items = [(m["created_at"], "message", m) for m in s["messages"]]
    items += [(e["created_at"], "event", e) for e in s["events"]]
    for _, kind, item in sorted(items, key=lambda x: x[0]):
        if kind == "message":
            tok = f" ({item['tokens']} tokens)" if item["tokens"] else ""
            c.print(f"\n[bold cyan]{item['role']}[/]{tok}")
            c.print(escape(item["content"]))
        else:
            c.print(f"[dim]{_event_line(item)}[/]")


def _event_line(e: dict) -> str:
    d = e["data"]
    ok = "" if e["ok"] is None else (" ok" if e["ok"] else " failed")
    secs = f" {e['seconds']:.2f} s" if e["seconds"] is not None else ""
    if e["kind"] == "generation":
        return (f"· generation: {e['prompt_tokens']} prompt + {e['completion_tokens']} "
                f"completion tokens{secs} ({d.get('finish_reason')})")
    if e["kind"] == "edit":
        return f"· edit{ok}: {', '.join(d.get('files') or []) or 'no files'}{secs}"
    if e["kind"] == "tool":
        return f"· tool {d.get('tool')} {d.get('args')}{ok}{secs}"
    if e["kind"] == "plan":
        return f"· plan: {d.get('steps')}"
    return f"· {e['kind']}{ok}: {json.dumps(d)[:200]}"


def register(app: typer.Typer) -> None:
    app.add_typer(history_app, name="history")
