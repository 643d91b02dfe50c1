"""trainer.data.mix: a tuning set drawn per language from record files."""

from __future__ import annotations

import json

from trainer.data.mix import main, mix, parse_counts


def _write(path, recs):
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return str(path)


def test_draws_per_group_across_files(tmp_path):
    py = [{"prompt": f"p{i}", "answer": "a", "kind": "rename", "lang": "python"} for i in range(50)]
    js = [{"prompt": f"j{i}", "answer": "a", "kind": "literal", "lang": "javascript"} for i in range(5)]
    plans = [{"prompt": f"q{i}", "answer": "1. run_tests", "kind": "plan", "lang": "python"}
             for i in range(20)]
    a = _write(tmp_path / "a.jsonl", py[:25] + js)
    b = _write(tmp_path / "b.jsonl", py[25:] + plans)
    lines, got = mix([a, b], parse_counts("python=30,javascript=10,plan=4"), seed=1)
    recs = [json.loads(x) for x in lines]
    assert got == {"javascript": 5, "plan": 4, "python": 30}  # js has only 5: all of them
    assert sum(r["kind"] == "plan" for r in recs) == 4
    assert len({r["prompt"] for r in recs}) == len(recs) == 39  # no record twice
    # drawn from both files, not the head of the first
    assert {r["prompt"] for r in recs if r["lang"] == "python" and r["kind"] != "plan"} & \
        {f"p{i}" for i in range(25, 50)}
    again, _ = mix([a, b], parse_counts("python=30,javascript=10,plan=4"), seed=1)
    assert again == lines  # the seed fixes the set and its order


def test_cli_writes_atomically_and_rejects_bad_counts(tmp_path, capsys):
    a = _write(tmp_path / "a.jsonl", [{"prompt": "x", "answer": "y", "lang": "go"}])
    out = tmp_path / "out.jsonl"
    assert main([str(out), a, "--per-language", "go=3"]) == 0
    assert "go 1" in capsys.readouterr().out and out.read_text().count("\n") == 1
    try:
        main([str(out), a, "--per-language", "go"])
    except SystemExit as e:
        assert "NAME=COUNT" in str(e)
    else:
        raise AssertionError("a count without a number must be refused")


def test_a_language_kind_group_is_drawn_on_its_own(tmp_path):
    recs = [{"prompt": f"r{i}", "answer": "a", "kind": "rename", "lang": "python"} for i in range(40)]
    recs += [{"prompt": f"g{i}", "answer": "a", "kind": "add_guard", "lang": "python"} for i in range(6)]
    recs += [{"prompt": f"j{i}", "answer": "a", "kind": "add_guard", "lang": "javascript"} for i in range(3)]
    a = _write(tmp_path / "a.jsonl", recs)
    lines, got = mix([a], parse_counts("python=10,python:add_guard=4,javascript=5"), seed=2)
    out = [json.loads(x) for x in lines]
    assert got == {"javascript": 3, "python": 10, "python:add_guard": 4}
    py = [r for r in out if r["lang"] == "python"]
    assert sum(r["kind"] == "add_guard" for r in py) == 4 and len(py) == 14
    # without the kind named, guards are part of the python group like any other kind
    _, plain = mix([a], parse_counts("python=100"), seed=2)
    assert plain == {"python": 46}
