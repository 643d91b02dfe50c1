from people import directory_line, full_name, initials


def test_full_name():
    assert full_name(" ada", "lovelace ") == "Ada Lovelace"


def test_directory_line():
    person = {"first": "grace", "last": "hopper", "email": "g@example.org"}
    assert directory_line(person) == "Grace Hopper <g@example.org>"
    assert initials("grace", "hopper") == "G.H."
