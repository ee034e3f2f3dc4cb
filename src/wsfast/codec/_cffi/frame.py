"""Frame parser and encoder over csrc/frame_*.c.

The C parser validates and unmasks each payload into memory handed to it
(``wsf_parser_set_dest``); the frame's ``bytes`` are made from it once.
The rules, limits, close codes and messages are csrc's, as in the Cython
bridge.
"""

import os

from ...constants import DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE, MASK_POOL_SIZE
from ...errors import ProtocolError
from ._buffers import new_output, output, to_bytes, view
from ._ffi import ffi, lib

_FIN = lib.WSF_FIN
_RSV1 = lib.WSF_RSV1
_NEED_MORE = lib.WSF_NEED_MORE
_HEADER = lib.WSF_HEADER
_FRAME = lib.WSF_FRAME

# Whole frames are taken up to this many per C call (wsfast_whole_frames).
_BATCH = 64

# encode_many sizes its buffer in a first pass; a payload or list changed
# since (say, from a custom __getitem__) must not make it write past it.
_CHANGED = "frames changed during encode_many"


def close_code_valid(code):
    """True if ``code`` may be sent in a close frame (RFC 6455 7.4)."""
    return lib.wsf_close_code_valid(code) == 1


def check_close_payload(payload):
    """0 if a close frame's payload is valid, else the close code to fail with."""
    d = view(payload)
    return lib.wsf_check_close_payload(d, len(d))


def _header_size_unmasked(n):
    return 2 if n < 126 else 4 if n < 65536 else 10


def _unmasked_header(b0, n):
    """An unmasked frame's header (csrc's wsf_encode_header_unmasked):
    built here, since a C call per frame would cost more than it does."""
    if n < 126:
        return bytes((b0, n))
    if n < 65536:
        return bytes((b0, 126)) + n.to_bytes(2, "big")
    return bytes((b0, 127)) + n.to_bytes(8, "big")


class FrameParser:
    """Turns bytes into frames.

    ``feed(data)`` parses every complete frame in ``data`` (plus what
    earlier calls left unfinished) and returns them as tuples
    ``(opcode, payload, fin, rsv1)``. ``feed(data, max_frames)`` stops
    after that many frames; ``consumed`` then says how many bytes of
    ``data`` it used. With ``reassemble`` (the default) fragmented messages
    come out whole, under their first frame's opcode, with control frames
    as they arrive. A violation raises ProtocolError carrying the close
    code and the frames parsed before it.
    """

    __slots__ = ("_p", "_pos", "_n", "_dest", "_parts", "_filling_parts", "_msg_op",
                 "_msg_rsv1", "_server", "_reassemble", "_allow_rsv1", "_validate_utf8",
                 "_consumed")

    def __init__(self, server, *, max_frame_size=DEFAULT_MAX_FRAME_SIZE,
                 max_message_size=DEFAULT_MAX_MESSAGE_SIZE, allow_rsv1=False,
                 reassemble=True, validate_utf8=True):
        self._server = bool(server)
        self._reassemble = bool(reassemble)
        self._allow_rsv1 = bool(allow_rsv1)
        self._validate_utf8 = bool(validate_utf8)
        flags = 0
        if self._server:
            flags |= lib.WSF_PARSER_SERVER
        if self._allow_rsv1:
            flags |= lib.WSF_PARSER_ALLOW_RSV1
        if not self._validate_utf8:
            flags |= lib.WSF_PARSER_NO_UTF8
        self._p = ffi.new("wsf_parser *")
        self._pos = ffi.new("size_t *")  # reused by every feed
        self._n = ffi.new("size_t *")
        lib.wsf_parser_init(self._p, flags, max_frame_size or 0, max_message_size or 0)
        self._dest = None          # memory the current frame is unmasked into
        self._parts = None         # fragments of the open message (reassemble)
        self._filling_parts = False
        self._msg_op = 0           # opcode and RSV1 of the message's first frame
        self._msg_rsv1 = False
        self._consumed = 0

    @property
    def server(self):
        return self._server

    @property
    def reassemble(self):
        return self._reassemble

    @property
    def allow_rsv1(self):
        return self._allow_rsv1

    @property
    def validate_utf8(self):
        return self._validate_utf8

    @property
    def consumed(self):
        """Bytes of data the last feed used."""
        return self._consumed

    @property
    def max_frame_size(self):
        return self._p.max_frame_size

    @property
    def max_message_size(self):
        return self._p.max_message_size

    @property
    def in_message(self):
        return lib.wsf_parser_in_message(self._p) == 1

    def _provide_dest(self):
        p = self._p
        op = p.opcode
        # Fragments of a message being reassembled are gathered in one
        # growing bytearray; anything else comes out as its own frame.
        self._filling_parts = (self._reassemble and op < 8 and
                               (op == 0 or not p.frame_flags & _FIN))
        n = p.frame_len
        if n:
            self._dest = output(n)
            lib.wsf_parser_set_dest(p, self._dest)

    def _take_frame(self):
        p = self._p
        n = p.frame_len
        fin = (p.frame_flags & _FIN) != 0
        payload = to_bytes(self._dest, n) if n else b""
        self._dest = None
        if not self._filling_parts:
            return (p.opcode, payload, fin, (p.frame_flags & _RSV1) != 0)
        if self._parts is None:
            self._parts = bytearray(payload)
        else:
            self._parts += payload
        if not fin:
            return None
        # The message's last fragment: hand the whole message out.
        payload = bytes(self._parts)
        self._parts = None
        return (self._msg_op, payload, True, self._msg_rsv1)

    def feed(self, data, max_frames=0):
        p = self._p
        posp = self._pos
        buf = view(data)
        blen = len(buf)
        posp[0] = 0
        frames = []
        # Per call, not per parser (an idle connection holds none of this)
        # nor per module (threads): a frame takes at least 2 bytes.
        batch = min(_BATCH, (blen >> 1) + 1)
        lens_c = new_output("size_t[]", batch)
        meta_c = new_output("uint8_t[]", 2 * batch)
        out = None
        while True:
            # Most frames are whole and unfragmented: one C call takes a run
            # of them, unmasked and validated into ``out``, whose payloads
            # fit in the input left (which only shrinks: an unused ``out``
            # serves again).
            limit = batch if not max_frames else min(batch, max_frames - len(frames))
            room = blen - posp[0]
            if out is None:
                out = output(room or 1)
            k = lib.wsfast_whole_frames(p, buf, blen, posp, out, room, lens_c, meta_c, limit)
            if k:
                taken = k if k > 0 else -1 - k
                lens = ffi.unpack(lens_c, taken)
                meta = ffi.buffer(meta_c, 2 * taken)[:]
                payloads = ffi.buffer(out, sum(lens))
                at = 0
                for i in range(taken):
                    n = lens[i]
                    frames.append((meta[2 * i], payloads[at:at + n] if n else b"", True,
                                   (meta[2 * i + 1] & _RSV1) != 0))
                    at += n
                out = None
                if k < 0:
                    self._raise(frames)
                if max_frames and len(frames) >= max_frames:
                    self._consumed = posp[0]
                    return frames
                if k == limit:
                    continue  # more whole frames may follow
            r = lib.wsf_parse(p, buf, blen, posp)
            if r == _FRAME:
                item = self._take_frame()
                if item is not None:
                    frames.append(item)
                    if max_frames and len(frames) >= max_frames:
                        self._consumed = posp[0]
                        return frames
            elif r == _HEADER:
                if p.opcode == 1 or p.opcode == 2:
                    self._msg_op = p.opcode
                    self._msg_rsv1 = (p.frame_flags & _RSV1) != 0
                self._provide_dest()
            elif r == _NEED_MORE:
                self._consumed = blen
                return frames
            else:
                self._raise(frames)

    def _raise(self, frames):
        p = self._p
        raise ProtocolError(p.close_code, ffi.string(p.error).decode("ascii"), frames)


def _flags(fin, rsv1):
    return (_FIN if fin else 0) | (_RSV1 if rsv1 else 0)


def encode_frame(opcode, payload, fin=True, rsv1=False, mask=None):
    """Return one frame: header, then ``payload`` masked with ``mask`` if given."""
    d = view(payload)
    key = ffi.NULL
    if mask is not None:
        key = view(mask)
        if len(key) != 4:
            raise ValueError("mask key must be 4 bytes")
    n = len(d)
    size = lib.wsf_header_size(n, key != ffi.NULL) + n
    out = output(size)
    lib.wsf_encode_frame(out, opcode, _flags(fin, rsv1), d, n, key)
    return to_bytes(out, size)


class FrameEncoder:
    """Encodes frames for one side; a client masks with keys cut from a
    pool of OS random bytes (RFC 6455 10.3 asks for unpredictable keys)."""

    __slots__ = ("_client", "_pool", "_pool_c", "_pos")

    def __init__(self, client):
        self._client = bool(client)
        self._pool = b""
        self._pool_c = None
        self._pos = 0

    @property
    def client(self):
        return self._client

    def _next_mask(self):
        if self._pos + 4 > len(self._pool):
            self._pool = os.urandom(MASK_POOL_SIZE)
            self._pool_c = ffi.from_buffer("uint8_t[]", self._pool)  # for pointer arithmetic
            self._pos = 0
        self._pos += 4
        return self._pool_c + (self._pos - 4)

    def _write(self, out, opcode, d, flags):
        key = self._next_mask() if self._client else ffi.NULL
        return lib.wsf_encode_frame(out, opcode, flags, d, len(d), key)

    def encode(self, opcode, payload, fin=True, rsv1=False):
        """One frame of ``payload`` (bytes-like, or str sent as UTF-8)."""
        if type(payload) is str:
            payload = payload.encode("utf-8")
        if not self._client and type(payload) is bytes:
            # The server's usual case: header, then the payload as it is.
            return _unmasked_header(_flags(fin, rsv1) | (opcode & 0x0F), len(payload)) + payload
        d = view(payload)
        n = len(d)
        size = lib.wsf_header_size(n, self._client) + n
        out = output(size)
        self._write(out, opcode, d, _flags(fin, rsv1))
        return to_bytes(out, size)

    def encode_many(self, frames):
        """Encode ``(opcode, payload)`` pairs into one buffer for one write."""
        extra = 4 if self._client else 0
        items = frames if type(frames) is list else list(frames)
        total = 0
        for item in items:
            n = memoryview(item[1]).nbytes
            total += _header_size_unmasked(n) + extra + n
        result = output(total)
        at = 0
        left = total
        for item in items:
            op = item[0]
            d = view(item[1])
            size = _header_size_unmasked(len(d)) + extra + len(d)
            if size > left:
                raise RuntimeError(_CHANGED)
            self._write(result + at, op, d, _FIN)
            at += size
            left -= size
        if left != 0:
            raise RuntimeError(_CHANGED)
        return to_bytes(result, total)
