"""Builds raw frames for tests, independently of either backend's encoder."""

import struct

MASK = b"\x37\xfa\x21\x3d"


def xor(data, key):
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def frame(opcode, payload=b"", fin=True, rsv=0, mask=MASK, length=None):
    """A frame with any header bits, including invalid ones; ``length``
    overrides the encoded length (to forge 64-bit or lying lengths)."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    mbit = 0x80 if mask is not None else 0
    if n < 126 and length is None or (length is not None and n < 126):
        head = bytes((b0, mbit | n))
    elif n < 65536:
        head = bytes((b0, mbit | 126)) + struct.pack("!H", n)
    else:
        head = bytes((b0, mbit | 127)) + struct.pack("!Q", n)
    if mask is None:
        return head + payload
    return head + mask + xor(payload, mask)


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason
