"""The connection state every driver's WebSocket object shows: read from
its sans-I/O connection (``conn``), so that each name means the same in
every driver. ``buffered_amount`` stays with each driver: what it counts
besides the connection's own output is the driver's transport.

The epoll server's ``WebSocket`` has the same properties written out: it
is compiled as a Cython extension type (server/websocket_c.pxd), which
cannot inherit a Python class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..protocol.connection import Connection

__all__ = ["ConnectionView"]


class ConnectionView:
    """Mixin: ready_state, subprotocol, extensions, close_code and
    close_reason of ``self.conn``."""

    __slots__ = ()
    conn: Connection

    @property
    def ready_state(self) -> int:
        """0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED (as in browsers)."""
        return self.conn.ready_state

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol agreed in the handshake, or None."""
        return self.conn.subprotocol

    @property
    def extensions(self) -> str | None:
        """The negotiated Sec-WebSocket-Extensions value, or None."""
        return self.conn.extensions

    @property
    def close_code(self) -> int | None:
        """The close code once the connection is closing or closed."""
        return self.conn.close_code

    @property
    def close_reason(self) -> str | None:
        """The close reason once the connection is closing or closed."""
        return self.conn.close_reason
