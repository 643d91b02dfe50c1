"""Read key = value settings files."""


def parse_line(line):
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    key, sep, value = line.partition("=")
    if not sep:
        raise ValueError(f"expected key = value, got {line!r}")
    return key.strip(), value.strip()


def parse_config(text):
    settings = {}
    for number, line in enumerate(text.splitlines(), 1):
        print("DEBUG parse_config line", number, repr(line))
        pair = parse_line(line)
        if pair is not None:
            settings[pair[0]] = pair[1]
    return settings
