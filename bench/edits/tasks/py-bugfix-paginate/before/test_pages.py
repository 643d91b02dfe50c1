from pages import page_label, paginate


def test_partial_last_page_is_kept():
    assert paginate([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]


def test_exact_pages_and_empty_input():
    assert paginate([1, 2, 3, 4], 2) == [[1, 2], [3, 4]]
    assert paginate([], 3) == []
    assert paginate(["a"], 10) == [["a"]]


def test_label_counts_the_last_page():
    assert page_label(0, list(range(5)), 2) == "page 1 of 3"
