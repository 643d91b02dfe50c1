"""Edit tasks for tuning a retrofit (a pretrained chat model inside HRM-Code), rendered in
ChatML exactly as `hrm edit` prompts it.

Short inputs are what a 2-core CPU can afford and what users mostly edit: files longer
than `max_chars` are cut into windows of whole top-level definitions (imports stay with
the first window), and each window is a file of its own for the task generators
(trainer.data.edit_tasks). Every record is rendered through hrmcli.agent.prompts
(edit_messages -> render_chatml), so the tuned model sees at inference the very layout it
was tuned on. Records whose prompt + answer exceed `max_tokens` are dropped.

    python -m trainer.data.chat_tasks OUT.jsonl ROOT [ROOT ...] --tokenizer-from MODEL.gguf
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from hrmcli.agent.prompts import HRM_STYLE, IM_END, edit_messages, plan_messages, render_chatml

from .corpus import iter_corpus
from .edit_tasks import EditTask, Unrepresentable, blocks_for, edit_tasks_for_file
from .treesitter import load

# What users ask for most; "implement" (fill a stub from its docstring) teaches the model to
# keep a `def` line and invent a body, so it gets a small share.
KIND_WEIGHTS = {"rename": 1.0, "literal": 1.0, "add_param": 1.0, "add_import": 0.7,
                "fix_bug": 1.2, "implement": 0.25, "remove_debug": 0.8, "delete_function": 0.5,
                "param_from_literal": 1.0, "add_guard": 1.0, "missing_import": 1.0,
                "add_docstring": 1.0}
LANGS = ("python", "javascript", "typescript", "go", "rust", "java", "c", "cpp")


def windows(text: str, lang: str, max_chars: int) -> list[str]:
    """The file itself when short, else runs of whole top-level nodes of at most max_chars
    (a node longer than that is dropped)."""
    if len(text) <= max_chars:
        return [text]
    src = load(text, lang, "x")
    data = src.data
    out, start, end = [], None, None
    for node in src.tree.root_node.children:
        s, e = node.start_byte, node.end_byte
        s = data.rfind(b"\n", 0, s) + 1  # whole lines, comments above kept with their node
        if start is not None and e - start > max_chars:
            out.append(data[start:end])
            start = None
        if start is None:
            start = s
        end = data.find(b"\n", e)
        end = len(data) if end < 0 else end + 1
    if start is not None:
        out.append(data[start:end])
    return [w.decode("utf-8", "replace") for w in out if 40 <= len(w) <= max_chars]


def render(task: EditTask) -> dict:
    """One tuning record: the ChatML prompt `hrm edit` would send and the answer."""
    msgs = edit_messages([(task.path, task.before)], task.request, style=HRM_STYLE)
    return {
        "prompt": render_chatml(msgs),
        "answer": blocks_for(task.path, task.before, task.after) + IM_END,
        "kind": task.task, "detail": task.detail, "lang": task.lang, "path": task.path,
    }


def plan_records(n: int, seed: int = 0, repo_map: bool = False) -> Iterator[dict]:
    """Tool-plan records (trainer.data.plan_tasks scenarios) as `hrm run`'s planner prompts a
    retrofit: plan_messages -> render_chatml, the answer in the planner's `N. tool arg`
    lines (hrmcli.agent.planner.format_steps), which prompt_format.parse_plan reads back.
    With repo_map the context starts with the sandbox's repo map, as `hrm run` shows it."""
    from hrmcli.agent.planner import format_steps

    from .plan_tasks import generate as scenarios
    from .plan_tasks import planner_context

    for sc in scenarios(n, seed):
        context = planner_context(sc) if repo_map else sc.context
        yield {"prompt": render_chatml(plan_messages(sc.request, context)),
               "answer": "\n".join(format_steps(sc.steps)) + "\n" + IM_END,
               "kind": "plan", "detail": sc.name, "lang": "", "path": ""}


def generate_root(root: str | Path, seed: int = 0, max_chars: int = 2400,
                  langs: tuple[str, ...] = LANGS, heldout: bool = False) -> Iterator[dict]:
    """Records from one corpus root: training files, or with heldout=True only the held-out
    files (about 2%, chosen by content hash, trainer.data.corpus.is_heldout)."""
    for f in iter_corpus(root):
        if f.lang not in langs or f.heldout != heldout:
            continue
        for i, win in enumerate(windows(f.text, f.lang, max_chars)):
            rng = random.Random(f"{seed}:{f.sha}:{i}")
            # A window is shown under its file's path, as the agent's windowed view is.
            for t in edit_tasks_for_file(f.rel, win, f.lang, seed + i, max_chars=max_chars):
                if rng.random() > KIND_WEIGHTS.get(t.task, 1.0):
                    continue
                try:
                    yield render(t)
                except Unrepresentable:
                    continue


def generate(roots: Iterable[str | Path], seed: int = 0, max_chars: int = 2400,
             langs: tuple[str, ...] = LANGS, heldout: bool = False) -> Iterator[dict]:
    """Records from every root in turn (round robin), so any prefix of the stream mixes
    the roots' languages."""
    gens = [generate_root(r, seed, max_chars, langs, heldout) for r in roots]
    while gens:
        for g in list(gens):
            r = next(g, None)
            if r is None:
                gens.remove(g)
            else:
                yield r


def build(out: str | Path, roots: Iterable[str | Path], tokenizer, seed: int = 0,
          max_chars: int = 2400, max_tokens: int = 1024, limit: int | None = None,
          heldout: bool = False) -> Counter:
    """Stream records with their token counts into `out` (flushed as they come, so a long
    build can be read while it runs); returns counts per (lang, kind). Order is the
    generator's; the tuner shuffles."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: Counter = Counter()
    with open(out, "w", encoding="utf-8") as fh:
        for r in generate(roots, seed, max_chars, heldout=heldout):
            n_prompt = len(tokenizer.encode(r["prompt"]))
            n_answer = len(tokenizer.encode(r["answer"]))
            if n_prompt + n_answer > max_tokens:
                continue
            r["prompt_tokens"], r["answer_tokens"] = n_prompt, n_answer
            fh.write(json.dumps(r) + "\n")
            fh.flush()
            counts[(r["lang"], r["kind"])] += 1
            if limit and sum(counts.values()) >= limit:
                break
    return counts


def main(argv: list[str] | None = None) -> int:
    import argparse

    from hrmcli.runtime.gguf_load import load_tokenizer

    ap = argparse.ArgumentParser(prog="python -m trainer.data.chat_tasks", description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("roots", nargs="+")
    ap.add_argument("--tokenizer-from", required=True, help="a GGUF whose tokenizer counts tokens")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-chars", type=int, default=2400)
    ap.add_argument("--max-tokens", type=int, default=1024)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--plans", type=int, default=0, help="only write this many plan records")
    ap.add_argument("--heldout", action="store_true", help="only the held-out files")
    ap.add_argument("--repo-map", action="store_true",
                    help="plan records start their context with the sandbox's repo map")
    a = ap.parse_args(argv)
    if a.plans:
        with open(a.out, "w", encoding="utf-8") as fh:
            for r in plan_records(a.plans, a.seed, a.repo_map):
                fh.write(json.dumps(r) + "\n")
        print(f"wrote {a.plans} plan records to {a.out}")
        return 0
    counts = build(a.out, a.roots, load_tokenizer(a.tokenizer_from), a.seed, a.max_chars,
                   a.max_tokens, a.limit, a.heldout)
    total = sum(counts.values())
    print(f"wrote {total} records to {a.out}")
    for (lang, kind), n in sorted(counts.items()):
        print(f"  {lang:11s} {kind:16s} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
