"""Totals for the checkout page."""

TAX_RATE = 0.2


def sum_prices(items):
    tmp = 0
    for item in items:
        tmp += item["price"] * item.get("qty", 1)
    return round(tmp, 2)


def with_tax(items):
    return round(sum_prices(items) * (1 + TAX_RATE), 2)
