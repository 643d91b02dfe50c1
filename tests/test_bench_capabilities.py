"""bench.capabilities: the scenarios' checks pass on a right answer and fail on a wrong one."""

from __future__ import annotations

from bench.capabilities import run_one
from tests.scripted_server import ScriptedServer

RIGHT = (
    "util.py\n<<<<<<< SEARCH\ndef compute_total(xs):\n=======\ndef calculate_total(xs):\n>>>>>>> REPLACE\n\n"
    "a.py\n<<<<<<< SEARCH\nfrom util import compute_total\n\nprint(compute_total([1, 2]))\n=======\n"
    "from util import calculate_total\n\nprint(calculate_total([1, 2]))\n>>>>>>> REPLACE\n\n"
    "b.py\n<<<<<<< SEARCH\nassert util.compute_total([3]) == 3\n=======\n"
    "assert util.calculate_total([3]) == 3\n>>>>>>> REPLACE\n"
)
HALF = RIGHT.split("\n\nb.py")[0] + "\n"  # b.py still calls the old name


def test_rename_scenario_counts_only_a_complete_rename(tmp_path):
    with ScriptedServer([RIGHT]) as srv:
        ok = run_one("rename-py", srv.spec, 120, tmp_path / "ok")
    assert ok["success"] and ok["exit"] == 0, ok
    with ScriptedServer([HALF]) as srv:
        bad = run_one("rename-py", srv.spec, 120, tmp_path / "bad")
    assert not bad["success"], bad
