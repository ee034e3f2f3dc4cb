"""WebSocket on asyncio and uvloop: ``serve`` and ``connect``.

Built on ``asyncio.BufferedProtocol`` around the sans-I/O connections of
``wsfast.server_protocol`` and ``wsfast.client_protocol``.
"""

from ..protocol.closed import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK
from ..errors import InvalidResponse
from ..protocol.events import CLOSED, CLOSING, CONNECTING, OPEN  # ready_state values
from .client import ClientWebSocket, connect
from .server import Server, ServerWebSocket, serve
from .websocket import WebSocket

__all__ = [
    "CLOSED",
    "CLOSING",
    "CONNECTING",
    "OPEN",
    "ClientWebSocket",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionClosedOK",
    "InvalidResponse",
    "Server",
    "ServerWebSocket",
    "WebSocket",
    "connect",
    "serve",
]
