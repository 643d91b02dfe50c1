"""Test-fix records hold the real failing output of the project's own tests, in the layout
the agent's edit step builds after a failed run_tests, and their answers, applied by the
edit engine, make those tests pass again."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from hrmcli.agent.apply import apply_edits
from hrmcli.agent.editblocks import parse_edits
from hrmcli.agent.loop import observation
from hrmcli.agent.prompts import IM_END
from hrmcli.tools.testrun import run_tests
from trainer.data import test_fix_tasks as tf
from trainer.data.edit_tasks import _mutations
from trainer.data.plan_tasks import _git_repo
from trainer.data.treesitter import load

LANGS = ["python", pytest.param("javascript", marks=pytest.mark.skipif(
    shutil.which("node") is None, reason="node is not installed"))]


def _checkout(tmp_path: Path, project: tf.Project) -> Path:
    root = tmp_path / "repo"
    root.mkdir(parents=True)
    _git_repo(root, project.files)
    return root


def _last_failure(output: str) -> str:
    """The last line naming a failed test (pytest's summary, node's TAP): it does not
    depend on timing or paths, and the shown tail of the output always holds it."""
    return [ln for ln in output.splitlines() if ln.startswith(("FAILED ", "not ok "))][-1]


@pytest.mark.parametrize("lang", LANGS)
def test_records_show_the_real_failure_and_their_answer_fixes_it(lang: str, tmp_path: Path) -> None:
    for i, ex in enumerate(itertools.islice(tf.examples(seed=1, langs=(lang,)), 2)):
        rec = ex.record()
        p = ex.project
        assert rec["kind"] == "test_fix" and rec["lang"] == lang and rec["path"] == p.src
        assert rec["detail"] in {"operator_swap", "off_by_one", "flipped_comparison",
                                 "wrong_variable"}
        obs = observation(1, "run_tests", tf.TEST_ARG[lang], "failed", ex.output)
        assert f"{ex.request}\n\nLatest result:\n{obs}" in rec["prompt"]
        assert ex.buggy in rec["prompt"] and "/tmp/" not in rec["prompt"]
        root = _checkout(tmp_path / str(i), p)
        (root / p.src).write_text(ex.buggy)
        again = run_tests(root, env=tf.TEST_ENV)
        assert not again.passed and again.n_failed
        assert _last_failure(again.output) == _last_failure(ex.output)
        parsed = parse_edits(rec["answer"].removesuffix(IM_END))
        assert not parsed.errors and {b.path for b in parsed.blocks} == {p.src}
        assert apply_edits(parsed.blocks, root).ok
        assert (root / p.src).read_text() == p.files[p.src]
        assert run_tests(root, env=tf.TEST_ENV).passed


def test_two_file_variant_shows_the_tests_and_edits_only_the_source() -> None:
    ex = next(tf.examples(seed=2, langs=("python",)))
    one, both = (dataclasses.replace(ex, both_files=f).record() for f in (False, True))
    test_text = ex.project.files[ex.project.test]
    assert test_text not in one["prompt"] and test_text in both["prompt"]
    assert both["answer"] == one["answer"]
    assert {b.path for b in parse_edits(both["answer"]).blocks} == {ex.project.src}


@pytest.mark.parametrize("lang", LANGS)
def test_every_template_passes_its_tests_in_both_languages(lang: str, tmp_path: Path) -> None:
    """One project holding the whole bank: the JavaScript twins agree with the Python
    originals on the drawn values, for a few seeds."""
    assert len(tf.TEMPLATES) >= 25
    for seed in range(2):
        r = random.Random(seed)
        units = [tf.fill(t, r) for t in tf.TEMPLATES]
        assert len({u.export for u in units}) == len(units)
        project = tf.make_project(r, lang, units)
        res = run_tests(_checkout(tmp_path / str(seed), project), env=tf.TEST_ENV)
        assert res.passed and res.n_passed >= len(units), res.output[-3000:]


@pytest.mark.parametrize("lang", ["python", "javascript"])
def test_every_template_can_take_a_bug(lang: str) -> None:
    r = random.Random(0)
    for t in tf.TEMPLATES:
        unit = tf.fill(t, r)
        code = unit.py if lang == "python" else unit.js
        assert list(_mutations(load(code, lang, "m"))), code


def test_build_writes_token_counted_records_and_the_cli_the_same(tmp_path: Path,
                                                                 smollm2_gguf) -> None:
    from hrmcli.runtime.gguf_load import load_tokenizer

    out = tmp_path / "a.jsonl"
    counts = tf.build(out, 3, load_tokenizer(smollm2_gguf), seed=4)
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == sum(counts.values()) == 3
    for r in recs:
        assert set(r) == {"prompt", "answer", "kind", "detail", "lang", "path", "prompt_tokens",
                          "answer_tokens"}
        assert 0 < r["prompt_tokens"] and r["prompt_tokens"] + r["answer_tokens"] <= 900
    cli = tmp_path / "cli.jsonl"
    done = subprocess.run([".venv/bin/python", "-m", "trainer.data.test_fix_tasks", str(cli),
                           "--n", "3", "--seed", "4", "--tokenizer-from", str(smollm2_gguf)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "wrote 3 records" in done.stdout
    assert cli.read_text() == out.read_text()  # the same records for a seed
