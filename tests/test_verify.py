"""Edits that change nothing, break the file's syntax or leave a call to a function they
renamed or removed are failures the coder retries,
never diffs shown to the user (hrmcli.agent.verify), on real files, real tree-sitter
grammars and a real 127.0.0.1 model server."""

from __future__ import annotations

import pytest

from hrmcli.agent.backends.openai_compat import OpenAICompatBackend
from hrmcli.agent.coder import RESAMPLE_TEMPERATURE, EditCoder
from hrmcli.agent.prompts import HRM_STYLE
from hrmcli.agent.verify import NO_CHANGE, broken_syntax, completed_rename, dangling_names
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


GREET = ("def greet(name):\n    return f'hi {name}'\n\n\n"
         "def main():\n    print(greet('ann'))  # greet everyone\n")


@pytest.mark.parametrize("path,before,old,new,line", [
    ("g.py", GREET, "greet", "welcome", 6),
    ("g.js", "class Box {\n  size() {\n    return 1;\n  }\n  twice() {\n    return 2 * this.size();\n  }\n}\n",
     "size", "volume", 6),
    ("g.go", "package g\n\nfunc Area(w, h int) int {\n\treturn w * h\n}\n\n"
             "func Total(w, h int) int {\n\treturn 2 * Area(w, h)\n}\n", "Area", "Surface", 8),
    ("g.rs", "fn double(x: i32) -> i32 {\n    x * 2\n}\n\nfn quad(x: i32) -> i32 {\n"
             "    double(double(x))\n}\n", "double", "twice", 6),
    ("G.java", "class G {\n  int one() { return 1; }\n  int two() { return one() + one(); }\n}\n",
     "one", "unit", 3),
    ("g.cpp", "int sq(int x) { return x * x; }\nint cube(int x) { return x * sq(x); }\n",
     "sq", "square", 2),
])
def test_a_rename_that_misses_a_caller_is_named_in_each_language(path, before, old, new, line):
    first = before.index(old)
    only_definition = before[:first] + before[first:].replace(old, new, 1)
    why = dangling_names(path, before, only_definition)
    assert why == (f"after these edits {path} still uses `{old}` (line {line}) but no longer "
                   "defines it; update every use of a renamed or removed function")
    assert dangling_names(path, before, before.replace(old, new)) is None  # every use renamed


def test_strings_comments_unused_removals_and_other_objects_members_do_not_dangle():
    renamed = GREET.replace("def greet", "def welcome").replace("print(greet(", "print(welcome(")
    assert "# greet everyone" in renamed
    assert dangling_names("g.py", GREET, renamed.replace("# greet", "'greet'  # greet")) is None
    unused = "def old():\n    return 1\n\n\ndef keep():\n    return 2\n"
    assert dangling_names("u.py", unused, "def keep():\n    return 2\n") is None
    # `get` goes, but `cache.get` is the dict's method, not this file's function
    gets = "def get(k):\n    return k\n\n\ndef load(cache, k):\n    return cache.get(k)\n"
    assert dangling_names("c.py", gets, gets.split("\n\n\n")[1]) is None
    own = "class C:\n    def get(self):\n        return 1\n\n    def two(self):\n        return self.get() * 2\n"
    assert "`get` (line 6)" in dangling_names("c.py", own, own.replace("def get", "def fetch"))
    assert dangling_names("notes.txt", "greet\n", "welcome\n") is None


def test_a_partial_rename_is_completed_in_the_diff_and_said(tmp_path):
    """The model renames the definition only: hrm renames the call it left (an identifier,
    not the comment), shows it in the diff and says so; the file is written once applied."""
    (tmp_path / "g.py").write_text(GREET)
    partial = block("def greet(name):\n", "def welcome(name):\n", "g.py")
    with ScriptedServer([partial]) as srv:
        out = EditCoder(OpenAICompatBackend(srv.url), tmp_path).run(
            ["g.py"], "rename greet to welcome")
    assert out.applied and out.attempts == 1
    assert "+    print(welcome('ann'))  # greet everyone" in out.diff
    assert out.notes == ["the model renamed `greet` to `welcome` in g.py; hrm renamed its 1 "
                         "other use(s) there too (in the diff)"]
    assert (tmp_path / "g.py").read_text() == GREET.replace("greet(", "welcome(")


def test_removing_a_function_still_called_is_sent_back(tmp_path):
    (tmp_path / "g.py").write_text(GREET)
    removed = block("def greet(name):\n    return f'hi {name}'\n\n\n", "", "g.py")
    keep = block("    return f'hi {name}'\n", "    return f'hello {name}'\n", "g.py")
    with ScriptedServer([removed, keep]) as srv:
        out = EditCoder(OpenAICompatBackend(srv.url), tmp_path).run(["g.py"], "say hello")
    assert out.applied and out.attempts == 2 and not out.notes
    assert "still uses `greet` (line 2)" in str(srv.requests[1]["body"]["messages"][-1])
    assert (tmp_path / "g.py").read_text() == GREET.replace("'hi", "'hello")


@pytest.mark.parametrize("path,before,old,new", [
    ("g.go", "package g\n\nfunc Area(w, h int) int {\n\treturn w * h\n}\n\n"
             "func Total(w, h int) int {\n\treturn 2 * Area(w, h) // Area twice\n}\n", "Area", "Surface"),
    ("g.js", "class Box {\n  size() {\n    return 1;\n  }\n  twice(other) {\n"
             "    return this.size() + other.size();\n  }\n}\n", "size", "volume"),
])
def test_completed_renames_touch_identifiers_only(path, before, old, new):
    done = completed_rename(path, before, before.replace(f"func {old}", f"func {new}").replace(
        f"  {old}()", f"  {new}()"))
    assert done is not None and (done.old, done.new, done.uses) == (old, new, 1)
    if path.endswith(".go"):
        assert "2 * Surface(w, h) // Area twice" in done.text  # the comment stays
    else:
        assert "this.volume() + other.size()" in done.text  # another object's member stays
    # two definitions changed at once, or a removal: not a rename to complete
    assert completed_rename("g.py", GREET, GREET.replace("def main", "def run").replace(
        "def greet", "def welcome")) is None
    assert completed_rename("g.py", GREET, GREET.split("\n\n\n")[1]) is None
