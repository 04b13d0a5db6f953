"""A free TCP port on loopback, for the servers that tests and benches start (bench/ imports it too)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listened on a moment ago (the OS's choice for port 0).

    Another process may take it before the caller binds it; callers start one server on it at once.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
