"""The bundled HRM-Code weights, end to end: a fresh install must run `hrm edit` and
`hrm run` on them with no download (real GGUF, real runtime, real git, real subprocesses).

The bundled model (HRM-Code 135M, a SmolLM2 retrofit; MODEL_CARD.md has its task scores)
is not always right, so these tests check what must hold whatever it writes: the file loads
as the default model with its licence beside it, generation streams tokens in its own prompt
layout, and an edit either applies exactly what the diff says (and is committed and
undoable) or writes nothing at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hrmcli.agent.backends import bundled_model
from tests.cli_helpers import git, hrm, init_repo

ORIGINAL = '''def greet(name):
    """Return a greeting for name."""
    return "Hello, " + name + "!"


def shout(name):
    return greet(name).upper()
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", {"greet.py": ORIGINAL, "test_greet.py": (
        "from greet import shout\n\n\ndef test_shout():\n    assert shout('a') == 'HELLO, A!'\n")})


def test_bundled_weights_are_shipped_and_are_the_default(tmp_path: Path):
    path = bundled_model()
    assert path is not None and path.is_file(), "hrmcli/weights/*.gguf is missing"
    assert path.stat().st_size < 160 * 2**20  # Q8_0 of 135M parameters: 138 MB
    # Weights derived from SmolLM2 ship with its licence and attribution.
    assert "Apache License" in (path.parent / "LICENSE-SmolLM2").read_text()
    assert "SmolLM2-135M-Instruct" in (path.parent / "NOTICE").read_text()
    r = hrm(tmp_path, tmp_path / "home", "models", "--json")
    assert r.returncode == 0, r.stderr
    models = json.loads(r.stdout)
    default = [m for m in models if m.get("default")]
    assert len(default) == 1 and default[0]["arch"] == "hrm-code"
    assert default[0]["quant"].upper() == "Q8_0"


def test_bundled_model_generates_from_its_own_prompt_format():
    from hrmcli.agent.backends.hrm import HRMBackend
    from hrmcli.agent.prompts import HRM_STYLE, edit_messages

    backend = HRMBackend(bundled_model())
    eng = backend.engine
    assert eng.tokenizer.is_chat and eng.cfg.retrofit
    prompt = backend.render(edit_messages([("greet.py", ORIGINAL)], "rename greet to welcome",
                                          HRM_STYLE))
    assert prompt.startswith("<|im_start|>system\n") and "File: greet.py" in prompt
    text = "".join(eng.stream(prompt, max_tokens=24, temperature=0.0))
    assert eng.last.prompt_tokens > 50 and eng.last.completion_tokens > 0
    assert text.strip()  # it answers (the edit format's path line or markers)
    assert 0.0 <= eng.halt_prob <= 1.0


def test_edit_on_bundled_model_applies_exactly_or_writes_nothing(repo: Path, tmp_path: Path):
    home = tmp_path / "home"
    r = hrm(repo, home, "edit", "greet.py", "rename the function greet to welcome",
            "--yes", "--json", timeout=300)
    assert r.returncode in (0, 1), r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["tokens"] > 0 and result["seconds"] > 0
    if result["applied"]:
        assert r.returncode == 0 and result["well_formed"] and result["files"] == ["greet.py"]
        assert (repo / "greet.py").read_text() != ORIGINAL
        assert "Hrm-Edit: true" in git(repo, "log", "-1", "--format=%B")
        assert hrm(repo, home, "undo").returncode == 0
    else:
        assert r.returncode == 1
    assert (repo / "greet.py").read_text() == ORIGINAL
    assert git(repo, "status", "--porcelain") == ""


def test_run_on_bundled_model_plans_and_stays_bounded(repo: Path, tmp_path: Path):
    r = hrm(repo, tmp_path / "home", "run", "make the tests pass", "--yes", "--json",
            "--max-steps", "3", timeout=300)
    assert r.returncode in (0, 1), r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["plan"], "a plan (the model's or the stated fallback) is always shown"
    assert len(result["steps"]) <= 3
    assert all({"tool", "ok"} <= set(s) for s in result["steps"])


def test_one_backend_shared_by_threads_generates_as_if_alone():
    """The benchmarks run exercises on threads that share one backend."""
    from concurrent.futures import ThreadPoolExecutor

    from hrmcli.agent.backends import load_backend
    from hrmcli.agent.backends.base import GenerationOptions, complete
    from hrmcli.agent.prompts import edit_messages

    backend = load_backend("")
    jobs = [edit_messages([("greet.py", ORIGINAL)], task, style=backend.prompt_style)
            for task in ("rename greet to welcome", "make shout lower-case", "add a docstring")]
    opts = GenerationOptions(max_tokens=24)
    alone = [complete(backend, m, opts).text for m in jobs]
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda m: complete(backend, m, opts).text, jobs))
    assert together == alone
