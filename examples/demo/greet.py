"""A small file to try hrm on."""


def greet(name):
    """Return a greeting for name."""
    return "Hello, " + name + "!"


def shout(name):
    return greet(name).upper()


if __name__ == "__main__":
    print(shout("world"))
