import inspect

import pytest

from layout import clamp, place, resize


def test_value_comes_first():
    assert list(inspect.signature(clamp).parameters) == ["value", "limit"]
    assert clamp(15, 10) == 10
    with pytest.raises(ValueError):
        clamp(5, -1)


def test_callers_were_updated():
    assert place(50, 5, 40, 30) == (40, 5)
    assert place(-3, 99, 40, 30) == (0, 30)
    assert resize(120, 100) == 100
