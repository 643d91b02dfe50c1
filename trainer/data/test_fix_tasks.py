"""Tuning records for the edit that follows a failing test run.

`hrm run "make the failing test pass"` plans run_tests, read, edit, run_tests; at the edit
the editor's task is the request plus the failed run_tests observation
(AgentLoop._edit_task: edit_retry.md). These records are that prompt, built by the agent's
own functions (hrmcli.agent.loop.observation and tests_output, prompts.edit_messages and
render_chatml), over small synthetic projects: a module of a few functions (and sometimes
a class) with its pytest or `node --test` tests. One function gets a bug from the same
mutations as the edit data (trainer.data.edit_tasks._mutations); a bug is kept only when
the project's real tests, run through hrmcli.tools.testrun as the agent runs them, fail.
The answer is the SEARCH/REPLACE edit that restores the original.

Expected values in the tests are computed by running the Python original, so a Python
project passes by construction; the JavaScript twin of a template is checked by running
its tests before any bug goes in.

    python -m trainer.data.test_fix_tasks OUT.jsonl --n N --seed S --tokenizer-from MODEL.gguf
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import random
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template as Code

from hrmcli.agent.loop import observation, tests_output
from hrmcli.agent.prompts import HRM_STYLE, IM_END, edit_messages, render, render_chatml
from hrmcli.tools.testrun import TestResult, run_tests

from .edit_tasks import Unrepresentable, _mutations, blocks_for
from .phrasing import expand
from .plan_tasks import _git_repo
from .treesitter import load

TEST_TIMEOUT = 30  # a mutation can recurse without end; the run is dropped, not waited for
# A same-size rewrite within a second would reuse a stale .pyc; the venv's pytest plugins
# would slow every run and print a plugins line that a small project does not have.
TEST_ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
# The run_tests argument the plan data gives each language (trainer.data.plan_tasks).
TEST_ARG = {"python": "python -m pytest -q", "javascript": "npm test"}
JS_SHARE = 0.3
BOTH_FILES_SHARE = 0.3  # the agent sometimes has read the test file too
REQUESTS = (
    "[Make|make] the failing test pass",
    "Run the tests and fix whatever fails",
    "The test suite is red[:|,] find and fix the bug",
    "[Make|make] the tests pass",
    "[fix|Fix] the failing test",
    "tests are failing, please fix",
    "[Make|Get] the failing test in {test} [to pass|passing]",
    "{test} fails[;|,] fix {src} so it passes",
    "[Fix|fix] the bug in {src} [that|which] [makes the tests fail|breaks the tests]",
    "the tests in {test} are red, [fix|repair] {src}",
    "Run the tests and fix {src}",
)
PROJECT_NAMES = ("calc", "shop", "toolkit", "mathlib", "scoring", "inventory", "textkit",
                 "ledger", "stats", "helpers", "grades", "budget", "geometry", "utils")
MODULE_NAMES = ("calc", "util", "helpers", "core", "mathutil", "numtools", "text", "shop",
                "stats", "tools", "logic", "compute", "ops", "lib")
WORDS = ("apple", "river", "stone", "cloud", "tiger", "lamp", "orange", "violin", "paper",
         "sun", "mountain", "bee", "garden", "ice", "window", "owl", "rocket", "tea")


# ---------------------------------------------------------------------------------------
# The bank: function and class templates, each in Python and JavaScript
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One assertion: `call(*args)`, or for a class `Obj(*ctor)`, the `setup` method calls,
    then the method `call(*args)`. Names are template roles, filled per project."""

    call: str
    args: tuple
    ctor: tuple | None = None
    setup: tuple[tuple[str, tuple], ...] = ()


@dataclass(frozen=True)
class Template:
    """`roles` maps each $name in the code to "choice|choice"; role "f" (a function) or
    "C" (a class) is what the module exports."""

    roles: dict[str, str]
    py: str
    js: str
    cases: Callable[[random.Random], list[Case]]


def _ints(r: random.Random, n: int, lo: int = 1, hi: int = 20) -> list[int]:
    return [r.randint(lo, hi) for _ in range(n)]


def _words(r: random.Random, n: int) -> list[str]:
    return r.sample(WORDS, n)


def _fn(roles: dict[str, str], py: str, js: str,
        cases: Callable[[random.Random], list[tuple]]) -> Template:
    """A function template whose cases are plain argument tuples for `f`."""
    return Template(roles, py, js, lambda r: [Case("f", a) for a in cases(r)])


def _clamp_cases(r: random.Random) -> list[tuple]:
    lo = r.randint(0, 10)
    hi = lo + r.randint(5, 20)
    return [(lo - r.randint(1, 5), lo, hi), (hi + r.randint(1, 5), lo, hi), (lo + 2, lo, hi)]


def _range_cases(r: random.Random) -> list[tuple]:
    lo = r.randint(0, 10)
    hi = lo + r.randint(3, 9)
    return [(lo, lo, hi), (hi, lo, hi), (lo + 1, lo, hi), (lo - 1, lo, hi)]


def _grade_cases(r: random.Random) -> list[tuple]:
    return [(x,) for x in (95, 90, 89, 80, 79, 70, 69, r.randint(0, 60))]


def _account_cases(r: random.Random) -> list[Case]:
    start, more, take = r.randint(20, 60), r.randint(5, 30), r.randint(5, 15)
    return [Case("dep", (more,), (start,)),
            Case("wd", (take,), (start,)),
            Case("wd", (start + more + 1,), (start,), (("dep", (more,)),)),
            Case("dep", (0,), (start,), (("wd", (take,)),))]


def _box_cases(r: random.Random) -> list[Case]:
    cap = r.randint(2, 4)
    words = _words(r, cap + 1)
    fill = tuple(("add", (w,)) for w in words[:cap])
    return [Case("add", (words[0],), (cap,)), Case("add", (words[-1],), (cap,), fill),
            Case("size", (), (cap,), fill[:-1])]


def _rect_cases(r: random.Random) -> list[Case]:
    w, h = r.randint(2, 9), r.randint(10, 19)
    return [Case("area", (), (w, h)), Case("per", (), (w, h)), Case("sq", (), (w, h)),
            Case("sq", (), (w, w))]


TEMPLATES: tuple[Template, ...] = (
    _fn({"f": "clamp|bound|clip|limit_to|fit_range", "x": "value|x|n|amount|level",
         "lo": "lo|low|lower|minimum", "hi": "hi|high|upper|maximum"},
        "def $f($x, $lo, $hi):\n    if $x < $lo:\n        return $lo\n"
        "    if $x > $hi:\n        return $hi\n    return $x\n",
        "function $f($x, $lo, $hi) {\n  if ($x < $lo) {\n    return $lo;\n  }\n"
        "  if ($x > $hi) {\n    return $hi;\n  }\n  return $x;\n}\n",
        _clamp_cases),
    _fn({"f": "average|mean|avg|mean_of", "xs": "values|numbers|xs|scores", "t": "total|acc|running"},
        "def $f($xs):\n    if not $xs:\n        return 0\n    $t = 0\n    for v in $xs:\n"
        "        $t = $t + v\n    return $t / len($xs)\n",
        "function $f($xs) {\n  if ($xs.length === 0) {\n    return 0;\n  }\n  let $t = 0;\n"
        "  for (const v of $xs) {\n    $t = $t + v;\n  }\n  return $t / $xs.length;\n}\n",
        lambda r: [(_ints(r, 4),), (_ints(r, 3),), ([],)]),
    _fn({"f": "count_of|count_matches|occurrences|tally", "xs": "items|values|xs|seq",
         "t": "target|needle|wanted", "n": "count|found|hits"},
        "def $f($xs, $t):\n    $n = 0\n    for v in $xs:\n        if v == $t:\n"
        "            $n = $n + 1\n    return $n\n",
        "function $f($xs, $t) {\n  let $n = 0;\n  for (const v of $xs) {\n    if (v == $t) {\n"
        "      $n = $n + 1;\n    }\n  }\n  return $n;\n}\n",
        lambda r: [([3, 1, 3, 2, 3], 3), (_ints(r, 5, 1, 4), r.randint(1, 4)), ([1, 2], 5)]),
    _fn({"f": "in_range|within|is_between|inside", "x": "value|x|n|point",
         "lo": "start|lo|low|first", "hi": "stop|hi|end|limit"},
        "def $f($x, $lo, $hi):\n    return $lo <= $x and $x < $hi\n",
        "function $f($x, $lo, $hi) {\n  return $lo <= $x && $x < $hi;\n}\n",
        _range_cases),
    _fn({"f": "largest|biggest|max_value|highest", "xs": "values|numbers|items|xs",
         "b": "best|top|current"},
        "def $f($xs):\n    $b = $xs[0]\n    for v in $xs[1:]:\n        if v > $b:\n"
        "            $b = v\n    return $b\n",
        "function $f($xs) {\n  let $b = $xs[0];\n  for (const v of $xs.slice(1)) {\n"
        "    if (v > $b) {\n      $b = v;\n    }\n  }\n  return $b;\n}\n",
        lambda r: [(_ints(r, 5),), ([r.randint(30, 40)] + _ints(r, 3),), ([7, 2, 9, 4],)]),
    _fn({"f": "sum_multiples|sum_even|total_of_multiples", "xs": "values|numbers|xs",
         "t": "total|acc|result", "k": "2|3|5"},
        "def $f($xs):\n    $t = 0\n    for v in $xs:\n        if v % $k == 0:\n"
        "            $t = $t + v\n    return $t\n",
        "function $f($xs) {\n  let $t = 0;\n  for (const v of $xs) {\n    if (v % $k == 0) {\n"
        "      $t = $t + v;\n    }\n  }\n  return $t;\n}\n",
        lambda r: [(list(range(1, 11)),), (_ints(r, 6),), ([1],)]),
    _fn({"f": "pad_left|left_pad|pad_start|right_align", "s": "text|s|word|label",
         "w": "width|size|length", "c": "0|.|*|-"},
        "def $f($s, $w):\n    if len($s) >= $w:\n        return $s\n"
        "    return \"$c\" * ($w - len($s)) + $s\n",
        "function $f($s, $w) {\n  if ($s.length >= $w) {\n    return $s;\n  }\n"
        "  return \"$c\".repeat($w - $s.length) + $s;\n}\n",
        lambda r: [("7", 3), (r.choice(WORDS), 8), ("abcd", 4), ("toolong", 3)]),
    _fn({"f": "count_long_words|long_words|words_at_least", "s": "text|sentence|line",
         "n": "min_len|n|length"},
        "def $f($s, $n):\n    return len([w for w in $s.split(\" \") if len(w) >= $n])\n",
        "function $f($s, $n) {\n  return $s.split(\" \").filter((w) => w.length >= $n).length;\n}\n",
        lambda r: [(" ".join(_words(r, 5)), 5), ("a bb ccc dddd", 3), ("tiny", 9)]),
    _fn({"f": "percent|percentage|share_of|pct", "p": "part|count|done",
         "w": "whole|total|all_items"},
        "def $f($p, $w):\n    if $w == 0:\n        return 0\n    return 100 * $p // $w\n",
        "function $f($p, $w) {\n  if ($w == 0) {\n    return 0;\n  }\n"
        "  return Math.floor((100 * $p) / $w);\n}\n",
        lambda r: [(1, 4), (r.randint(1, 9), r.randint(10, 30)), (3, 0), (5, 5)]),
    _fn({"f": "label|fizz|say|call_out", "n": "n|number|i", "a": "Fizz|Ping|Foo",
         "b": "Buzz|Pong|Bar"},
        "def $f($n):\n    if $n % 15 == 0:\n        return \"$a$b\"\n    if $n % 3 == 0:\n"
        "        return \"$a\"\n    if $n % 5 == 0:\n        return \"$b\"\n    return str($n)\n",
        "function $f($n) {\n  if ($n % 15 == 0) {\n    return \"$a$b\";\n  }\n"
        "  if ($n % 3 == 0) {\n    return \"$a\";\n  }\n  if ($n % 5 == 0) {\n"
        "    return \"$b\";\n  }\n  return String($n);\n}\n",
        lambda r: [(30,), (9,), (10,), (r.choice([7, 11, 13]),)]),
    _fn({"f": "factorial|fact|product_upto", "n": "n|k|num"},
        "def $f($n):\n    if $n <= 1:\n        return 1\n    return $n * $f($n - 1)\n",
        "function $f($n) {\n  if ($n <= 1) {\n    return 1;\n  }\n  return $n * $f($n - 1);\n}\n",
        lambda r: [(0,), (1,), (r.randint(4, 7),)]),
    _fn({"f": "triangle|triangular|sum_to|sum_upto", "n": "n|k|count"},
        "def $f($n):\n    return $n * ($n + 1) // 2\n",
        "function $f($n) {\n  return ($n * ($n + 1)) / 2;\n}\n",
        lambda r: [(1,), (r.randint(3, 30),), (10,)]),
    _fn({"f": "discounted|apply_discount|sale_price|reduce_price", "p": "price|amount|cost",
         "d": "pct|percent|discount"},
        "def $f($p, $d):\n    return $p - $p * $d / 100\n",
        "function $f($p, $d) {\n  return $p - ($p * $d) / 100;\n}\n",
        lambda r: [(200, 25), (r.randint(10, 90) * 10, r.choice([10, 20, 50])), (80, 0)]),
    _fn({"f": "is_leap|leap_year|is_leap_year", "y": "year|y|yr"},
        "def $f($y):\n    return $y % 4 == 0 and ($y % 100 != 0 or $y % 400 == 0)\n",
        "function $f($y) {\n  return $y % 4 == 0 && ($y % 100 != 0 || $y % 400 == 0);\n}\n",
        lambda r: [(2000,), (1900,), (r.choice([1996, 2024, 2012]),), (r.choice([2023, 2019]),)]),
    _fn({"f": "grade|letter_grade|to_letter|grade_for", "s": "score|points|mark"},
        "def $f($s):\n    if $s >= 90:\n        return \"A\"\n    if $s >= 80:\n        return \"B\"\n"
        "    if $s >= 70:\n        return \"C\"\n    return \"F\"\n",
        "function $f($s) {\n  if ($s >= 90) {\n    return \"A\";\n  }\n  if ($s >= 80) {\n"
        "    return \"B\";\n  }\n  if ($s >= 70) {\n    return \"C\";\n  }\n  return \"F\";\n}\n",
        _grade_cases),
    _fn({"f": "merge_counts|add_counts|combine_tallies", "a": "first|left|base",
         "b": "second|right|extra", "o": "out|merged|result"},
        "def $f($a, $b):\n    $o = dict($a)\n    for k, v in $b.items():\n"
        "        $o[k] = $o.get(k, 0) + v\n    return $o\n",
        "function $f($a, $b) {\n  const $o = { ...$a };\n"
        "  for (const [k, v] of Object.entries($b)) {\n    $o[k] = ($o[k] || 0) + v;\n  }\n"
        "  return $o;\n}\n",
        lambda r: [({"a": 1, "b": 2}, {"b": r.randint(1, 9), "c": 4}), ({}, {"x": 3}),
                   ({w: r.randint(1, 5) for w in _words(r, 2)}, {})]),
    _fn({"f": "order_total|total_cost|bill|checkout_total", "p": "prices|price_of|catalog",
         "q": "quantities|counts|cart", "t": "total|acc|amount"},
        "def $f($p, $q):\n    $t = 0\n    for k, n in $q.items():\n"
        "        $t = $t + $p[k] * n\n    return $t\n",
        "function $f($p, $q) {\n  let $t = 0;\n  for (const [k, n] of Object.entries($q)) {\n"
        "    $t = $t + $p[k] * n;\n  }\n  return $t;\n}\n",
        lambda r: [({"tea": 3, "jam": 5}, {"tea": 2, "jam": r.randint(1, 4)}),
                   ({"pen": r.randint(2, 9)}, {"pen": 3}), ({"ink": 4}, {})]),
    _fn({"f": "chunks|chunked|split_every|batches", "xs": "items|values|seq",
         "n": "size|n|width"},
        "def $f($xs, $n):\n    return [$xs[i:i + $n] for i in range(0, len($xs), $n)]\n",
        "function $f($xs, $n) {\n  return Array.from({ length: Math.ceil($xs.length / $n) },"
        " (_, i) => $xs.slice(i * $n, i * $n + $n));\n}\n",
        lambda r: [(list(range(1, 8)), 3), (_ints(r, 4), 2), ([], 2)]),
    _fn({"f": "running_total|cumulative|prefix_sums|running_sum", "xs": "values|numbers|xs",
         "o": "out|sums|totals", "t": "total|acc|so_far", "v": "value|num|item"},
        "def $f($xs):\n    $o = []\n    $t = 0\n    for $v in $xs:\n        $t = $t + $v\n"
        "        $o.append($t)\n    return $o\n",
        "function $f($xs) {\n  const $o = [];\n  let $t = 0;\n  for (const $v of $xs) {\n"
        "    $t = $t + $v;\n    $o.push($t);\n  }\n  return $o;\n}\n",
        lambda r: [([1, 2, 3],), (_ints(r, 5),), ([],)]),
    _fn({"f": "differences|deltas|steps_between|gaps", "xs": "values|points|xs"},
        "def $f($xs):\n    return [$xs[i + 1] - $xs[i] for i in range(len($xs) - 1)]\n",
        "function $f($xs) {\n  return $xs.slice(1).map((x, i) => x - $xs[i]);\n}\n",
        lambda r: [([1, 4, 9, 16],), (sorted(_ints(r, 5)),), ([5],)]),
    _fn({"f": "format_money|money|as_currency|format_price", "c": "cents|amount|value",
         "u": "$|EUR |USD "},
        "def $f($c):\n    return \"$u\" + str($c // 100) + \".\" + str($c % 100).zfill(2)\n",
        "function $f($c) {\n  return \"$u\" + String(Math.floor($c / 100)) + \".\" +"
        " String($c % 100).padStart(2, \"0\");\n}\n",
        lambda r: [(1234,), (r.randint(100, 9999),), (5,), (100,)]),
    _fn({"f": "truncate|shorten|ellipsize|clip_text", "s": "text|s|title",
         "n": "limit|width|max_len"},
        "def $f($s, $n):\n    if len($s) <= $n:\n        return $s\n"
        "    return $s[:$n - 3] + \"...\"\n",
        "function $f($s, $n) {\n  if ($s.length <= $n) {\n    return $s;\n  }\n"
        "  return $s.slice(0, $n - 3) + \"...\";\n}\n",
        lambda r: [("hello world", 8), (r.choice(WORDS), 10), ("abcdef", 6), ("abcdefg", 6)]),
    _fn({"f": "count_vowels|vowels|vowel_count", "s": "text|word|s", "n": "count|total|found"},
        "def $f($s):\n    $n = 0\n    for ch in $s.lower():\n        if \"aeiou\".find(ch) >= 0:\n"
        "            $n = $n + 1\n    return $n\n",
        "function $f($s) {\n  let $n = 0;\n  for (const ch of $s.toLowerCase()) {\n"
        "    if (\"aeiou\".indexOf(ch) >= 0) {\n      $n = $n + 1;\n    }\n  }\n  return $n;\n}\n",
        lambda r: [("Banana",), (r.choice(WORDS),), ("rhythm",)]),
    _fn({"f": "manhattan|grid_distance|taxicab|block_distance"},
        "def $f(x1, y1, x2, y2):\n    return abs(x1 - x2) + abs(y1 - y2)\n",
        "function $f(x1, y1, x2, y2) {\n  return Math.abs(x1 - x2) + Math.abs(y1 - y2);\n}\n",
        lambda r: [(0, 0, 3, 4), tuple(_ints(r, 4, 0, 9)), (5, 1, 2, 7)]),
    _fn({"f": "median|middle_value|med", "xs": "values|numbers|xs", "s": "ordered|srt|sorted_xs",
         "m": "mid|half|center"},
        "def $f($xs):\n    $s = sorted($xs)\n    $m = len($s) // 2\n    if len($s) % 2 == 1:\n"
        "        return $s[$m]\n    return ($s[$m - 1] + $s[$m]) / 2\n",
        "function $f($xs) {\n  const $s = [...$xs].sort((a, b) => a - b);\n"
        "  const $m = Math.floor($s.length / 2);\n  if ($s.length % 2 == 1) {\n"
        "    return $s[$m];\n  }\n  return ($s[$m - 1] + $s[$m]) / 2;\n}\n",
        lambda r: [([3, 1, 2],), ([4, 1, 3, 2],), (_ints(r, 5),), (_ints(r, 4),)]),
    _fn({"f": "to_fahrenheit|c_to_f|celsius_to_fahrenheit", "c": "celsius|deg|temp"},
        "def $f($c):\n    return $c * 9 / 5 + 32\n",
        "function $f($c) {\n  return ($c * 9) / 5 + 32;\n}\n",
        lambda r: [(0,), (100,), (r.choice([10, 25, 40, -40]),)]),
    _fn({"f": "last_n|tail|take_last|newest", "xs": "items|values|log", "n": "n|count|k"},
        "def $f($xs, $n):\n    return $xs[len($xs) - $n:]\n",
        "function $f($xs, $n) {\n  return $xs.slice($xs.length - $n);\n}\n",
        lambda r: [([1, 2, 3, 4, 5], 2), (_words(r, 4), 3), ([9], 1)]),
    _fn({"f": "capped_sum|sum_until|fill_to|budget_sum", "xs": "values|costs|items",
         "cap": "cap|budget|limit", "t": "total|spent|acc"},
        "def $f($xs, $cap):\n    $t = 0\n    for v in $xs:\n        if $t + v > $cap:\n"
        "            return $t\n        $t = $t + v\n    return $t\n",
        "function $f($xs, $cap) {\n  let $t = 0;\n  for (const v of $xs) {\n"
        "    if ($t + v > $cap) {\n      return $t;\n    }\n    $t = $t + v;\n  }\n"
        "  return $t;\n}\n",
        lambda r: [([5, 5, 5], 12), ([5, 5, 5], 10), (_ints(r, 4), 100), ([20], 5)]),
    _fn({"f": "word_score|letter_sum|score_word|alpha_value", "s": "word|text|s",
         "t": "total|score|acc"},
        "def $f($s):\n    $t = 0\n    for ch in $s:\n        $t = $t + ord(ch) - 96\n    return $t\n",
        "function $f($s) {\n  let $t = 0;\n  for (const ch of $s) {\n"
        "    $t = $t + ch.charCodeAt(0) - 96;\n  }\n  return $t;\n}\n",
        lambda r: [("abc",), (r.choice(WORDS),), ("",)]),
    Template({"C": "Account|Wallet|PiggyBank|Purse", "bal": "balance|funds|money",
              "dep": "deposit|add_funds|credit|put_in", "wd": "withdraw|take_out|debit|spend",
              "a": "amount|value|sum_in"},
             "class $C:\n    def __init__(self, start):\n        self.$bal = start\n\n"
             "    def $dep(self, $a):\n        self.$bal = self.$bal + $a\n        return self.$bal\n\n"
             "    def $wd(self, $a):\n        if $a > self.$bal:\n            return False\n"
             "        self.$bal = self.$bal - $a\n        return True\n",
             "class $C {\n  constructor(start) {\n    this.$bal = start;\n  }\n\n"
             "  $dep($a) {\n    this.$bal = this.$bal + $a;\n    return this.$bal;\n  }\n\n"
             "  $wd($a) {\n    if ($a > this.$bal) {\n      return false;\n    }\n"
             "    this.$bal = this.$bal - $a;\n    return true;\n  }\n}\n",
             _account_cases),
    Template({"C": "Box|Shelf|Basket|Bag", "cap": "capacity|limit|slots",
              "add": "add|put|store|push_item", "size": "size|count|used"},
             "class $C:\n    def __init__(self, $cap):\n        self.$cap = $cap\n"
             "        self.items = []\n\n    def $add(self, item):\n"
             "        if len(self.items) >= self.$cap:\n            return False\n"
             "        self.items.append(item)\n        return True\n\n"
             "    def $size(self):\n        return len(self.items)\n",
             "class $C {\n  constructor($cap) {\n    this.$cap = $cap;\n    this.items = [];\n  }\n\n"
             "  $add(item) {\n    if (this.items.length >= this.$cap) {\n      return false;\n"
             "    }\n    this.items.push(item);\n    return true;\n  }\n\n"
             "  $size() {\n    return this.items.length;\n  }\n}\n",
             _box_cases),
    Template({"C": "Rect|Rectangle|Plot|Panel", "w": "width|w|wide", "h": "height|h|tall",
              "area": "area|surface|size", "per": "perimeter|border|edge_length",
              "sq": "is_square|square|equal_sides"},
             "class $C:\n    def __init__(self, $w, $h):\n        self.$w = $w\n        self.$h = $h\n\n"
             "    def $area(self):\n        return self.$w * self.$h\n\n"
             "    def $per(self):\n        return 2 * (self.$w + self.$h)\n\n"
             "    def $sq(self):\n        return self.$w == self.$h\n",
             "class $C {\n  constructor($w, $h) {\n    this.$w = $w;\n    this.$h = $h;\n  }\n\n"
             "  $area() {\n    return this.$w * this.$h;\n  }\n\n"
             "  $per() {\n    return 2 * (this.$w + this.$h);\n  }\n\n"
             "  $sq() {\n    return this.$w == this.$h;\n  }\n}\n",
             _rect_cases),
)


# ---------------------------------------------------------------------------------------
# Projects: a module of filled templates and its tests, in one language
# ---------------------------------------------------------------------------------------

def camel(name: str) -> str:
    """JavaScript's spelling of a snake_case name."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


@dataclass(frozen=True)
class Unit:
    """A template with its names chosen: the code in both languages and its cases."""

    names: dict[str, str]
    py: str
    js: str
    cases: list[Case]

    @property
    def export(self) -> str:
        return self.names.get("f") or self.names["C"]

    @property
    def js_export(self) -> str:
        return self.name("f" if "f" in self.names else "C", "javascript")

    def name(self, role: str, lang: str) -> str:
        return self.names[role] if lang == "python" or role == "C" else camel(self.names[role])


def fill(t: Template, r: random.Random) -> Unit:
    names = {role: r.choice(choices.split("|")) for role, choices in t.roles.items()}
    js_names = {k: v if k == "C" else camel(v) for k, v in names.items()}
    return Unit(names, Code(t.py).substitute(names), Code(t.js).substitute(js_names), t.cases(r))


@dataclass(frozen=True)
class Project:
    name: str  # the directory the user works in (shown in paths instead of the temp dir)
    lang: str
    src: str
    test: str
    files: dict[str, str]


def _expected(module: str, unit: Unit, case: Case):
    """The value the original code gives: what the test asserts."""
    ns: dict = {}
    exec(module, ns)  # noqa: S102 - our own generated module
    args = copy.deepcopy(case.args)
    if case.ctor is None:
        return ns[unit.names["f"]](*args)
    obj = ns[unit.names["C"]](*case.ctor)
    for method, a in case.setup:
        getattr(obj, unit.names[method])(*copy.deepcopy(a))
    return getattr(obj, unit.names[case.call])(*args)


# How a test spells a new object, ends a statement and writes a literal, per language.
_SYNTAX = {"python": ("{v} = {C}({a})", "", repr),
           "javascript": ("const {v} = new {C}({a})", ";", json.dumps)}


def _call(unit: Unit, case: Case, var: str, lang: str) -> tuple[list[str], str]:
    """(statements before, the call expression) for one case in `lang`."""
    new_obj, end, literal = _SYNTAX[lang]

    def args(values: tuple) -> str:
        return ", ".join(map(literal, values))

    if case.ctor is None:
        return [], f"{unit.name('f', lang)}({args(case.args)})"
    lines = [new_obj.format(v=var, C=unit.names["C"], a=args(case.ctor)) + end]
    lines += [f"{var}.{unit.name(m, lang)}({args(a)}){end}" for m, a in case.setup]
    return lines, f"{var}.{unit.name(case.call, lang)}({args(case.args)})"


def _tests_of(unit: Unit) -> list[tuple[str, list[Case]]]:
    """(test name, cases): one test per function, one per case for a class (each case
    builds its own object)."""
    if unit.cases[0].ctor is None:
        return [(unit.names["f"], unit.cases)]
    base = re.sub(r"(?<!^)([A-Z])", r"_\1", unit.names["C"]).lower()
    return [(f"{base}_{unit.names[c.call]}_{i}", [c]) for i, c in enumerate(unit.cases, 1)]


def py_tests(module: str, mod: str, units: list[Unit]) -> str:
    out = [f"from {mod} import {', '.join(u.export for u in units)}\n"]
    for u in units:
        for name, cases in _tests_of(u):
            body = []
            for c in cases:
                pre, call = _call(u, c, "obj", "python")
                want = _expected(module, u, c)
                op = "is" if isinstance(want, bool) else "=="
                body += pre + [f"assert {call} {op} {want!r}"]
            out.append(f"\ndef test_{name}():\n" + "".join(f"    {ln}\n" for ln in body))
    return "\n".join(out)


def js_tests(module: str, require: str, units: list[Unit]) -> str:
    names = ", ".join(u.js_export for u in units)
    out = ['const test = require("node:test");\nconst assert = require("node:assert");\n'
           f'const {{ {names} }} = require("{require}");\n']
    for u in units:
        for name, cases in _tests_of(u):
            body = []
            for c in cases:
                pre, call = _call(u, c, "obj", "javascript")
                want = _expected(module, u, c)
                check = "deepStrictEqual" if isinstance(want, (list, dict)) else "strictEqual"
                body += pre + [f"assert.{check}({call}, {json.dumps(want)});"]
            out.append(f'test("{name.replace("_", " ")}", () => {{\n' + "".join(f"  {ln}\n" for ln in body) + "});\n")
    return "\n".join(out)


def _units(r: random.Random) -> list[Unit]:
    """2-4 filled templates whose exported names differ."""
    units: list[Unit] = []
    for t in r.sample(TEMPLATES, r.randint(2, 4)):
        u = fill(t, r)
        if u.export not in {x.export for x in units}:
            units.append(u)
    return units


def make_project(r: random.Random, lang: str, units: list[Unit] | None = None) -> Project:
    """A project in `lang` of the given units (else 2-4 drawn from the bank)."""
    units = units or _units(r)
    mod, name = r.choice(MODULE_NAMES), r.choice(PROJECT_NAMES)
    py_module = "\n\n".join(u.py for u in units)
    if lang == "python":
        src, test = f"{mod}.py", f"test_{mod}.py"
        return Project(name, lang, src, test, {src: py_module, test: py_tests(py_module, mod, units)})
    src, test, require = r.choice([(f"{mod}.js", f"test/{mod}.test.js", f"../{mod}.js"),
                                   (f"{mod}.js", f"{mod}.test.js", f"./{mod}.js"),
                                   (f"src/{mod}.js", f"test/{mod}.test.js", f"../src/{mod}.js")])
    exports = ", ".join(u.js_export for u in units)
    module = "\n".join(u.js for u in units) + f"\nmodule.exports = {{ {exports} }};\n"
    pkg = json.dumps({"name": name, "version": "1.0.0", "scripts": {"test": "node --test"}},
                     indent=2) + "\n"
    return Project(name, lang, src, test,
                   {src: module, test: js_tests(py_module, require, units), "package.json": pkg})


# ---------------------------------------------------------------------------------------
# Examples: a caught bug, the real failing output, the prompt the agent builds
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Example:
    project: Project
    buggy: str
    kind: str  # the mutation (edit_tasks._mutations)
    request: str
    output: str  # tests_output of the failing run, the temp path hidden
    both_files: bool

    @property
    def original(self) -> str:
        return self.project.files[self.project.src]

    def task(self) -> str:
        """What AgentLoop._edit_task hands the editor after the failed first step."""
        obs = observation(1, "run_tests", TEST_ARG[self.project.lang], "failed", self.output)
        return render("edit_retry.md", request=self.request, result=obs)

    def record(self) -> dict:
        p = self.project
        files = [(p.src, self.buggy)] + ([(p.test, p.files[p.test])] if self.both_files else [])
        return {"prompt": render_chatml(edit_messages(files, self.task(), style=HRM_STYLE)),
                "answer": blocks_for(p.src, self.buggy, self.original) + IM_END,
                "kind": "test_fix", "detail": self.kind, "lang": p.lang, "path": p.src}


def steady(text: str, work: Path, project: Project, r: random.Random) -> str:
    """The run's output as it would read in the user's project: the temp directory shown as
    /home/user/<project>, and timings and object addresses drawn from `r` so that a seed
    gives the same records."""
    home = f"/home/user/{project.name}"
    for p in {str(work.resolve()), str(work)}:
        text = text.replace(p, home)
    text = re.sub(r"\bin \d+\.\d+s\b", lambda _: f"in {r.uniform(0.01, 0.3):.2f}s", text)
    text = re.sub(r" at 0x[0-9a-f]{6,16}>", lambda _: f" at 0x7f{r.getrandbits(40):010x}>", text)
    return re.sub(r"(duration_ms:? )\d+(\.\d+)?",
                  lambda m: f"{m.group(1)}{r.uniform(0.2, 90):.6f}", text)


def _run(work: Path) -> TestResult:
    return run_tests(work, timeout=TEST_TIMEOUT, env=TEST_ENV)


def project_examples(project: Project, work: Path, r: random.Random,
                     per_project: int = 3) -> Iterator[Example]:
    """Up to `per_project` examples, each a different bug the tests catch; gives up after
    a few runs whose bug went unnoticed (each run costs a test process)."""
    work.mkdir(parents=True)
    _git_repo(work, project.files)
    if project.lang != "python" and not _run(work).passed:
        return  # the JavaScript twin disagrees with the Python original on these values
    original, rel = project.files[project.src], project.src
    src = load(original, project.lang, rel)
    muts = list(_mutations(src))
    r.shuffle(muts)
    seen: set[str] = set()
    made = runs = 0
    for kind, _fn, s, e, new in muts:
        if made >= per_project or runs >= per_project + 2:
            break
        buggy = src.replace_spans([(s, e, new)])
        if buggy in seen or load(buggy, project.lang, rel).tree.root_node.has_error:
            continue
        seen.add(buggy)
        try:
            blocks_for(rel, buggy, original)
        except Unrepresentable:
            continue
        (work / rel).write_text(buggy)
        runs += 1
        res = _run(work)
        if res.timed_out or res.passed or not res.n_failed:
            continue
        shown = tests_output(dataclasses.replace(res, output=steady(res.output, work, project, r)))
        request = expand(r.choice(REQUESTS) + r.choice(["", ".", "."]), r)
        request = request.format(src=rel, test=project.test)
        made += 1
        yield Example(project, buggy, kind, request, shown, r.random() < BOTH_FILES_SHARE)
    (work / rel).write_text(original)


def examples(seed: int = 0, langs: tuple[str, ...] = ("python", "javascript")) -> Iterator[Example]:
    """An endless stream of examples, the same for a seed (take what you need)."""
    with tempfile.TemporaryDirectory(prefix="hrm-testfix-") as tmp:
        for i in itertools.count():
            r = random.Random(f"test_fix:{seed}:{i}")
            lang = "javascript" if "javascript" in langs and (
                "python" not in langs or r.random() < JS_SHARE) else "python"
            if lang == "javascript" and shutil.which("node") is None:
                continue
            work = Path(tmp) / f"p{i}"
            yield from project_examples(make_project(r, lang), work, r)
            shutil.rmtree(work)


def build(out: str | Path, n: int, tokenizer, seed: int = 0, max_tokens: int = 900) -> Counter:
    """Write `n` records that fit in `max_tokens` (with their token counts, as
    trainer.data.chat_tasks writes them) to `out`; returns counts per (lang, kind, detail)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: Counter = Counter()
    with open(out, "w", encoding="utf-8") as fh:
        for ex in examples(seed):
            rec = ex.record()
            rec["prompt_tokens"] = len(tokenizer.encode(rec["prompt"]))
            rec["answer_tokens"] = len(tokenizer.encode(rec["answer"]))
            if rec["prompt_tokens"] + rec["answer_tokens"] > max_tokens:
                continue
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            counts[(rec["lang"], rec["kind"], rec["detail"])] += 1
            if sum(counts.values()) >= n:
                break
    return counts


def main(argv: list[str] | None = None) -> int:
    import argparse
    import time

    from hrmcli.runtime.gguf_load import load_tokenizer

    ap = argparse.ArgumentParser(prog="python -m trainer.data.test_fix_tasks",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--n", type=int, required=True, help="how many records to write")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokenizer-from", required=True, help="a GGUF whose tokenizer counts tokens")
    ap.add_argument("--max-tokens", type=int, default=900)
    a = ap.parse_args(argv)
    started = time.monotonic()
    counts = build(a.out, a.n, load_tokenizer(a.tokenizer_from), a.seed, a.max_tokens)
    print(f"wrote {sum(counts.values())} records to {a.out} in {time.monotonic() - started:.0f} s")
    for (lang, kind, detail), n in sorted(counts.items()):
        print(f"  {lang:11s} {kind:9s} {detail:19s} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
