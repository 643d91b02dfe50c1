"""bench.turns: turn-2 time to first token with the first turn's KV cache kept or not."""

from __future__ import annotations

import json
from pathlib import Path

from bench.turns import main

TINY = Path(__file__).resolve().parents[1] / "hrmcli" / "weights" / "hrm-code-tiny-q4_0.gguf"


def test_reports_both_timings_for_the_same_turn_two_prompt(capsys):
    assert main(["--model", str(TINY), "--file-tokens", "200", "--repeat", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["model"] == str(TINY) and r["repeat"] == 1
    # turn 2 holds turn 1 whole: only the reply and the follow-up are new
    assert 0 < r["turn2_new_tokens"] < r["turn2_prompt_tokens"]
    assert r["ttft_kept_s"] > 0 and r["ttft_cold_s"] > 0
    assert abs(r["speedup"] - r["ttft_cold_s"] / r["ttft_kept_s"]) < 1e-9
