# Frame parser and encoder. The C parser validates and unmasks each payload
# straight into the bytes object returned to Python: one copy per frame.
import os as _os

from wsfast.constants import (DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE,
                              MASK_POOL_SIZE)
from wsfast.errors import ProtocolError

# Opcodes as Python ints, so a frame's tuple takes a reference rather than
# converting one.
cdef tuple _OPCODES = tuple(range(16))

# A str payload of compact ASCII is its own UTF-8: encode() copies it
# straight from the str. Others go through a temporary bytes, never
# PyUnicode_AsUTF8AndSize's UTF-8 cached inside the caller's str.
cdef extern from *:
    """
    #if defined(PYPY_VERSION)
    #define WSF_STR_IS_ASCII(o) 0
    #else
    #define WSF_STR_IS_ASCII(o) PyUnicode_IS_COMPACT_ASCII(o)
    #endif
    """
    bint WSF_STR_IS_ASCII(object o)
    const char *PyUnicode_AsUTF8AndSize(object o, Py_ssize_t *size) except NULL

# encode_many sizes its buffer in a first pass; a payload or list changed
# since (say, from a custom __getitem__) must not make it write past it.
_CHANGED = "frames changed during encode_many"


def close_code_valid(unsigned code):
    """True if ``code`` may be sent in a close frame (RFC 6455 7.4)."""
    return wsf_close_code_valid(code) == 1


def check_close_payload(payload):
    """0 if a close frame's payload is valid, else the close code to fail with."""
    cdef Py_buffer d
    PyObject_GetBuffer(payload, &d, PyBUF_SIMPLE)
    try:
        return wsf_check_close_payload(<const uint8_t *>d.buf, d.len)
    finally:
        PyBuffer_Release(&d)


@cython.final  # direct calls to the per-frame helpers, no vtable
cdef class FrameParser:
    """Turns bytes into frames.

    ``feed(data)`` parses every complete frame in ``data`` (plus what
    earlier calls left unfinished) and returns them as tuples
    ``(opcode, payload, fin, rsv1)``. ``feed(data, max_frames)`` stops
    after that many frames; ``consumed`` then says how many bytes of
    ``data`` it used (the caller feeds the rest later). With ``reassemble`` (the default)
    fragmented messages come out whole, under their first frame's opcode,
    with control frames as they arrive. A violation raises ProtocolError
    carrying the close code and the frames parsed before it.
    """

    cdef wsf_parser p
    cdef object _dest          # bytes being filled by the current frame
    cdef uint8_t *_parts       # fragments of the open message (reassemble)
    cdef size_t _parts_len
    cdef bint _filling_parts
    cdef int _msg_op           # opcode and RSV1 of the message's first frame
    cdef bint _msg_rsv1
    cdef readonly bint server
    cdef readonly bint reassemble
    cdef readonly bint allow_rsv1
    cdef readonly bint validate_utf8
    cdef readonly Py_ssize_t consumed  # bytes of data the last feed used

    def __cinit__(self):
        self._parts = NULL

    def __init__(self, server, *, max_frame_size=DEFAULT_MAX_FRAME_SIZE,
                 max_message_size=DEFAULT_MAX_MESSAGE_SIZE, allow_rsv1=False,
                 reassemble=True, validate_utf8=True):
        cdef unsigned flags = 0
        self.server = bool(server)
        self.reassemble = bool(reassemble)
        self.allow_rsv1 = bool(allow_rsv1)
        self.validate_utf8 = bool(validate_utf8)
        if self.server:
            flags |= WSF_PARSER_SERVER
        if self.allow_rsv1:
            flags |= WSF_PARSER_ALLOW_RSV1
        if not self.validate_utf8:
            flags |= WSF_PARSER_NO_UTF8
        wsf_parser_init(&self.p, flags, max_frame_size or 0, max_message_size or 0)

    def __dealloc__(self):
        PyMem_Free(self._parts)

    @property
    def max_frame_size(self):
        return self.p.max_frame_size

    @property
    def max_message_size(self):
        return self.p.max_message_size

    @property
    def in_message(self):
        return wsf_parser_in_message(&self.p) == 1

    cdef int _provide_dest(self) except -1:
        cdef size_t n = <size_t>self.p.frame_len
        cdef uint8_t *grown
        # Fragments of a message being reassembled go straight into one
        # growing buffer, so a message costs its size, however fragmented.
        self._filling_parts = (self.reassemble and self.p.opcode < 8 and
                               (self.p.opcode == 0 or
                                not (self.p.frame_flags & WSF_FIN)))
        if n == 0:
            return 0
        if self._filling_parts:
            grown = <uint8_t *>PyMem_Realloc(self._parts, self._parts_len + n)
            if grown == NULL:
                raise MemoryError()
            self._parts = grown
            wsf_parser_set_dest(&self.p, self._parts + self._parts_len)
            self._parts_len += n
        else:
            self._dest = PyBytes_FromStringAndSize(NULL, n)
            wsf_parser_set_dest(&self.p, <uint8_t *>PyBytes_AS_STRING(self._dest))
        return 0

    cdef object _take_frame(self):
        cdef int op = self.p.opcode
        cdef bint fin = (self.p.frame_flags & WSF_FIN) != 0
        cdef bint rsv1 = (self.p.frame_flags & WSF_RSV1) != 0
        if not self._filling_parts:
            payload = self._dest if self.p.frame_len else b""
            self._dest = None
            return (_OPCODES[op], payload, fin, rsv1)
        if not fin:
            return None
        # The message's last fragment: hand the whole message out.
        payload = PyBytes_FromStringAndSize(<char *>self._parts, self._parts_len)
        PyMem_Free(self._parts)
        self._parts = NULL
        self._parts_len = 0
        return (self._msg_op, payload, True, self._msg_rsv1)

    @cython.binding(False)  # called per read: skip the cyfunction layers
    def feed(self, data, Py_ssize_t max_frames=0):
        cdef Py_buffer d
        cdef const uint8_t *buf
        cdef size_t blen, pos = 0, n
        cdef int r
        cdef list frames = []
        cdef bytes payload
        # bytes are immutable and the caller holds them: no buffer view.
        cdef bint view = type(data) is not bytes
        if view:
            PyObject_GetBuffer(data, &d, PyBUF_SIMPLE)
            buf = <const uint8_t *>d.buf
            blen = <size_t>d.len
        else:
            buf = <const uint8_t *>PyBytes_AS_STRING(data)
            blen = <size_t>PyBytes_GET_SIZE(data)
        try:
            while True:
                # Most frames are whole and unfragmented: one C call to check,
                # one to unmask and validate straight into the new bytes.
                if wsf_whole_frame(&self.p, buf, blen, pos, &n):
                    payload = PyBytes_FromStringAndSize(NULL, n)
                    if wsf_take_whole(&self.p, buf, blen, &pos,
                                      <uint8_t *>PyBytes_AS_STRING(payload),
                                      n) != WSF_FRAME:
                        self._raise(frames)
                    frames.append((_OPCODES[self.p.opcode], payload, True,
                                   (self.p.frame_flags & WSF_RSV1) != 0))
                    if max_frames and PyList_GET_SIZE(frames) >= max_frames:
                        self.consumed = <Py_ssize_t>pos
                        return frames
                    continue
                r = wsf_parse(&self.p, buf, blen, &pos)
                if r == WSF_FRAME:
                    item = self._take_frame()
                    if item is not None:
                        frames.append(item)
                        if max_frames and PyList_GET_SIZE(frames) >= max_frames:
                            self.consumed = <Py_ssize_t>pos
                            return frames
                elif r == WSF_HEADER:
                    if self.p.opcode == 1 or self.p.opcode == 2:
                        self._msg_op = self.p.opcode
                        self._msg_rsv1 = (self.p.frame_flags & WSF_RSV1) != 0
                    self._provide_dest()
                elif r == WSF_NEED_MORE:
                    self.consumed = <Py_ssize_t>blen
                    return frames
                else:
                    self._raise(frames)
        finally:
            if view:
                PyBuffer_Release(&d)

    cdef int _raise(self, list frames) except -1:
        raise ProtocolError(self.p.close_code, self.p.error.decode("ascii"), frames)


cdef inline unsigned _flags(bint fin, bint rsv1):
    return (WSF_FIN if fin else 0) | (WSF_RSV1 if rsv1 else 0)


def encode_frame(int opcode, payload, fin=True, rsv1=False, mask=None):
    """Return one frame: header, then ``payload`` masked with ``mask`` if given."""
    cdef Py_buffer d, k
    cdef const uint8_t *key = NULL
    PyObject_GetBuffer(payload, &d, PyBUF_SIMPLE)
    try:
        if mask is not None:
            PyObject_GetBuffer(mask, &k, PyBUF_SIMPLE)
            if k.len != 4:
                PyBuffer_Release(&k)
                raise ValueError("mask key must be 4 bytes")
            key = <const uint8_t *>k.buf
        try:
            out = PyBytes_FromStringAndSize(
                NULL, wsf_header_size(d.len, key != NULL) + d.len)
            wsf_encode_frame(<uint8_t *>PyBytes_AS_STRING(out), opcode,
                             _flags(fin, rsv1), <const uint8_t *>d.buf, d.len, key)
            return out
        finally:
            if key != NULL:
                PyBuffer_Release(&k)
    finally:
        PyBuffer_Release(&d)


cdef class FrameEncoder:
    """Encodes frames for one side; a client masks with keys cut from a
    pool of OS random bytes (RFC 6455 10.3 asks for unpredictable keys)."""

    cdef readonly bint client
    cdef bytes _pool
    cdef Py_ssize_t _pos

    def __init__(self, client):
        self.client = bool(client)
        self._pool = b""
        self._pos = 0

    cdef const uint8_t *_next_mask(self):
        if self._pos + 4 > len(self._pool):
            self._pool = _os.urandom(MASK_POOL_SIZE)
            self._pos = 0
        self._pos += 4
        return <const uint8_t *>PyBytes_AS_STRING(self._pool) + self._pos - 4

    cdef size_t _write(self, uint8_t *out, int opcode, const Py_buffer *d,
                       unsigned flags):
        cdef const uint8_t *key = self._next_mask() if self.client else NULL
        return wsf_encode_frame(out, opcode, flags, <const uint8_t *>d.buf, d.len, key)

    # binding=False: a plain method descriptor, which CPython calls
    # directly, without the cyfunction and bound-method layers.
    @cython.binding(False)
    cdef bytes _encode_raw(self, int opcode, unsigned flags, const char *p, Py_ssize_t n):
        cdef uint8_t *o
        if not self.client:  # header and payload written inline
            out = PyBytes_FromStringAndSize(NULL, wsf_header_size_unmasked(n) + n)
            o = <uint8_t *>PyBytes_AS_STRING(out)
            o += wsf_encode_header_unmasked(o, opcode, flags, n)
            memcpy(o, p, n)
            return out
        cdef const uint8_t *key = self._next_mask()
        out = PyBytes_FromStringAndSize(NULL, wsf_header_size(n, 1) + n)
        wsf_encode_frame(<uint8_t *>PyBytes_AS_STRING(out), opcode, flags,
                         <const uint8_t *>p, n, key)
        return out

    def encode(self, int opcode, payload, bint fin=True, bint rsv1=False):
        """One frame of ``payload`` (bytes-like, or str sent as UTF-8)."""
        cdef Py_buffer d
        cdef const uint8_t *key
        cdef Py_ssize_t n
        cdef uint8_t *o
        cdef unsigned flags = _flags(fin, rsv1)
        cdef const char *p
        if type(payload) is str:  # text: encoded as UTF-8
            if WSF_STR_IS_ASCII(payload):
                p = PyUnicode_AsUTF8AndSize(payload, &n)  # the str's own bytes
                return self._encode_raw(opcode, flags, p, n)
            payload = (<str>payload).encode("utf-8")
        if type(payload) is bytes:  # the common case, without a buffer view
            return self._encode_raw(opcode, flags, PyBytes_AS_STRING(payload),
                                    PyBytes_GET_SIZE(payload))
        PyObject_GetBuffer(payload, &d, PyBUF_SIMPLE)
        try:
            out = PyBytes_FromStringAndSize(
                NULL, wsf_header_size(d.len, self.client) + d.len)
            self._write(<uint8_t *>PyBytes_AS_STRING(out), opcode, &d, flags)
            return out
        finally:
            PyBuffer_Release(&d)

    @cython.binding(False)
    def encode_many(self, frames):
        """Encode ``(opcode, payload)`` pairs into one buffer for one write."""
        cdef Py_ssize_t total = 0, left, n, size
        cdef Py_buffer d
        cdef uint8_t *out
        cdef int op
        cdef size_t extra = 4 if self.client else 0
        cdef list items = frames if type(frames) is list else list(frames)
        for item in items:
            payload = item[1]
            n = PyBytes_GET_SIZE(payload) if type(payload) is bytes else memoryview(payload).nbytes
            total += wsf_header_size_unmasked(n) + extra + n
        result = PyBytes_FromStringAndSize(NULL, total)
        out = <uint8_t *>PyBytes_AS_STRING(result)
        left = total
        for item in items:
            op = item[0]
            payload = item[1]
            if type(payload) is bytes:
                n = PyBytes_GET_SIZE(payload)
                size = wsf_header_size_unmasked(n) + extra + n
                if size > left:
                    raise RuntimeError(_CHANGED)
                if self.client:
                    wsf_encode_frame(out, op, WSF_FIN, <const uint8_t *>PyBytes_AS_STRING(payload),
                                     n, self._next_mask())
                else:
                    memcpy(out + wsf_encode_header_unmasked(out, op, WSF_FIN, n),
                           PyBytes_AS_STRING(payload), n)
            else:
                PyObject_GetBuffer(payload, &d, PyBUF_SIMPLE)
                try:
                    size = wsf_header_size_unmasked(d.len) + extra + d.len
                    if size > left:
                        raise RuntimeError(_CHANGED)
                    self._write(out, op, &d, WSF_FIN)
                finally:
                    PyBuffer_Release(&d)
            out += size
            left -= size
        if left != 0:
            raise RuntimeError(_CHANGED)
        return result
