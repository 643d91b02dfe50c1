"""Word frequencies for the writing-assistant sidebar."""

import re
from collections import Counter

WORD = re.compile(r"[a-z']+")


def words(text):
    return WORD.findall(text.lower())


def top_words(text, n=3):
    counts = Counter(words(text))
    return [w for w, _ in counts.most_common(n)]


def unique_ratio(text):
    ws = words(text)
    return len(set(ws)) / len(ws) if ws else 0.0
