"""wsfast's own server loop: epoll, no asyncio in the hot path.

``Server`` runs one loop in one process; ``run_workers`` runs several
processes sharing a port through SO_REUSEPORT.
"""

from .server import Server
from .._twins import load
from .workers import run_workers

WebSocket = load("wsfast.server.websocket").WebSocket

__all__ = ["Server", "WebSocket", "run_workers"]
