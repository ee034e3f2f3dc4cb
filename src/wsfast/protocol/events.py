"""What a sans-I/O connection reports from ``receive_data``.

For speed, a complete message is reported as itself: a ``str`` for a text
message and ``bytes`` for a binary one. Everything else is one of the
small classes below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from .http import Request as HttpRequestHead

# ready_state values, numbered as the browser's WebSocket.readyState.
#: ready_state: the opening handshake is under way.
CONNECTING = 0
#: ready_state: open; messages flow both ways.
OPEN = 1
#: ready_state: the closing handshake has started.
CLOSING = 2
#: ready_state: closed, or the connection is gone.
CLOSED = 3


class Event:
    """Base class of everything ``next_events()`` returns."""

    __slots__: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__)
        return "%s(%s)" % (type(self).__name__, fields)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__
        )


class Request(Event):
    """Server: a WebSocket upgrade request awaits ``accept()`` or ``reject()``
    (only with ``auto_accept=False``)."""

    __slots__ = ("request",)

    def __init__(self, request: HttpRequestHead) -> None:
        self.request = request


class HttpRequest(Event):
    """Server: a plain HTTP request (not an upgrade) for the HTTP handler."""

    __slots__ = ("request",)

    def __init__(self, request: HttpRequestHead) -> None:
        self.request = request


class Open(Event):
    """The handshake succeeded; the connection is OPEN."""

    __slots__ = ("subprotocol", "extensions")

    def __init__(self, subprotocol: str | None, extensions: str | None) -> None:
        self.subprotocol = subprotocol
        self.extensions = extensions


class HandshakeFailed(Event):
    """The handshake failed; ``status`` is the HTTP status sent (server) or
    received (client, None if the response was malformed)."""

    __slots__ = ("status", "reason")

    def __init__(self, status: int | None, reason: str) -> None:
        self.status = status
        self.reason = reason


class Fragment(Event):
    """A piece of a message, in streaming mode. ``opcode`` is the message's
    (1 text, 2 binary); ``data`` is bytes (inflated if compressed)."""

    __slots__ = ("opcode", "data", "fin")

    def __init__(self, opcode: int, data: bytes, fin: bool) -> None:
        self.opcode = opcode
        self.data = data
        self.fin = fin


class Ping(Event):
    """A Ping arrived with ``data``; the connection has queued its Pong."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Pong(Event):
    """A Pong arrived with ``data`` (the answer to a ``ping()``, or unsolicited)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Close(Event):
    """The connection is closing or closed: the code and reason received
    (1005 if the peer sent none, 1006 for an abnormal end)."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


#: What ``Connection.receive_data`` and ``next_events`` report: a whole text
#: (``str``) or binary (``bytes``) message, or one of the classes above.
EventType = Union[str, bytes, Request, HttpRequest, Open, HandshakeFailed, Fragment, Ping, Pong, Close]
