"""Totals for the checkout page."""

TAX_RATE = 0.2


def sum_prices(items):
    total = 0
    for item in items:
        total += item["price"] * item.get("qty", 1)
    return round(total, 2)


def with_tax(items):
    return round(sum_prices(items) * (1 + TAX_RATE), 2)
