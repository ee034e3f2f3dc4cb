"""wsfast's own server loop: epoll, no asyncio in the hot path.

``Server`` runs one loop in one process; ``run_workers`` runs several
processes sharing a port through SO_REUSEPORT.
"""

from .server import Server
from .websocket import WebSocket
from .workers import run_workers

__all__ = ["Server", "WebSocket", "run_workers"]
