"""Settings for the local preview server."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def address(host=None, port=None):
    host = host or DEFAULT_HOST
    port = port or DEFAULT_PORT
    return f"http://{host}:{port}/"


def parse_port(text):
    text = text.strip()
    if not text:
        return DEFAULT_PORT
    value = int(text)
    if not 0 < value < 65536:
        raise ValueError(f"port out of range: {value}")
    return value
