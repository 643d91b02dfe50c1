"""The unbiased pass@k estimator and the benchmark's averaging rules."""

from __future__ import annotations

from math import comb


def pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k): the chance that k of the n samples include a correct one."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    return 1.0 - comb(n - c, k) / comb(n, k)


def reportable_ks(ks: list[int], sample_counts: list[int]) -> list[int]:
    """Only the k that every problem has enough samples for."""
    least = min(sample_counts, default=0)
    return [k for k in ks if k <= least]


def mean_pass_at_k(counts: list[tuple[int, int]], k: int) -> float:
    """Unweighted mean over problems of pass@k, as a percentage."""
    if not counts:
        return 0.0
    return 100.0 * sum(pass_at_k(n, c, k) for n, c in counts) / len(counts)
