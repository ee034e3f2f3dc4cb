"""wsfast's own server loop: epoll, no asyncio in the hot path.

``Server`` runs one loop in one process; ``run_workers`` runs several
processes sharing a port through SO_REUSEPORT.
"""

from typing import TYPE_CHECKING

from .._twins import load
from ..protocol.events import CLOSED, CLOSING, CONNECTING, OPEN  # ready_state values
from .server import Server
from .workers import run_workers

if TYPE_CHECKING:  # both builds have the same names (wsfast._twins)
    from .websocket import WebSocket
else:
    WebSocket = load("wsfast.server.websocket").WebSocket

__all__ = ["CLOSED", "CLOSING", "CONNECTING", "OPEN", "Server", "WebSocket", "run_workers"]
