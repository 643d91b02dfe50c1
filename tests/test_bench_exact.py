"""bench.exact on the bundled model and real records rendered by trainer.data.chat_tasks."""

from __future__ import annotations

import json
from pathlib import Path

from bench.exact import main, pick
from trainer.data.chat_tasks import render
from trainer.data.edit_tasks import edit_tasks_for_file

ROOT = Path(__file__).resolve().parents[1]


def test_pick_draws_evenly_across_kinds_and_leaves_plans_out():
    recs = [{"kind": k, "i": i} for k in ("rename", "literal", "plan") for i in range(5)]
    got = pick(recs, 4, seed=1)
    assert sorted(r["kind"] for r in got) == ["literal", "literal", "rename", "rename"]
    assert pick(recs, 4, seed=1) == got


def test_scores_the_bundled_model_on_real_records(tmp_path, capsys):
    src = (ROOT / "examples/demo/greet.py").read_text()
    tasks = [t for t in edit_tasks_for_file("greet.py", src, "python", 0) if t.task == "rename"][:1]
    assert tasks
    recs = tmp_path / "r.jsonl"
    recs.write_text("".join(json.dumps(render(t)) + "\n" for t in tasks))
    model = next((ROOT / "hrmcli/weights").glob("*.gguf"))
    assert main([str(model), str(recs), "--n", "1", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["total"] == 1 and res["exact"] in (0, 1) and res["per_kind"] == {"rename": [res["exact"], 1]}
