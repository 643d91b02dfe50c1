import inspect

from words import join_words, sentence, tags_line


def test_sep_parameter():
    assert join_words(["a", "b"], sep=" | ") == "a | b"
    assert join_words(["a", "", "b"], "-") == "a-b"


def test_default_is_comma_space():
    assert inspect.signature(join_words).parameters["sep"].default == ", "
    assert join_words([" a", "b "]) == "a, b"
    assert sentence(["hi", "there"]) == "Hi, there."
    assert tags_line({"y", "x"}) == "tags: x, y"
