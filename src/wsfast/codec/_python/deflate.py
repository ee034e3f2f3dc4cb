"""permessage-deflate streams on Python's zlib module; the C backend's twin.

Inflate is bounded the same way: output is asked for in slices, and a
message that would pass ``max_size`` fails before more is produced.
"""

import zlib

from ...constants import CLOSE_INVALID_DATA, CLOSE_TOO_BIG, DEFAULT_MAX_MESSAGE_SIZE
from ...errors import ProtocolError
from .utf8 import Utf8Validator

_TAIL = b"\x00\x00\xff\xff"


def _idle(idle):
    if idle not in ("keep", "window", "adaptive"):
        raise ValueError("idle must be 'keep', 'window' or 'adaptive', not %r" % (idle,))
    return idle != "keep"


def _window(bits):
    if not 8 <= bits <= 15:
        raise ValueError("window bits must be 8-15")
    return max(bits, 9)  # zlib's raw deflate cannot do 8; see deflate.h


class _Stream:
    """What both directions share: when a stream may be parked."""

    def park(self):
        """Between messages, drop the zlib object when only its window is
        kept (idle "window" or "adaptive"); False in the middle of one."""
        if self._in_msg:
            return False
        if self._window_only:
            self._z = None
        return True


class Deflater(_Stream):
    """Compresses messages for one direction (RFC 7692).

    ``idle="window"``: with context takeover, keep only the last
    2^window_bits bytes sent between messages, and start each message with
    a new compressor primed with them (zdict); the output is the same.
    ``idle="adaptive"``: keep the compressor until ``park()``, then as
    "window".
    """

    def __init__(self, window_bits=12, mem_level=5, level=-1, no_context_takeover=False, release=False,
                 idle="keep"):
        self.window_bits = _window(window_bits)
        if not 0 <= mem_level <= 9 or not -1 <= level <= 9:
            raise ValueError("invalid deflate settings")
        self._mem_level = mem_level or 8
        self._level = level
        self._no_context = no_context_takeover or release
        self._window_only = _idle(idle) and not self._no_context
        self._hold = idle == "adaptive"
        self._history = b""  # idle="window": the last bytes sent
        self._z = None
        self._in_msg = False

    @property
    def memory(self):
        """Approximate bytes of zlib state (zlib's own formula) and of a
        kept window; 0 while idle otherwise."""
        held = len(self._history)
        if self._z is None:
            return held
        return held + (1 << (self.window_bits + 2)) + (1 << (self._mem_level + 9)) + 6 * 1024

    def compress(self, data, final=True):
        data = bytes(data)
        if self._z is None:
            args = (self._level, zlib.DEFLATED, -self.window_bits, self._mem_level)
            self._z = zlib.compressobj(*args, zdict=self._history) if self._history else zlib.compressobj(*args)
        out = self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)
        self._in_msg = not final
        if self._window_only:
            window = 1 << self.window_bits
            self._history = data[-window:] if len(data) >= window else (self._history + data)[-window:]
        if final:
            if out.endswith(_TAIL):
                out = out[:-4]
            if not out:
                out = b"\x00"
            if self._no_context or (self._window_only and not self._hold):
                self._z = None
        return out

    def release(self):
        if self._in_msg:
            return False
        self._z = None
        self._history = b""
        return True


class Inflater(_Stream):
    """Decompresses messages for one direction, never past ``max_size``."""

    def __init__(self, window_bits=15, max_size=DEFAULT_MAX_MESSAGE_SIZE, no_context_takeover=False, release=False,
                 idle="keep"):
        self.window_bits = _window(window_bits)
        self.max_size = max_size or 0
        self._no_context = no_context_takeover
        # idle="window": between messages only _history (the last window of
        # output) is kept, and primes the next message's decompressor.
        self._window_only = _idle(idle) and not no_context_takeover
        self._hold = idle == "adaptive"
        self._z = None
        self._size = 0
        self._utf8 = Utf8Validator()
        self._in_text = False
        self._in_msg = False
        # A block with BFINAL set ends the stream (RFC 7692 section 7.2.3.4);
        # _ended says nothing was read since. What follows is a new stream
        # that may still refer back, so the last window of output is kept
        # to start it with, as the C backend does.
        self._ended = False
        self._history = bytearray()

    @property
    def memory(self):
        if self._z is None:
            return len(self._history) if self._window_only else 0
        return (1 << self.window_bits) + 7 * 1024

    def decompress(self, data, final=True, text=False):
        if self._z is None:
            if not self._window_only:
                self._history.clear()
            if self._history:
                self._z = zlib.decompressobj(-self.window_bits, zdict=bytes(self._history))
            else:
                self._z = zlib.decompressobj(-self.window_bits)
        if not self._in_text and text:
            self._utf8.reset()
        self._in_text = text and not final
        self._in_msg = not final
        out = []
        try:
            self._run(bytes(data), text, out)
            # A stream closed by BFINAL has no use for the tail.
            if final and not self._ended:
                made = len(out)
                self._run(_TAIL, text, out)
                # The tail only closes the empty stored block the payload
                # ends with: read as anything else, it was read as data.
                if not self._ended and (any(out[made:]) or not self._at_boundary()):
                    self._fail()
                    raise ProtocolError(CLOSE_INVALID_DATA, "compressed message ends inside a block")
        except zlib.error:
            self._fail()
            raise ProtocolError(CLOSE_INVALID_DATA, "invalid compressed data") from None
        if final:
            if text and not self._utf8.complete:
                self._fail()
                raise ProtocolError(CLOSE_INVALID_DATA, "invalid UTF-8")
            self._size = 0
            self._ended = False
            if self._no_context or (self._window_only and not self._hold):
                self._z = None
        return b"".join(out)

    def _run(self, data, text, out):
        window = 1 << self.window_bits
        while data:
            self._ended = False
            room = self.max_size - self._size + 1 if self.max_size else 0
            chunk = self._z.decompress(data, room)
            data = self._z.unconsumed_tail
            self._size += len(chunk)
            if self.max_size and self._size > self.max_size:
                self._fail()
                raise ProtocolError(CLOSE_TOO_BIG, "message too big")
            if text and chunk and not self._utf8.feed(chunk):
                self._fail()
                raise ProtocolError(CLOSE_INVALID_DATA, "invalid UTF-8")
            out.append(chunk)
            self._history += chunk[-window:]
            del self._history[:-window]
            if self._z.eof:  # a final deflate block: the stream ended
                data = self._z.unused_data + data
                if self._history:
                    self._z = zlib.decompressobj(-self.window_bits, zdict=bytes(self._history))
                else:
                    self._z = zlib.decompressobj(-self.window_bits)
                self._ended = True

    def _at_boundary(self):
        # zlib does not tell where it stopped, so a copy is shown an empty
        # final fixed-Huffman block: only at a block boundary, with no bits
        # left over, does that end the stream at once, with no output.
        probe = self._z.copy()
        try:
            return probe.decompress(b"\x03\x00") == b"" and probe.eof
        except zlib.error:
            return False

    def _fail(self):
        self._z = None
        self._history.clear()
        self._size = 0
        self._in_msg = False
        self._in_text = False
        self._ended = False

    def release(self):
        if self._in_msg or (self._z is not None and not self._no_context):
            return False
        self._z = None
        return True
