"""Keep widgets inside the window."""


def clamp(limit, value):
    """Return value, but never more than limit and never less than zero."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    return max(0, min(value, limit))


def place(x, y, width, height):
    return clamp(width, x), clamp(height, y)


def resize(size, max_size):
    return clamp(max_size, size)
