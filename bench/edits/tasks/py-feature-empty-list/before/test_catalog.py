from catalog import cheapest, find_by_tag


def test_no_match_is_an_empty_list():
    assert find_by_tag("garden") == []


def test_matches_and_cheapest():
    assert [p["name"] for p in find_by_tag("light")] == ["desk lamp", "floor lamp"]
    assert cheapest("light")["name"] == "desk lamp"
    assert cheapest("garden") is None
