from prices import sum_prices, with_tax


def test_variable_is_renamed():
    names = sum_prices.__code__.co_varnames
    assert "total" in names and "tmp" not in names


def test_sums_are_unchanged():
    items = [{"price": 2.5, "qty": 2}, {"price": 1.25}]
    assert sum_prices(items) == 6.25
    assert with_tax(items) == 7.5
