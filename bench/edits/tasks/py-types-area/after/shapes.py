"""Areas and perimeters of floor plans (units: metres)."""

import math


def area(width: float, height: float) -> float:
    return width * height


def circle_area(radius: float) -> float:
    return math.pi * radius ** 2


def perimeter(width: float, height: float) -> float:
    return 2 * (width + height)
