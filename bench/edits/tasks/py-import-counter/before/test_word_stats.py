from word_stats import top_words, unique_ratio


def test_top_words():
    assert top_words("b a b c b a") == ["b", "a", "c"]
    assert top_words("One one two", n=1) == ["one"]


def test_unique_ratio():
    assert unique_ratio("a a b b") == 0.5
    assert unique_ratio("") == 0.0
