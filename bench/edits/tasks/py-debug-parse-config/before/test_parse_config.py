import pytest

from parse_config import parse_config


def test_prints_nothing(capsys):
    parse_config("a = 1\n# comment\nb=two\n")
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_still_parses():
    assert parse_config("a = 1\n\n# c\nb=two  # note\n") == {"a": "1", "b": "two"}
    with pytest.raises(ValueError):
        parse_config("nonsense")
