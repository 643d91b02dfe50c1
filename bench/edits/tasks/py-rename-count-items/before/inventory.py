"""Stock levels for a small shop."""

STOCK = {"apples": 12, "pears": 0, "plums": 7}


def count_items(stock):
    return sum(qty for qty in stock.values() if qty > 0)


def in_stock(stock, name):
    return stock.get(name, 0) > 0


def report(stock):
    lines = [f"{name}: {qty}" for name, qty in sorted(stock.items())]
    lines.append(f"total: {count_items(stock)}")
    return "\n".join(lines)


def restock(stock, name, qty):
    stock[name] = stock.get(name, 0) + qty
    return count_items(stock)
