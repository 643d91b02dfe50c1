from cart import Cart, receipt


def test_subtotal():
    assert Cart().add("pen", 10, 2).subtotal() == 20
    assert not hasattr(Cart, "calc")


def test_callers():
    cart = Cart().add("pen", 10, 2).add("ink", 5)
    assert cart.total() == 29.5
    assert receipt(cart) == "2 items, subtotal 25.00, total 29.50"
