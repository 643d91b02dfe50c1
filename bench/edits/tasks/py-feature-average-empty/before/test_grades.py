from grades import average, report


def test_empty_is_zero():
    assert average([]) == 0.0
    assert report("kim", []) == "kim: 0.0 (F)"


def test_average():
    assert average([80, 90]) == 85
    assert report("lee", [95, 91]) == "lee: 93.0 (A)"
