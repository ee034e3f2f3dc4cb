"""What travels on a Redis channel: a small header, then the message.

Header: a magic and version (2 bytes), the publisher's origin id (8 random
bytes, new for each server process), its sequence number for this topic
(8 bytes, from 1) and flags (1 byte: text or binary). The origin lets a
server drop its own echoes (it delivered them locally already); the
sequence lets every receiver count what it missed from each publisher.
"""

import struct

MAGIC = b"W1"
ORIGIN_SIZE = 8
_HEADER = struct.Struct("!2s8sQB")
HEADER_SIZE = _HEADER.size
TEXT = 1


class EnvelopeError(ValueError):
    """A channel message that is not one of ours."""


def pack(origin: bytes, seq: int, data: "str | bytes") -> bytes:
    if isinstance(data, str):
        return _HEADER.pack(MAGIC, origin, seq, TEXT) + data.encode("utf-8")
    return _HEADER.pack(MAGIC, origin, seq, 0) + bytes(data)


def unpack(raw: bytes) -> "tuple[bytes, int, str | bytes]":
    """(origin, seq, message): message is str for text, bytes for binary."""
    if len(raw) < HEADER_SIZE or raw[:2] != MAGIC:
        raise EnvelopeError("not a wsfast bus message (%d bytes)" % len(raw))
    _, origin, seq, flags = _HEADER.unpack_from(raw)
    payload = raw[HEADER_SIZE:]
    if flags & TEXT:
        try:
            return origin, seq, payload.decode("utf-8")
        except UnicodeDecodeError:
            raise EnvelopeError("text message is not UTF-8") from None
    return origin, seq, payload
