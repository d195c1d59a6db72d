"""Free TCP ports on loopback for servers the tests start themselves."""

from __future__ import annotations

import socket

from tests.support.settings import LOOPBACK


def free_loopback_port() -> int:
    """A port nothing listens on right now.

    Another process may take it before our server binds it; callers that start servers
    retry on a fresh port when the bind fails.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port
