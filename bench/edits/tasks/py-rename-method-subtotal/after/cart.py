"""Shopping cart for the demo store."""


class Cart:
    def __init__(self):
        self.lines = []

    def add(self, name, price, qty=1):
        self.lines.append((name, price, qty))
        return self

    def subtotal(self):
        return sum(price * qty for _, price, qty in self.lines)

    def total(self, shipping=4.5):
        sub = self.subtotal()
        return sub if sub >= 50 else sub + shipping


def receipt(cart):
    return f"{len(cart.lines)} items, subtotal {cart.subtotal():.2f}, total {cart.total():.2f}"
