"""``wsproto.utilities``: errors and header helpers."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Event

#: RFC 6455 1.3: appended to the client's key before hashing.
ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class ProtocolError(Exception):
    """Base of both protocol errors."""


class LocalProtocolError(ProtocolError):
    """This side asked for something the state or RFC 6455 forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer's handshake broke the rules; ``event_hint`` is the event
    to answer with (usually a ``RejectConnection``), or None."""

    def __init__(self, message: str, event_hint: Event | None = None) -> None:
        super().__init__(message)
        self.event_hint = event_hint


def normed_header_dict(headers: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Headers as a dict; repeated names are joined with ", " (RFC 9110 5.3)."""
    joined: dict[bytes, bytes] = {}
    for name, value in headers:
        joined[name] = joined[name] + b", " + value if name in joined else value
    return joined


def split_comma_header(value: bytes) -> list[str]:
    """The comma-separated items of a header value, stripped."""
    return [item.decode("ascii").strip() for item in value.split(b",")]


def generate_nonce() -> bytes:
    """A Sec-WebSocket-Key: 16 bytes from the OS's random source, base64."""
    return base64.b64encode(os.urandom(16))


def generate_accept_token(token: bytes) -> bytes:
    """The Sec-WebSocket-Accept value for a Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1(token + ACCEPT_GUID).digest())
