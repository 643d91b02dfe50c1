"""Small checks on strings used by the word-game scorer."""


def is_palindrome(word):
    letters = [c.lower() for c in word if c.isalnum()]
    return letters == letters[::-1]


def score(word):
    points = len(word)
    if is_palindrome(word):
        points *= 2
    return points
