"""The request-head fast path of the C backend has no Python twin: here
every head goes through the general parser (``wsfast.protocol.http``),
which is also the oracle the C fast path is tested against."""

import binascii
import hashlib

UPGRADE_WEBSOCKET = 0x01
UPGRADE_VALID = 0x02
UPGRADE_OFFERS = 0x04

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def parse_request_head(data, max_head_size, max_headers, fields=True):
    """Always None: declined, so the general parser reads the head."""
    return None


def websocket_accept(key):
    """Sec-WebSocket-Accept (bytes) for a Sec-WebSocket-Key (str, bytes)."""
    if isinstance(key, str):
        key = key.encode("ascii")
    return binascii.b2a_base64(hashlib.sha1(bytes(key) + _GUID).digest(), newline=False)
