"""Edits that change nothing or break the file's syntax are failures the coder retries,
never diffs shown to the user (hrmcli.agent.verify), on real files, real tree-sitter
grammars and a real 127.0.0.1 model server."""

from __future__ import annotations

import pytest

from hrmcli.agent.backends.openai_compat import OpenAICompatBackend
from hrmcli.agent.coder import RESAMPLE_TEMPERATURE, EditCoder
from hrmcli.agent.prompts import HRM_STYLE
from hrmcli.agent.verify import NO_CHANGE, broken_syntax
from tests.scripted_server import ScriptedServer

CODE = "def port():\n    if True:\n        return 8080\n    return 0\n"


def block(search: str, replace: str, path: str = "cfg.py") -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_a_reply_that_changes_nothing_is_sent_back_and_never_applied(tmp_path):
    (tmp_path / "cfg.py").write_text(CODE)
    same = block("        return 8080\n", "        return 8080\n")
    with ScriptedServer([same] * 4) as srv:
        out = EditCoder(OpenAICompatBackend(srv.url), tmp_path).run(["cfg.py"], "use port 9090")
    assert not out.applied and not out.well_formed and out.attempts == 4
    assert any("change nothing" in e for e in out.errors)
    assert "change nothing" in str(srv.requests[1]["body"]["messages"][-1])
    assert (tmp_path / "cfg.py").read_text() == CODE


def test_an_edit_that_breaks_the_syntax_is_sent_back_then_the_good_one_applies(tmp_path):
    (tmp_path / "cfg.py").write_text(CODE)
    dedented = block("    if True:\n        return 8080\n", "    if True:\n    return 9090\n")
    good = block("        return 8080\n", "        return 9090\n")
    with ScriptedServer([dedented, good]) as srv:
        out = EditCoder(OpenAICompatBackend(srv.url), tmp_path).run(["cfg.py"], "use port 9090")
    assert out.applied and out.attempts == 2
    report = str(srv.requests[1]["body"]["messages"][-1])
    assert "cfg.py no longer parses (line 3" in report
    assert (tmp_path / "cfg.py").read_text() == CODE.replace("8080", "9090")


def test_a_file_that_did_not_parse_before_is_not_held_to_it(tmp_path):
    broken = "def f(:\n    return 1\n"
    (tmp_path / "w.py").write_text(broken)
    with ScriptedServer([block("    return 1\n", "    return 2\n", "w.py")]) as srv:
        out = EditCoder(OpenAICompatBackend(srv.url), tmp_path).run(["w.py"], "return 2")
    assert out.applied and out.attempts == 1
    assert (tmp_path / "w.py").read_text() == broken.replace("1", "2")


@pytest.mark.parametrize("path,before,after,line", [
    ("a.js", "function f(a) {\n  return a;\n}\n", "function f(a {\n  return a;\n}\n", 1),
    ("a.go", "package a\n\nfunc F(x int) int {\n\treturn x\n}\n",
     "package a\n\nfunc F(x int, error) int {\n\treturn x\n\n", 6),  # the missing }
    ("a.py", "x = [1,\n     2]\n", "x = [1,\n     2\n", 1),
])
def test_broken_syntax_names_the_line_in_each_language(path, before, after, line):
    why = broken_syntax(path, before, after)
    assert why is not None and f"{path} no longer parses (line {line}" in why
    renamed = before.replace("(a", "(b").replace("a;", "b;").replace("x", "y")
    assert renamed != before and broken_syntax(path, before, renamed) is None


def test_unknown_languages_and_unchanged_text_are_not_checked():
    assert broken_syntax("notes.txt", "a\n", "(((\n") is None
    assert broken_syntax("a.py", "def f(:\n", "def f(:\n") is None


def test_hrm_code_is_asked_the_same_prompt_again_with_a_new_seed(tmp_path):
    """HRM-Code was tuned on single turns, so its retries resample the very same prompt
    (temperature RESAMPLE_TEMPERATURE, seed 1, 2, ...) instead of a repair conversation;
    the history keeps only the reply that was used."""
    (tmp_path / "cfg.py").write_text(CODE)
    same = block("        return 8080\n", "        return 8080\n")
    good = block("        return 8080\n", "        return 9090\n")
    with ScriptedServer([same, same, good]) as srv:
        backend = OpenAICompatBackend(srv.url)
        backend.prompt_style = HRM_STYLE  # how the HRM-Code backends identify themselves
        history: list = []
        out = EditCoder(backend, tmp_path, history=history).run(["cfg.py"], "use port 9090")
    assert out.applied and out.attempts == 3
    bodies = [r["body"] for r in srv.requests]
    assert bodies[1]["messages"] == bodies[0]["messages"] == bodies[2]["messages"]
    assert bodies[0]["temperature"] == 0.0 and "seed" not in bodies[0]
    assert [b["seed"] for b in bodies[1:]] == [1, 2]
    assert all(b["temperature"] == RESAMPLE_TEMPERATURE for b in bodies[1:])
    assert [m.role for m in history] == ["user", "assistant"] and history[1].content == good
    assert NO_CHANGE not in str(bodies)


def test_the_syntax_check_can_be_left_to_a_later_lint(tmp_path):
    """check_syntax=False (the polyglot benchmark, which lints after applying as Aider
    does) applies a well-formed edit even when the file stops parsing."""
    (tmp_path / "cfg.py").write_text(CODE)
    dedented = block("    if True:\n        return 8080\n", "    if True:\n    return 9090\n")
    with ScriptedServer([dedented]) as srv:
        out = EditCoder(OpenAICompatBackend(srv.url), tmp_path, check_syntax=False).run(
            ["cfg.py"], "use port 9090")
    assert out.applied and out.attempts == 1
    assert "    return 9090\n" in (tmp_path / "cfg.py").read_text()
