"""Encode once, send to many: the frames of one broadcast message.

Compiled with the extension (see prepared_c.pxd; wsfast._twins): every
publish and broadcast makes one."""

from __future__ import annotations

from types import ModuleType

from . import backend as _backend
from ..constants import OP_BINARY, OP_TEXT


class PreparedMessage:
    """A message encoded once for many server connections.

    ``plain`` is the uncompressed frame, built at once. ``compressed(bits)``
    builds a compressed frame lazily, once per window size in use, with a
    compressor that keeps no context, so the same bytes are valid on every
    connection. Which frame a connection sends, and what that means for its
    own compressor, is the connection's decision
    (``Connection.prepared_frame``).
    """

    __slots__ = ("opcode", "payload", "plain", "_compressed", "_impl")

    def __init__(self, data: str | bytes | bytearray | memoryview,
                 backend: ModuleType | None = None) -> None:
        self._impl = backend or _backend.impl
        if isinstance(data, str):
            self.opcode, self.payload = OP_TEXT, data.encode()
        else:
            self.opcode, self.payload = OP_BINARY, bytes(data)
        self.plain: bytes = self._impl.encode_frame(self.opcode, self.payload)
        self._compressed: dict[int, bytes] | None = None  # made on first use

    def compressed(self, window_bits: int) -> bytes:
        """The frame compressed for a peer window of ``window_bits``."""
        frames = self._compressed
        if frames is None:
            frames = self._compressed = {}
        frame = frames.get(window_bits)
        if frame is None:
            z = self._impl.Deflater(window_bits, no_context_takeover=True)
            frame = self._impl.encode_frame(self.opcode, z.compress(self.payload), rsv1=True)
            frames[window_bits] = frame
        return frame
