"""Encode once, send to many: the frames of one broadcast message."""

from . import _backend
from .constants import OP_BINARY, OP_TEXT
from .protocol import InvalidState


class PreparedMessage:
    """A message encoded once for many server connections.

    The uncompressed frame is built at once; a compressed frame is built
    lazily, once per window size in use, with a compressor that keeps no
    context, so the same bytes are valid on every connection. On a
    connection whose own compressor keeps context, that compressor is reset
    after such a frame: its next message must not refer back to data the
    peer's window no longer matches (RFC 7692 lets a sender drop context
    at any message).
    """

    __slots__ = ("opcode", "payload", "_plain", "_compressed", "_impl")

    def __init__(self, data, backend=None):
        self._impl = backend or _backend.impl
        if isinstance(data, str):
            self.opcode, self.payload = OP_TEXT, data.encode()
        else:
            self.opcode, self.payload = OP_BINARY, bytes(data)
        self._plain = self._impl.encode_frame(self.opcode, self.payload)
        self._compressed = {}

    def frame_for(self, conn):
        if not conn.is_server:
            raise InvalidState("prepared messages are for servers (clients mask each frame)")
        deflater = conn._deflater
        if deflater is None or len(self.payload) < conn.compress_min_size:
            return self._plain
        bits = deflater.window_bits
        frame = self._compressed.get(bits)
        if frame is None:
            z = self._impl.Deflater(bits, no_context_takeover=True)
            frame = self._impl.encode_frame(self.opcode, z.compress(self.payload), rsv1=True)
            self._compressed[bits] = frame
        if not conn.deflate.deflate_no_context_takeover(True):
            deflater.release()
        return frame
