"""The sans-I/O protocol: one connection's bytes in, events and bytes out.

No socket, no event loop and no clock: drivers (``wsfast.server``,
``wsfast.asyncio``, ``wsfast.sync``, ``wsfast.asgi``) feed it bytes and
the time. The names here come from the build in use of each compiled
twin (``wsfast._twins``): the C-compiled one, or the pure-Python one
with WSFAST_NO_EXTENSIONS=1 or when nothing was compiled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._twins import load
from ..errors import InvalidState

if TYPE_CHECKING:  # both builds have the same names
    from . import client_connection as _client
    from . import connection as _connection
    from . import handshake as _handshake
    from . import http as _http
    from . import server_connection as _server
else:
    _connection = load(__name__ + ".connection")
    _server = load(__name__ + ".server_connection")
    _client = load(__name__ + ".client_connection")
    _handshake = load(__name__ + ".handshake")
    _http = load(__name__ + ".http")

# The connection, its limits and its failure kinds.
Connection = _connection.Connection
ServerConnection = _server.ServerConnection
ClientConnection = _client.ClientConnection
keepalive_tick = _connection.keepalive_tick
DEFAULT_COMPRESS_MIN_SIZE = _connection.DEFAULT_COMPRESS_MIN_SIZE
DEFAULT_COMPRESSION_IDLE = _connection.DEFAULT_COMPRESSION_IDLE
COMPRESSION_IDLE_MODES = _connection.COMPRESSION_IDLE_MODES
DEFAULT_MAX_STEP_BYTES = _connection.DEFAULT_MAX_STEP_BYTES
DEFAULT_MAX_STEP_FRAMES = _connection.DEFAULT_MAX_STEP_FRAMES
KEEPALIVE_TIMEOUT_REASON = _connection.KEEPALIVE_TIMEOUT_REASON
KEEPALIVE_TICK_MIN = _connection.KEEPALIVE_TICK_MIN
KEEPALIVE_TICK_MAX = _connection.KEEPALIVE_TICK_MAX
FAILURE_PEER = _connection.FAILURE_PEER
FAILURE_KEEPALIVE = _connection.FAILURE_KEEPALIVE
FAILURE_LOCAL = _connection.FAILURE_LOCAL
MAX_PENDING = _server.MAX_PENDING

# The opening handshake's decisions and plain-HTTP answers.
Accept = _handshake.Accept
Reject = _handshake.Reject
accept_key = _handshake.accept_key
build_rejection = _handshake.build_rejection
build_response = _handshake.build_response
normalize_decision = _handshake.normalize_decision
origin_check = _handshake.origin_check
UPGRADE_REQUIRED = _handshake.UPGRADE_REQUIRED
NOT_FOUND = _handshake.NOT_FOUND
INTERNAL_ERROR = _handshake.INTERNAL_ERROR
SERVER_FULL = _handshake.SERVER_FULL
SHUTTING_DOWN = _handshake.SHUTTING_DOWN

# Limits on an HTTP head (its classes: wsfast.protocol.http).
DEFAULT_MAX_HEAD_SIZE = _http.DEFAULT_MAX_HEAD_SIZE
DEFAULT_MAX_HEADERS = _http.DEFAULT_MAX_HEADERS

__all__ = [
    "Accept", "ClientConnection", "Connection", "COMPRESSION_IDLE_MODES", "DEFAULT_COMPRESSION_IDLE",
    "DEFAULT_COMPRESS_MIN_SIZE", "DEFAULT_MAX_HEADERS", "DEFAULT_MAX_HEAD_SIZE",
    "DEFAULT_MAX_STEP_BYTES", "DEFAULT_MAX_STEP_FRAMES", "FAILURE_KEEPALIVE", "FAILURE_LOCAL",
    "FAILURE_PEER", "INTERNAL_ERROR", "InvalidState", "KEEPALIVE_TICK_MAX",
    "KEEPALIVE_TICK_MIN", "KEEPALIVE_TIMEOUT_REASON", "MAX_PENDING", "NOT_FOUND", "Reject",
    "SERVER_FULL", "SHUTTING_DOWN", "ServerConnection",
    "UPGRADE_REQUIRED", "accept_key", "build_rejection", "build_response", "keepalive_tick",
    "normalize_decision", "origin_check",
]
