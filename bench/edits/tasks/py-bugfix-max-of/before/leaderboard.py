"""Helpers for the leaderboard."""


def max_of(values):
    if not values:
        raise ValueError("max_of() of an empty list")
    best = values[0]
    for v in values[1:]:
        if v < best:
            best = v
    return best


def top_score(scores):
    return max_of(list(scores.values()))


def winner(scores):
    best = top_score(scores)
    return sorted(name for name, s in scores.items() if s == best)[0]
