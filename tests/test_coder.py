"""The edit coder's prompts, think stripping and whole-file path, on real files and a real
127.0.0.1 model server."""

from __future__ import annotations

from hrmcli import prompt_format as pf
from hrmcli.agent.backends.base import Message
from hrmcli.agent.backends.openai_compat import OpenAICompatBackend
from hrmcli.agent.coder import EditCoder
from hrmcli.agent.prompts import edit_messages, render_hrm
from hrmcli.agent.thinking import ThinkFilter, strip_thinking
from tests.scripted_server import ScriptedServer


def test_hrm_prompt_is_the_training_layout():
    files = [("a.py", "x = 1\n"), ("b.py", "y = 2\n")]
    assert render_hrm(edit_messages(files, "swap", style="hrm")) == pf.edit_prompt(files, "swap")
    convo = edit_messages(files, "swap", style="hrm") + [
        Message("assistant", "a.py\n"), Message("tool", "block 1 failed")]
    text = render_hrm(convo)
    assert text.endswith(f"{pf.ASSISTANT}a.py\n{pf.EOS}{pf.OBS}block 1 failed{pf.END_OBS}{pf.ASSISTANT}")


def test_chat_prompt_has_rules_examples_and_fenced_files():
    msgs = edit_messages([("a.md", "```\ncode\n```\n")], "fix", style="chat")
    assert msgs[0].role == "system" and "SEARCH" in msgs[0].content
    assert [m.role for m in msgs[1:]] == ["user", "assistant", "user"]
    assert "````\n```\ncode\n```\n````" in msgs[-1].content  # a longer fence than the file's


def test_strip_thinking():
    assert strip_thinking("<think>x <<<<<<< SEARCH</think>\nanswer") == "answer"
    assert strip_thinking("reasoning only</think>answer") == "answer"
    assert strip_thinking("a<think>unclosed") == "a"
    f = ThinkFilter()
    parts = [p for piece in ("hi <thi", "nk>secret</th", "ink> there") for p in f.feed(piece)]
    parts += f.flush()
    assert "".join(t for thinking, t in parts if not thinking) == "hi  there"
    assert "".join(t for thinking, t in parts if thinking) == "secret"


def test_whole_file_format_and_thinking_models(tmp_path):
    (tmp_path / "m.py").write_text("x = 1\n")
    reply = "<think>let me think</think>\nm.py\n```python\nx = 2\n```\n"
    with ScriptedServer([reply]) as srv:
        coder = EditCoder(OpenAICompatBackend(srv.url), tmp_path, edit_format="whole")
        out = coder.run(["m.py"], "set x to 2")
    assert out.applied and out.well_formed and out.files == ["m.py"]
    assert (tmp_path / "m.py").read_text() == "x = 2\n"
    assert "whole" in srv.requests[0]["body"]["messages"][0]["content"] or \
        "complete new content" in srv.requests[0]["body"]["messages"][0]["content"]


def test_edits_to_files_outside_the_edit_are_sent_back_not_written(tmp_path):
    (tmp_path / "m.py").write_text("x = 1\n")
    stray = "other/new.py\n<<<<<<< SEARCH\n=======\nprint('hi')\n>>>>>>> REPLACE\n"
    good = "m.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
    with ScriptedServer([stray, good]) as srv:
        out = EditCoder(OpenAICompatBackend(srv.url), tmp_path).run(["m.py"], "set x to 2")
    assert out.applied and out.attempts == 2 and out.files == ["m.py"]
    assert "not one of the files being edited (m.py)" in str(srv.requests[1]["body"]["messages"])
    assert not (tmp_path / "other").exists()
    assert (tmp_path / "m.py").read_text() == "x = 2\n"


def test_a_path_in_another_case_names_the_one_file_being_edited(tmp_path):
    """Small models lower-case file names: "invoice.java" for Invoice.java is read as it
    when exactly one file being edited matches; with two candidates it is sent back."""
    (tmp_path / "Invoice.java").write_text("int total = 1;\n")
    lower = "invoice.java\n<<<<<<< SEARCH\nint total = 1;\n=======\nint total = 2;\n>>>>>>> REPLACE\n"
    with ScriptedServer([lower]) as srv:
        out = EditCoder(OpenAICompatBackend(srv.url), tmp_path).run(["Invoice.java"], "set total to 2")
    assert out.applied and out.attempts == 1 and out.files == ["Invoice.java"]
    assert (tmp_path / "Invoice.java").read_text() == "int total = 2;\n"
    assert not (tmp_path / "invoice.java").exists() or (tmp_path / "invoice.java").samefile(
        tmp_path / "Invoice.java")
    (tmp_path / "INVOICE.java").write_text("int total = 1;\n")
    good = "INVOICE.java\n<<<<<<< SEARCH\nint total = 1;\n=======\nint total = 3;\n>>>>>>> REPLACE\n"
    with ScriptedServer([lower, good]) as srv:
        out = EditCoder(OpenAICompatBackend(srv.url), tmp_path).run(
            ["Invoice.java", "INVOICE.java"], "set total to 3")
    assert out.attempts == 2  # ambiguous: not guessed, sent back
    assert "not one of the files being edited" in str(srv.requests[1]["body"]["messages"])
    assert (tmp_path / "INVOICE.java").read_text() == "int total = 3;\n"


def test_history_carries_the_conversation_and_shows_files_as_they_are_now(tmp_path):
    """A coder with a history (the polyglot benchmark's chat across tries): each request
    appends its task, its replies and any repair feedback; the next request sends them
    before the files, and the files as they are after the first edit."""
    (tmp_path / "m.py").write_text("x = 1\n")
    miss = "m.py\n<<<<<<< SEARCH\nx = 9\n=======\nx = 2\n>>>>>>> REPLACE\n"
    good = "m.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n"
    again = "m.py\n<<<<<<< SEARCH\nx = 2\n=======\nx = 3\n>>>>>>> REPLACE\n"
    history: list[Message] = []
    with ScriptedServer([miss, good, again]) as srv:
        coder = EditCoder(OpenAICompatBackend(srv.url), tmp_path, history=history)
        assert coder.run(["m.py"], "set x to 2").applied
        turns = [(m.role, m.content) for m in history]
        assert coder.run(["m.py"], "now 3").applied
        second = srv.messages(2)
    assert [r for r, _ in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[0] == ("user", "set x to 2") and turns[1][1] == miss and turns[3][1] == good
    assert turns[2][1].startswith("Your edits could not be applied")
    # the second request: system, examples, the four turns, then the files and task
    assert [(m["role"], m["content"]) for m in second[-5:-1]] == turns
    assert "x = 2" in second[-1]["content"] and "x = 1" not in second[-1]["content"]
    assert second[-1]["content"].endswith("Task: now 3")
    assert (tmp_path / "m.py").read_text() == "x = 3\n" and len(history) == 6
