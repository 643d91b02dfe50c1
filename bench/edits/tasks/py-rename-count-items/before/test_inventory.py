import inventory


def test_new_name_counts_items_in_stock():
    assert inventory.total_items({"a": 2, "b": 0, "c": 3}) == 5


def test_old_name_is_gone():
    assert not hasattr(inventory, "count_items")


def test_callers_use_the_new_name():
    assert inventory.report({"x": 1, "y": 2}).endswith("total: 3")
    assert inventory.restock({"x": 1}, "y", 4) == 5
