import pytest

from leaderboard import max_of, winner


def test_max_of_finds_the_largest():
    assert max_of([3, 9, 2]) == 9
    assert max_of([-5, -1, -7]) == -1
    with pytest.raises(ValueError):
        max_of([])


def test_winner():
    assert winner({"ann": 3, "bob": 7, "cy": 7}) == "bob"
