"""The training curriculum: which kinds of rows a batch draws, by stage of training.

Stages follow how a programmer learns the job: the language itself (syntax, idioms:
plain code LM), then small local edits (stubs, bug fixes), then edits that span files and
repair after a failing test, then tool use on top. Mixtures are weights over the row kinds
of trainer.batching.KINDS; kinds with no data are dropped and the rest renormalised, so a
corpus without tool-plan tasks still trains.
"""

from __future__ import annotations

from dataclasses import dataclass

from .batching import KINDS


@dataclass(frozen=True)
class Stage:
    name: str
    until: float  # fraction of total steps at which the stage ends
    mix: dict[str, float]


CURRICULUM: tuple[Stage, ...] = (
    Stage("syntax and patterns", 0.25, {"lm": 0.9, "edit": 0.1}),
    Stage("stubs and bug fixes", 0.5, {"lm": 0.5, "edit": 0.4, "repair": 0.1}),
    Stage("multi-file edits and repair", 0.75,
          {"lm": 0.3, "edit": 0.45, "repair": 0.2, "plan": 0.05}),
    Stage("tool use", 1.0, {"lm": 0.25, "edit": 0.3, "repair": 0.15, "plan": 0.3}),
)


def stage_at(step: int, total_steps: int, stages: tuple[Stage, ...] = CURRICULUM) -> Stage:
    frac = step / max(total_steps, 1)
    for s in stages:
        if frac < s.until:
            return s
    return stages[-1]


def mixture(step: int, total_steps: int, available: set[str],
            stages: tuple[Stage, ...] = CURRICULUM) -> dict[str, float]:
    """Row-kind probabilities at `step`, restricted to the kinds that have data.

    Falls back to a uniform mix over the available kinds when a stage names none of them.
    """
    unknown = available - set(KINDS)
    if unknown:
        raise ValueError(f"unknown row kinds {sorted(unknown)}; expected some of {KINDS}")
    if not available:
        raise ValueError("no training data: neither token shards nor task examples")
    mix = {k: w for k, w in stage_at(step, total_steps, stages).mix.items() if k in available}
    if not mix or sum(mix.values()) <= 0:
        mix = {k: 1.0 for k in available}
    total = sum(mix.values())
    return {k: mix[k] / total for k in KINDS if k in mix}
