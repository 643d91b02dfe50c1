"""bench.layouts: held-out answer loss of retrofit layouts at several cycle counts."""

from __future__ import annotations

import json

from bench.layouts import main
from converters.retrofit import relayout, retrofit, save


def test_layouts_scored_at_each_cycle_count(tiny_llama, tmp_path, capsys):
    path, _ = tiny_llama
    ident = retrofit(path, "identity")
    a = save(ident, tmp_path / "identity.pt")
    payload = {"model": ident.state, "model_config": ident.cfg.to_dict(),
               "tokenizer": ident.tokenizer_fields, "provenance": ident.provenance,
               "prompt_format": ident.prompt_format}
    b = save(relayout(payload, "core:2:3:2"), tmp_path / "core.pt")
    recs = tmp_path / "heldout.jsonl"
    recs.write_text("".join(json.dumps({"prompt": f"def f{i}(x):\n", "answer": f"    return x + {i}\n",
                                        "kind": "literal"}) + "\n" for i in range(6)))
    assert main([str(recs), str(a), str(b), "--n", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ident_row, core_row = out["rows"]
    assert ident_row["layout"] == "identity" and list(ident_row["loss"]) == ["-"]
    assert core_row["layout"] == "core:2:3:2" and list(core_row["loss"]) == ["1", "2", "4"]
    assert core_row["trained_cycles"] == 2
    # untuned, the core layout is the identity model at every cycle count
    for v in core_row["loss"].values():
        assert abs(v - ident_row["loss"]["-"]) < 1e-3
    assert ident_row["loss"]["-"] > 0
    try:
        main([str(recs), str(tmp_path / "nope.pt")])
    except SystemExit as e:
        assert "no checkpoint" in str(e)
    else:
        raise AssertionError("a missing checkpoint must be refused")
