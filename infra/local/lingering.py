"""A lingering close, shared by the local HTTP servers (the gateway and the Stripe emulator)."""

from __future__ import annotations

import socket
import time
from http.server import BaseHTTPRequestHandler


def linger(handler: BaseHTTPRequestHandler) -> None:
    """Stop sending, then discard what the client is still uploading for a moment, so that it reads
    the answer already sent instead of a connection reset."""
    try:
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_WR)
        handler.connection.settimeout(0.5)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and handler.connection.recv(65536):
            pass
    except OSError:
        pass
