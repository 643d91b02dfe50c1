"""Files longer than the context are shown as a window around what the task names, and an
edit made from the window applies to the whole file (real files, real git, our coder)."""

from __future__ import annotations

from hrmcli.agent.window import anchor_line, fit_files, task_names, window


def _big_module(n: int = 60) -> str:
    parts = [f"def helper_{i}(x):\n    return x + {i}\n\n\n" for i in range(n)]
    parts.insert(n // 2, "def paginate(items, size):\n    pages = []\n"
                         "    for i in range(0, len(items) - 1, size):\n"
                         "        pages.append(items[i:i + size])\n    return pages\n\n\n")
    return "".join(parts)


def test_task_names_prefer_quoted_identifiers():
    assert task_names("rename `greet` to `welcome` please")[:2] == ["greet", "welcome"]
    assert "paginate" in task_names("there's an off-by-one in paginate, the last page is missing")


def test_window_is_centred_on_the_definition_the_task_names():
    text = _big_module()
    lines = text.splitlines(keepends=True)
    a = anchor_line(lines, task_names("fix the off-by-one in paginate"))
    assert lines[a].startswith("def paginate")
    w = window(text, "fix the off-by-one in paginate", 600)
    assert len(w) <= 600 and "def paginate(items, size):" in w
    assert "        pages.append(items[i:i + size])\n" in w
    assert text.find(w) >= 0  # whole lines copied verbatim: a SEARCH from it matches the file


def test_fit_files_keeps_small_files_whole():
    files = [("a.py", "x = 1\n"), ("big.py", _big_module())]
    shown = fit_files(files, "rename `paginate` to `chunk`", context_tokens=1024, reserve_tokens=500)
    assert shown[0] == ("a.py", "x = 1\n")
    assert len(shown[1][1]) < len(files[1][1]) and "def paginate" in shown[1][1]
    assert fit_files(files, "x", context_tokens=100_000, reserve_tokens=500) == files
