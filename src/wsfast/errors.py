"""Exceptions shared by both backends."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class WebSocketError(Exception):
    """Base class of every wsfast error."""


class ProtocolError(WebSocketError):
    """The peer broke RFC 6455; the connection must close with ``code``.

    ``frames`` holds the frames parsed from the same input before the
    violation, so that a caller can still act on them in order.
    """

    def __init__(self, code: int, reason: str, frames: list[Any] | None = None) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
        self.frames = frames if frames is not None else []

    def __str__(self) -> str:
        return "%s (close code %d)" % (self.reason, self.code)


class HandshakeError(WebSocketError):
    """The opening handshake failed.

    On a server, ``status``, ``reason`` and ``headers`` describe the HTTP
    rejection to send (for example 400, or 426 with a
    ``Sec-WebSocket-Version`` header); ``headers`` is a sequence of
    ``(name, value)`` string pairs.
    """

    def __init__(self, status: int | None, reason: str,
                 headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason
        self.headers = list(headers)

    def __str__(self) -> str:
        if self.status is None:
            return self.reason
        return "%s (HTTP %d)" % (self.reason, self.status)


class InvalidResponse(HandshakeError):
    """A client rejected the server's handshake response.

    ``status`` and ``headers`` are those of the response received (``status``
    is None when no valid response head arrived) and ``body`` is the start of
    its body, so that a caller can report what the server said.
    """

    def __init__(self, reason: str, status: int | None = None,
                 headers: Iterable[tuple[str, str]] = (), body: bytes = b"") -> None:
        super().__init__(status, reason, headers)
        self.body = bytes(body)

    def __str__(self) -> str:
        text = self.reason
        if self.status is not None and ("HTTP %d" % self.status) not in text:
            text += " (HTTP %d)" % self.status
        excerpt = " ".join(self.body[:_BODY_IN_MESSAGE].decode("utf-8", "replace").split())
        if excerpt and excerpt.isprintable():
            text += ": %s" % excerpt
        return text


#: How much of a refusal's body an InvalidResponse message quotes.
_BODY_IN_MESSAGE = 120


class MessageTooBig(WebSocketError, ValueError):
    """``send`` refused a message larger than the connection's
    ``max_message_size``, before any of it was sent (the peer would have
    closed the connection with 1009)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(size, limit)
        self.size = size
        self.limit = limit

    def __str__(self) -> str:
        return ("message of %d bytes not sent: over max_message_size (%d bytes); "
                "raise the limit on both sides or split the message" % (self.size, self.limit))

class InvalidState(WebSocketError):
    """The call is not allowed in the connection's current state."""
