import pytest

import server_config


def test_default_port_is_9090():
    assert server_config.DEFAULT_PORT == 9090
    assert server_config.address() == "http://127.0.0.1:9090/"
    assert server_config.parse_port("  ") == 9090


def test_explicit_ports_still_win():
    assert server_config.address("localhost", 81) == "http://localhost:81/"
    assert server_config.parse_port("8443") == 8443
    with pytest.raises(ValueError):
        server_config.parse_port("70000")
