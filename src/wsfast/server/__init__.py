"""wsfast's own server loop: epoll, no asyncio in the hot path.

``Server`` runs one loop in one process; ``run_workers`` runs several
processes sharing a port through SO_REUSEPORT.
"""

from ..events import CLOSED, CLOSING, CONNECTING, OPEN  # ready_state values
from .server import Server
from .websocket import WebSocket
from .workers import run_workers

__all__ = ["CLOSED", "CLOSING", "CONNECTING", "OPEN", "Server", "WebSocket", "run_workers"]
