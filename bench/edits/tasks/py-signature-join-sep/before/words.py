"""Formatting helpers for lists of words."""


def join_words(words):
    cleaned = [w.strip() for w in words if w.strip()]
    return ", ".join(cleaned)


def sentence(words):
    if not words:
        return ""
    text = join_words(words)
    return text[0].upper() + text[1:] + "."


def tags_line(tags):
    return "tags: " + join_words(sorted(tags))
