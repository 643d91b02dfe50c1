"""Display names for the member directory."""


def full_name(first, last):
    first = first.strip().title()
    last = last.strip().title()
    return f"{first} {last}"


def initials(first, last):
    return f"{first[:1].upper()}.{last[:1].upper()}."


def directory_line(person):
    name = full_name(person["first"], person["last"])
    return f"{name} <{person['email']}>"
