"""Grade book calculations."""


def average(scores):
    if not scores:
        return 0.0
    return sum(scores) / len(scores)


def letter(score):
    if score >= 90:
        return "A"
    if score >= 80:
        return "B"
    if score >= 70:
        return "C"
    return "F"


def report(name, scores):
    return f"{name}: {average(scores):.1f} ({letter(average(scores))})"
