"""Summary statistics for sensor readings."""


def mean(values):
    """Return the arithmetic mean of values; raise ValueError when there are none."""
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)


def spread(values):
    return max(values) - min(values)
