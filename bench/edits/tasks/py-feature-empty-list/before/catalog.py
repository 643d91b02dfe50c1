"""Search the product catalog."""

PRODUCTS = [
    {"name": "desk lamp", "price": 25.0, "tags": ["light", "office"]},
    {"name": "bookshelf", "price": 80.0, "tags": ["storage"]},
    {"name": "floor lamp", "price": 60.0, "tags": ["light"]},
]


def find_by_tag(tag, products=PRODUCTS):
    found = [p for p in products if tag in p["tags"]]
    if not found:
        return None
    return found


def cheapest(tag, products=PRODUCTS):
    found = find_by_tag(tag, products)
    if found is None:
        return None
    return min(found, key=lambda p: p["price"])
