import pytest

from retry import RetryPolicy


def flaky(fail_times):
    def op(attempt):
        if attempt <= fail_times:
            raise OSError("try again")
        return attempt
    return op


def test_default_is_five_attempts():
    assert RetryPolicy().max_attempts == 5
    assert RetryPolicy().run(flaky(4)) == 5
    with pytest.raises(RuntimeError, match="5 attempts"):
        RetryPolicy().run(flaky(5))


def test_explicit_attempts_still_respected():
    with pytest.raises(RuntimeError):
        RetryPolicy(max_attempts=2).run(flaky(2))
