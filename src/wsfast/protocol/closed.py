"""Exceptions of the I/O drivers (clients and the asyncio adapter)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..constants import CLOSE_ABNORMAL, CLOSE_GOING_AWAY, CLOSE_NO_STATUS, CLOSE_NORMAL
from ..errors import WebSocketError

if TYPE_CHECKING:
    from .connection import Connection


class ConnectionClosed(WebSocketError):
    """The connection is closed: receiving or sending is no longer possible.

    ``code`` and ``reason`` are those the peer sent (1005 if its close frame
    had no code, 1006 if the connection ended without a close frame, for
    example after a protocol error or a keepalive timeout); ``sent`` is the
    ``(code, reason)`` of the close frame we sent, or None.
    """

    def __init__(self, code: int, reason: str = "", sent: tuple[int, str] | None = None) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
        self.sent = sent

    def __str__(self) -> str:
        if self.code == CLOSE_ABNORMAL:
            # 1006 never travels: say who ended the connection and why.
            if self.sent is not None:
                text = "connection closed by us with %d" % self.sent[0]
                if self.sent[1]:
                    text += " (%s)" % self.sent[1]
                return text + "; no close frame came back (1006)"
            text = "connection lost without a close frame (1006)"
            return text + (": %s" % self.reason if self.reason else "")
        text = "connection closed: %s" % self.code
        if self.reason:
            text += " (%s)" % self.reason
        if self.sent is not None:
            text += "; sent %s" % self.sent[0]
            if self.sent[1]:
                text += " (%s)" % self.sent[1]
        return text


class ConnectionClosedOK(ConnectionClosed):
    """Closed normally: the peer sent 1000, 1001, or a close frame without
    a code (1005)."""


class ConnectionClosedError(ConnectionClosed):
    """Closed with an error code, or without a close handshake."""


_OK = (CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_NO_STATUS)


def closed_error(conn: Connection) -> ConnectionClosed:
    """The exception that describes ``conn``'s end (a sans-I/O Connection)."""
    code = conn.close_code if conn.close_code is not None else CLOSE_ABNORMAL
    cls = ConnectionClosedOK if code in _OK else ConnectionClosedError
    return cls(code, conn.close_reason, conn.close_sent)
