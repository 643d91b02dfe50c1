"""Inverse-mutation edit tasks (trainer.data.inverse_tasks): real code loses a parameter, a
guard, an import or a docstring, and the request asks for it back. Parsed with the real
tree-sitter grammars."""

from __future__ import annotations

import random

import pytest

from hrmcli.agent.apply import apply_edits
from hrmcli.agent.editblocks import parse_edits
from hrmcli.agent.prompts import IM_END
from trainer.data import chat_tasks
from trainer.data.edit_tasks import EditTask, edit_tasks_for_file
from trainer.data.inverse_tasks import GENERATORS, describe_condition, describe_value
from trainer.data.treesitter import load


def tasks(kind: str, text: str, lang: str, path: str, seed: int = 0) -> list[EditTask]:
    return list(GENERATORS[kind](load(text, lang, path), path, random.Random(seed)))



def said(request: str) -> str:
    """A request without what phrasing.casual may drop (backticks, the capital, the full
    stop), so a test pins the words, not the typing."""
    text = request.replace("`", "").rstrip(".")
    return text[:1].lower() + text[1:]

def one(kind: str, text: str, lang: str, path: str, seed: int = 0) -> EditTask:
    got = tasks(kind, text, lang, path, seed)
    assert len(got) == 1, got
    t = got[0]
    assert t.task == kind and t.lang == lang and t.path == path and t.after == text
    assert not load(t.before, lang, path).tree.root_node.has_error
    return t


# -- param_from_literal ----------------------------------------------------------------------

JOIN_PY = 'def join_words(words, sep=", "):\n    return sep.join(words)\n'


def test_param_from_literal_python():
    t = one("param_from_literal", JOIN_PY, "python", "words.py")
    assert t.before == 'def join_words(words):\n    return ", ".join(words)\n'
    assert said(t.request) == said('let callers of `join_words` choose `sep` instead of the hard-coded '
                         '`", "`; it should default to `", "`.')
    assert t.detail == "sep"


def test_param_from_literal_python_keeps_the_annotation_in_the_request():
    text = "def pad(s, width: int = 8):\n    return s.ljust(width)\n"
    t = one("param_from_literal", text, "python", "pad.py", seed=1)
    assert t.before == "def pad(s):\n    return s.ljust(8)\n"
    assert "`width: int`" in t.request and "`8`" in t.request


def test_param_from_literal_javascript():
    text = 'function joinWords(words, sep = ", ") {\n  return words.join(sep);\n}\n'
    t = one("param_from_literal", text, "javascript", "words.js")
    assert t.before == 'function joinWords(words) {\n  return words.join(", ");\n}\n'
    assert said(t.request) == said('let callers of `joinWords` choose `sep` instead of the hard-coded '
                         '`", "`; it should default to `", "`.')


@pytest.mark.parametrize("text", [
    # no default
    'def join_words(words, sep):\n    return sep.join(words)\n',
    # the default literal is in the body already: the inverse would be ambiguous
    'def join_words(words, sep=", "):\n    return sep.join(words) + ", "\n',
    # not the last parameter
    'def join_words(words, sep=", ", *more):\n    return sep.join(words + list(more))\n',
    # the parameter is assigned to, not only read
    'def join_words(words, sep=", "):\n    sep = sep.strip()\n    return sep.join(words)\n',
    # a caller in the file passes it
    JOIN_PY + '\n\nprint(join_words(["a"], "; "))\n',
])
def test_param_from_literal_skips_what_it_cannot_invert(text):
    assert tasks("param_from_literal", text, "python", "words.py") == []


def test_param_from_literal_has_no_go():
    text = 'package w\n\nfunc Join(words []string) string {\n\treturn strings.Join(words, ", ")\n}\n'
    assert tasks("param_from_literal", text, "go", "w.go") == []


# -- add_guard -------------------------------------------------------------------------------

def test_add_guard_python_after_the_docstring():
    text = ('def find_by_tag(items, tag):\n    """Items carrying tag."""\n    if not items:\n'
            '        return []\n    return [i for i in items if tag in i.tags]\n')
    t = one("add_guard", text, "python", "tags.py")
    assert t.before == ('def find_by_tag(items, tag):\n    """Items carrying tag."""\n'
                        '    return [i for i in items if tag in i.tags]\n')
    assert said(t.request) == said("If `items` is empty, `find_by_tag` should immediately return an empty list.")


def test_add_guard_python_takes_the_blank_line_after_it():
    text = "def total(x):\n    if x is None:\n        return 0\n\n    return sum(x)\n"
    t = one("add_guard", text, "python", "t.py")
    assert t.before == "def total(x):\n    return sum(x)\n"
    assert said(t.request) == said("If `x` is None, `total` should immediately return 0.")
    assert t.detail == "x is None"


def test_add_guard_javascript():
    text = "function total(xs) {\n  if (xs === null) return 0;\n  return xs.reduce((a, b) => a + b, 0);\n}\n"
    t = one("add_guard", text, "javascript", "t.js")
    assert t.before == "function total(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n"
    assert said(t.request) == said("If `xs` is null, `total` should immediately return 0.")


def test_add_guard_go():
    text = ("package stats\n\nfunc Total(xs []int) int {\n\tif len(xs) == 0 {\n\t\treturn 0\n\t}\n"
            "\tt := 0\n\tfor _, x := range xs {\n\t\tt += x\n\t}\n\treturn t\n}\n")
    t = one("add_guard", text, "go", "total.go")
    assert t.before == ("package stats\n\nfunc Total(xs []int) int {\n\tt := 0\n"
                        "\tfor _, x := range xs {\n\t\tt += x\n\t}\n\treturn t\n}\n")
    assert said(t.request) == said("If `xs` is empty, `Total` should immediately return 0.")


def test_guard_descriptions():
    assert describe_condition("not items", "[]", "python") == "`items` is empty"
    assert describe_condition("not found", "None", "python") == "`found` is falsy"
    assert describe_condition("x is None", "0", "python") == "`x` is None"
    assert describe_condition("n < 0", "-1", "python") == "`n < 0`"
    assert describe_condition("err == nil", "nil", "go") == "`err` is nil"
    assert describe_condition("!list.length", "[]", "javascript") == "`list` is empty"
    assert describe_value("[]", "python") == "an empty list"
    assert describe_value("0", "python") == "0"
    assert describe_value("DEFAULT", "python") == "`DEFAULT`"


@pytest.mark.parametrize("text", [
    # the condition spans lines
    "def total(x, y):\n    if (x is None\n            or y is None):\n        return 0\n    return x + y\n",
    # the guard is the whole body: removing it leaves nothing
    "def total(x):\n    if x is None:\n        return 0\n",
    # an else branch: not a guard
    "def total(x):\n    if x is None:\n        return 0\n    else:\n        x = 1\n    return x\n",
    # not the first statement
    "def total(x):\n    y = 1\n    if x is None:\n        return y\n    return x + y\n",
    # a comment about the guard would be left behind
    "def total(x):\n    # nothing to add\n    if x is None:\n        return 0\n    return sum(x)\n",
])
def test_add_guard_skips_what_is_not_a_plain_guard(text):
    assert tasks("add_guard", text, "python", "t.py") == []


# -- missing_import --------------------------------------------------------------------------

def test_missing_import_python():
    text = ("from collections import Counter\n\n\ndef top_words(text, n=3):\n"
            "    return Counter(text.split()).most_common(n)\n")
    t = one("missing_import", text, "python", "words.py")
    assert t.before == "def top_words(text, n=3):\n    return Counter(text.split()).most_common(n)\n"
    assert said(t.request) == said("words.py: `top_words` uses `Counter` but it is never imported. Add the import.")
    assert t.detail == "from collections import Counter"


def test_missing_import_python_phrases_the_name_error():
    text = "import re\n\n\ndef words(s):\n    return re.findall(r'\\w+', s)\n"
    requests = {said(one("missing_import", text, "python", "w.py", seed).request)
                for seed in range(12)}
    assert said("`words` fails with NameError: name 're' is not defined. add the missing import.") \
        in requests


@pytest.mark.parametrize("text", [
    # only used at module level, not in a function
    "import os\n\nHOME = os.environ['HOME']\n",
    # bound again in the file: removing the import is not what breaks it
    "import json\n\n\ndef load(json):\n    return json.loads('1')\n",
    # a relative import: nothing in the file says where the name lives
    "from .util import helper\n\n\ndef run():\n    return helper()\n",
    # two names on one line
    "from os import path, sep\n\n\ndef f():\n    return path.join('a', sep)\n",
])
def test_missing_import_skips(text):
    assert tasks("missing_import", text, "python", "m.py") == []


def test_missing_import_go_in_an_import_block():
    text = ('package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\nfunc Shout(s string) {\n'
            '\tfmt.Println(strings.ToUpper(s))\n}\n')
    t = one("missing_import", text, "go", "shout.go")
    assert t.before == ('package main\n\nimport (\n\t"strings"\n)\n\nfunc Shout(s string) {\n'
                        '\tfmt.Println(strings.ToUpper(s))\n}\n')
    assert said(t.request) == said("`Shout` uses `fmt` but shout.go does not import it. Fix the imports.")


def test_missing_import_go_single_import():
    text = 'package main\n\nimport "strings"\n\nfunc Upper(s string) string {\n\treturn strings.ToUpper(s)\n}\n'
    t = one("missing_import", text, "go", "upper.go")
    assert t.before == "package main\n\nfunc Upper(s string) string {\n\treturn strings.ToUpper(s)\n}\n"
    assert said(t.request) == said("`Upper` uses `strings` but upper.go does not import it: undefined: strings. "
                         "Add the import.")


def test_missing_import_javascript_require_and_import():
    text = ('const fs = require("fs");\n\nfunction readConfig(p) {\n'
            '  return JSON.parse(fs.readFileSync(p, "utf8"));\n}\n\nmodule.exports = { readConfig };\n')
    t = one("missing_import", text, "javascript", "config.js")
    assert t.before == ('function readConfig(p) {\n  return JSON.parse(fs.readFileSync(p, "utf8"));\n'
                        '}\n\nmodule.exports = { readConfig };\n')
    assert said(t.request) == said("Please fix `ReferenceError: fs is not defined` in `readConfig` by adding "
                         "the missing require.")
    text = 'import path from "path";\n\nexport function base(p) {\n  return path.basename(p);\n}\n'
    t = one("missing_import", text, "javascript", "base.js")
    assert t.before == "export function base(p) {\n  return path.basename(p);\n}\n"
    assert said(t.request) == said("Please fix `ReferenceError: path is not defined` in `base` by adding "
                         "the missing import.")


# -- add_docstring ---------------------------------------------------------------------------

def test_add_docstring_python():
    text = 'def mean(xs):\n    """Average of xs."""\n    return sum(xs) / len(xs)\n'
    t = one("add_docstring", text, "python", "stats.py")
    assert t.before == "def mean(xs):\n    return sum(xs) / len(xs)\n"
    assert said(t.request) == said("Please add a brief docstring to `mean` in stats.py.")
    assert t.detail == "mean"


def test_add_docstring_go_takes_the_whole_comment_run():
    text = ("package stats\n\n// Mean returns the average of xs.\n// It panics on an empty slice.\n"
            "func Mean(xs []float64) float64 {\n\treturn Sum(xs) / float64(len(xs))\n}\n")
    t = one("add_docstring", text, "go", "stats.go")
    assert t.before == ("package stats\n\nfunc Mean(xs []float64) float64 {\n"
                        "\treturn Sum(xs) / float64(len(xs))\n}\n")
    assert said(t.request) == said("Please add a brief doc comment to `Mean` in stats.go.")


def test_add_docstring_javascript_jsdoc():
    text = ("/**\n * Average of xs.\n */\nfunction mean(xs) {\n"
            "  return xs.reduce((a, b) => a + b, 0) / xs.length;\n}\n")
    t = one("add_docstring", text, "javascript", "stats.js")
    assert t.before == "function mean(xs) {\n  return xs.reduce((a, b) => a + b, 0) / xs.length;\n}\n"
    assert said(t.request) == said("Please add a brief JSDoc comment to `mean` in stats.js.")


@pytest.mark.parametrize(("text", "lang"), [
    ('def mean(xs):\n    """Average.\n\n    Of xs.\n\n    Floats."""\n    return sum(xs) / len(xs)\n',
     "python"),  # longer than 4 lines
    ('def mean(xs):\n    """Average of xs."""\n', "python"),  # the docstring is the whole body
    ("package s\n\n// helper for Mean.\nfunc Mean(xs []float64) float64 {\n\treturn 0\n}\n",
     "go"),  # a comment that does not start with the name
    ("// Average of xs.\nfunction mean(xs) {\n  return 0;\n}\n", "javascript"),  # not JSDoc
])
def test_add_docstring_skips(text, lang):
    assert tasks("add_docstring", text, lang, "s") == []


# -- registration and rendering --------------------------------------------------------------

def test_registered_with_edit_tasks_and_chat_weights():
    text = ('from collections import Counter\n\n\ndef top_words(text, n=3):\n'
            '    """Most common words."""\n    if not text:\n        return []\n'
            '    return Counter(text.split(", ")).most_common(n)\n\n\n' + JOIN_PY)
    kinds = {t.task for t in edit_tasks_for_file("words.py", text, "python", seed=0)}
    assert set(GENERATORS) <= kinds
    assert all(chat_tasks.KIND_WEIGHTS[k] == 1.0 for k in GENERATORS)
    for t in edit_tasks_for_file("words.py", text, "python", seed=0, kinds=tuple(GENERATORS)):
        assert t.record()["task"] == t.task


def test_render_answer_restores_the_original(tmp_path):
    t = one("param_from_literal", JOIN_PY, "python", "words.py")
    rec = chat_tasks.render(t)
    assert rec["kind"] == "param_from_literal"
    assert rec["answer"] == (
        "words.py\n<<<<<<< SEARCH\ndef join_words(words):\n    return \", \".join(words)\n"
        "=======\ndef join_words(words, sep=\", \"):\n    return sep.join(words)\n"
        ">>>>>>> REPLACE\n" + IM_END)
    (tmp_path / "words.py").write_text(t.before)
    parsed = parse_edits(rec["answer"].removesuffix(IM_END))
    assert not parsed.errors
    assert not apply_edits(parsed.blocks, tmp_path).failed
    assert (tmp_path / "words.py").read_text() == JOIN_PY
