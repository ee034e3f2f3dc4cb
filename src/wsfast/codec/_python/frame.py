"""Streaming frame parser and encoder in pure Python (RFC 6455 section 5).

The reference the C backend is tested against: same API, same rule order,
same close codes. Kept simple rather than fast.
"""

import os

from ...constants import (
    CLOSE_INVALID_DATA,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_TOO_BIG,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    MASK_POOL_SIZE,
)
from ...errors import ProtocolError
from .mask import apply_mask
from .utf8 import Utf8Validator

_VALID_OPCODES = frozenset((0, 1, 2, 8, 9, 10))


def close_code_valid(code):
    """True if ``code`` may be sent in a close frame (RFC 6455 7.4)."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def check_close_payload(payload):
    """0 if a close frame's payload is valid, else the close code to fail with."""
    n = len(payload)
    if n == 0:
        return 0
    if n == 1 or not close_code_valid(int.from_bytes(payload[:2], "big")):
        return CLOSE_PROTOCOL_ERROR
    v = Utf8Validator()
    if not v.feed(payload[2:]) or not v.complete:
        return CLOSE_INVALID_DATA
    return 0


class FrameParser:
    """Turns bytes into frames. See the C backend for the contract."""

    def __init__(
        self,
        server,
        *,
        max_frame_size=DEFAULT_MAX_FRAME_SIZE,
        max_message_size=DEFAULT_MAX_MESSAGE_SIZE,
        allow_rsv1=False,
        reassemble=True,
        validate_utf8=True,
    ):
        self.server = bool(server)
        self.max_frame_size = int(max_frame_size or 0)
        self.max_message_size = int(max_message_size or 0)
        self.allow_rsv1 = bool(allow_rsv1)
        self.reassemble = bool(reassemble)
        self.validate_utf8 = bool(validate_utf8)
        self._hdr = bytearray()
        self._in_payload = False
        self._opcode = 0
        self._fin = False
        self._rsv1 = False
        self._mask = None
        self._frame_len = 0
        self._payload = bytearray()
        self._msg_opcode = 0  # open fragmented message
        self._msg_rsv1 = False
        self._msg_len = 0
        self._text = False  # current data frame belongs to a text message
        self._utf8 = Utf8Validator()
        self._parts = bytearray()  # fragments being reassembled
        self._error = None
        self.consumed = 0  # bytes of data the last feed used

    @property
    def in_message(self):
        return self._msg_opcode != 0

    def _fail(self, code, reason, frames):
        self._error = (code, reason)
        raise ProtocolError(code, reason, frames)

    def _check_first_two(self, b0, b1):
        rsv = b0 & 0x70
        if rsv & ~(0x40 if self.allow_rsv1 else 0):
            return "reserved bits set"
        op = b0 & 0x0F
        if op not in _VALID_OPCODES:
            return "reserved opcode"
        if op >= 8:
            if not b0 & 0x80:
                return "fragmented control frame"
            if b1 & 0x7F > 125:
                return "control frame too long"
            if rsv & 0x40:
                return "compressed control frame"
        if self.server and not b1 & 0x80:
            return "unmasked client frame"
        if not self.server and b1 & 0x80:
            return "masked server frame"
        if op == 0:
            if not self._msg_opcode:
                return "unexpected continuation frame"
            if rsv & 0x40:
                return "RSV1 on continuation frame"
        elif op < 8 and self._msg_opcode:
            return "expected continuation frame"
        return None

    def feed(self, data, max_frames=0):
        """Parse ``data``; return the frames completed, as tuples
        ``(opcode, payload, fin, rsv1)``; at most ``max_frames`` if set,
        ``consumed`` then telling how much of ``data`` was used. Raises
        ProtocolError."""
        frames = []
        if self._error is not None:
            raise ProtocolError(self._error[0], self._error[1], frames)
        data = memoryview(bytes(data))
        n = len(data)
        self.consumed = n
        pos = 0
        while True:
            if not self._in_payload:
                hdr = self._hdr
                if len(hdr) < 2:
                    take = min(2 - len(hdr), n - pos)
                    hdr += data[pos : pos + take]
                    pos += take
                    if len(hdr) < 2:
                        return frames
                    reason = self._check_first_two(hdr[0], hdr[1])
                    if reason:
                        self._fail(CLOSE_PROTOCOL_ERROR, reason, frames)
                b1 = hdr[1]
                need = 2 + {126: 2, 127: 8}.get(b1 & 0x7F, 0) + (4 if b1 & 0x80 else 0)
                take = min(need - len(hdr), n - pos)
                hdr += data[pos : pos + take]
                pos += take
                if len(hdr) < need:
                    return frames
                self._start_frame(frames)
            # Payload (possibly empty).
            want = self._frame_len - len(self._payload)
            chunk = bytes(data[pos : pos + want])
            pos += len(chunk)
            if self._mask is not None and chunk:
                chunk = apply_mask(chunk, self._mask, len(self._payload) & 3)
            self._payload += chunk
            if self._text and chunk and not self._utf8.feed(chunk):
                self._fail(CLOSE_INVALID_DATA, "invalid UTF-8", frames)
            if len(self._payload) < self._frame_len:
                return frames
            self._end_frame(frames)
            if max_frames and len(frames) >= max_frames:
                self.consumed = pos
                return frames
            if pos >= n and not self._hdr:
                return frames

    def _start_frame(self, frames):
        hdr = self._hdr
        b0, b1 = hdr[0], hdr[1]
        ln = b1 & 0x7F
        off = 2
        if ln == 126:
            ln = int.from_bytes(hdr[2:4], "big")
            off = 4
        elif ln == 127:
            ln = int.from_bytes(hdr[2:10], "big")
            off = 10
            if ln >> 63:
                self._fail(CLOSE_PROTOCOL_ERROR, "invalid frame length", frames)
        if self.max_frame_size and ln > self.max_frame_size:
            self._fail(CLOSE_TOO_BIG, "frame too big", frames)
        op = b0 & 0x0F
        fin = bool(b0 & 0x80)
        rsv1 = bool(b0 & 0x40)
        if op < 8:
            msg_len = ln if op else self._msg_len + ln
            if self.max_message_size and msg_len > self.max_message_size:
                self._fail(CLOSE_TOO_BIG, "message too big", frames)
            self._msg_len = msg_len
            if op:
                self._msg_rsv1 = rsv1
                self._msg_opcode = 0 if fin else op
                self._utf8.reset()
                self._text = op == 1
            else:
                self._text = self._msg_opcode == 1
            self._text = self._text and self.validate_utf8 and not self._msg_rsv1
        else:
            self._text = False
        self._opcode, self._fin, self._rsv1 = op, fin, rsv1
        self._mask = bytes(hdr[off : off + 4]) if b1 & 0x80 else None
        self._frame_len = ln
        self._payload = bytearray()
        self._in_payload = True
        self._hdr = bytearray()

    def _end_frame(self, frames):
        op, fin = self._opcode, self._fin
        payload = bytes(self._payload)
        self._payload = bytearray()
        self._in_payload = False
        if op == 8:
            code = check_close_payload(payload)
            if code:
                reason = "invalid close frame" if code == CLOSE_PROTOCOL_ERROR else "invalid close reason"
                self._fail(code, reason, frames)
        if self._text and fin and not self._utf8.complete:
            self._fail(CLOSE_INVALID_DATA, "invalid UTF-8", frames)
        if op >= 8:
            frames.append((op, payload, True, False))
            return
        message_op = op or self._msg_opcode
        if fin:
            self._msg_opcode = 0
            self._msg_len = 0
        if not self.reassemble:
            frames.append((op, payload, fin, self._rsv1))
        elif op and fin:
            frames.append((op, payload, True, self._rsv1))
        else:
            self._parts += payload
            if fin:
                frames.append((message_op, bytes(self._parts), True, self._msg_rsv1))
                self._parts = bytearray()


def encode_frame(opcode, payload, fin=True, rsv1=False, mask=None):
    """Return one frame: header, then ``payload`` masked with ``mask`` if given."""
    payload = bytes(payload)
    n = len(payload)
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (opcode & 0x0F)
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes((b0, mbit | n))
    elif n < 65536:
        head = bytes((b0, mbit | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((b0, mbit | 127)) + n.to_bytes(8, "big")
    if mask is None:
        return head + payload
    mask = bytes(mask)
    if len(mask) != 4:
        raise ValueError("mask key must be 4 bytes")
    return head + mask + apply_mask(payload, mask)


class FrameEncoder:
    """Encodes frames for one side; a client masks with keys cut from a
    pool of OS random bytes (RFC 6455 10.3 asks for unpredictable keys)."""

    def __init__(self, client):
        self.client = bool(client)
        self._pool = b""
        self._pos = 0

    def _next_mask(self):
        if self._pos + 4 > len(self._pool):
            self._pool = os.urandom(MASK_POOL_SIZE)
            self._pos = 0
        key = self._pool[self._pos : self._pos + 4]
        self._pos += 4
        return key

    def encode(self, opcode, payload, fin=True, rsv1=False):
        """One frame of ``payload`` (bytes-like, or str sent as UTF-8)."""
        if type(payload) is str:
            payload = payload.encode("utf-8")
        mask = self._next_mask() if self.client else None
        return encode_frame(opcode, payload, fin, rsv1, mask)

    def encode_many(self, frames):
        """Encode ``(opcode, payload)`` pairs into one buffer for one write."""
        return b"".join([self.encode(op, payload) for op, payload in frames])
