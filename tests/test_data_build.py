"""build_dataset end to end on the fixture corpus: every output exists and reads back,
and a second call with the same inputs reuses the manifest instead of rebuilding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hrmcli import prompt_format as pf
from trainer.data.build import build_dataset, main, read_jsonl
from trainer.data.shards import open_shard
from trainer.tokenizer import Tokenizer

FIX = Path(__file__).parent / "fixtures" / "code"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, object]:
    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copytree(FIX / "src", corpus / "src")
    out = tmp_path_factory.mktemp("out")
    repair = [FIX / "repair" / "jsrange"] if shutil.which("node") else []
    info = build_dataset(corpus, out, vocab_size=700, seed=1, n_plans=40, repair_dirs=repair)
    return corpus, out, info


def test_outputs(built) -> None:
    corpus, out, info = built
    tok = Tokenizer.load(info.tokenizer_path)
    assert tok.vocab_size == info.vocab_size == 700
    assert info.heldout_bytes_per_token == 0.0 or info.heldout_bytes_per_token > 1
    train = open_shard(info.shards_dir, "train")
    heldout = open_shard(info.shards_dir, "heldout")
    assert len(train.langs) + len(heldout.langs) == sum(r["files"] for r in info.corpus["families"].values())
    edits = read_jsonl(info.task_files["edit_train"]) + read_jsonl(info.task_files["edit_heldout"])
    assert {r["lang"] for r in edits} >= {"python", "go", "rust", "java", "c", "cpp", "javascript", "typescript"}
    assert sum(info.counts["edit_train"].values()) + sum(info.counts["edit_heldout"].values()) == len(edits)
    plans = read_jsonl(info.task_files["plan_train"]) + read_jsonl(info.task_files["plan_heldout"])
    assert 0 < len(plans) <= 40 and all(r["kind"] == "plan" for r in plans)
    assert len({r["prompt"] + r["answer"] for r in plans}) == len(plans)
    for r in edits + plans:
        assert set(r) >= {"prompt", "answer", "kind", "task", "lang", "difficulty", "halt"}
        assert r["answer"].endswith(pf.EOS)
    if shutil.which("node"):
        reps = read_jsonl(info.task_files["repair_train"]) + read_jsonl(info.task_files["repair_heldout"])
        assert reps and all(r["kind"] == "repair" for r in reps)


def test_second_call_reuses_outputs(built) -> None:
    corpus, out, info = built
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = build_dataset(corpus, out, vocab_size=700, seed=1, n_plans=40,
                          repair_dirs=[FIX / "repair" / "jsrange"] if shutil.which("node") else [])
    assert again == info
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_changed_corpus_rebuilds_and_given_tokenizer_is_reused(built, tmp_path: Path) -> None:
    corpus, out, info = built
    c2 = tmp_path / "c2"
    shutil.copytree(corpus, c2)
    (c2 / "src" / "extra.py").write_text("def twice(x):\n    \"\"\"Double x.\"\"\"\n    return x + x\n")
    info2 = build_dataset(c2, tmp_path / "o2", tokenizer_path=info.tokenizer_path, vocab_size=700,
                          seed=1, n_plans=5)
    assert info2.key != info.key and info2.tokenizer_path == info.tokenizer_path
    assert not (tmp_path / "o2" / "tokenizer.json").exists()


def test_cli_reports_errors_plainly(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), str(tmp_path / "o")]) == 2
    assert "no source files" in capsys.readouterr().out
    assert main([str(tmp_path / "missing"), str(tmp_path / "o")]) == 2


def test_manifest_is_json(built) -> None:
    _, out, info = built
    m = json.loads((out / "manifest.json").read_text())
    assert m["key"] == info.key and m["task_files"] == info.task_files
