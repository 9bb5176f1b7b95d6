"""The suite's own guard: nothing in a test connects to anything but this machine."""

import socket

import httpx
import pytest


@pytest.mark.parametrize(
    "address", [("10.0.0.1", 80), ("93.184.216.34", 443), ("::ffff:a00:1", 80)]
)
def test_connection_off_this_machine_is_refused(address: tuple[str, int]) -> None:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family) as sock, pytest.raises(ConnectionRefusedError, match="stay on this"):
        sock.connect(address)


def test_http_client_off_this_machine_is_refused() -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://10.0.0.1/", timeout=2)
