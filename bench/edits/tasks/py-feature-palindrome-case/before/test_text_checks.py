from text_checks import is_palindrome, score


def test_ignores_case():
    assert is_palindrome("Racecar")
    assert is_palindrome("Never odd or even")
    assert score("Anna") == 8


def test_still_rejects_non_palindromes():
    assert not is_palindrome("Python")
    assert is_palindrome("level")
    assert score("abc") == 3
