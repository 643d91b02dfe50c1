"""Split search results into pages for display."""


def page_count(items, size):
    return len(items) // size


def paginate(items, size):
    if size < 1:
        raise ValueError("page size must be at least 1")
    pages = []
    for n in range(page_count(items, size)):
        pages.append(items[n * size:(n + 1) * size])
    return pages


def page_label(n, items, size):
    return f"page {n + 1} of {page_count(items, size)}"
