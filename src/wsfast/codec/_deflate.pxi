# permessage-deflate streams over csrc/deflate.c. Output is built in a
# reusable C buffer, then copied once into the bytes handed back.

from wsfast.constants import DEFAULT_MAX_MESSAGE_SIZE


cdef unsigned _idle_flag(idle) except? 0:
    if idle == "keep":
        return 0
    if idle == "window":
        return WSF_Z_KEEP_WINDOW
    if idle == "adaptive":
        return WSF_Z_KEEP_WINDOW | WSF_Z_HOLD
    raise ValueError("idle must be 'keep', 'window' or 'adaptive', not %r" % (idle,))


cdef class Deflater:
    """Compresses messages for one direction (RFC 7692).

    ``compress(data, final=True)`` returns the payload of one message, or
    with ``final=False`` a flushed piece of a message sent in fragments.
    zlib memory is allocated on first use; ``release()`` frees it between
    messages. ``idle``: what context takeover keeps between messages,
    ``"keep"`` zlib's whole state, or ``"window"`` only the last
    2^window_bits bytes sent, priming a new stream with them for the next
    message (same output, a few microseconds more per message), or
    ``"adaptive"`` zlib's state until ``park()``, then only the window.
    """

    cdef wsf_deflater d
    cdef wsf_buf out
    cdef bint lean  # idle="window": no output buffer kept either

    def __init__(self, window_bits=12, mem_level=5, level=-1,
                 no_context_takeover=False, release=False, idle="keep"):
        cdef unsigned flags = _idle_flag(idle)
        self.lean = flags == WSF_Z_KEEP_WINDOW
        if no_context_takeover:
            flags |= WSF_Z_NO_CONTEXT
        if release:
            flags |= WSF_Z_RELEASE
        if wsf_deflater_init(&self.d, window_bits, mem_level, level, flags) != WSF_Z_OK:
            raise ValueError("invalid deflate settings")

    def __dealloc__(self):
        wsf_deflater_end(&self.d)
        wsf_buf_free(&self.out)

    @property
    def window_bits(self):
        return self.d.window_bits

    @property
    def memory(self):
        """Bytes of zlib state held now (0 while idle)."""
        return wsf_deflater_mem(&self.d)

    def compress(self, data, bint final=True):
        cdef Py_buffer v
        cdef int rc
        PyObject_GetBuffer(data, &v, PyBUF_SIMPLE)
        try:
            self.out.len = 0
            rc = wsf_deflate(&self.d, <const uint8_t *>v.buf, v.len,
                             WSF_Z_FINAL if final else WSF_Z_FLUSH, &self.out)
        finally:
            PyBuffer_Release(&v)
        if rc == WSF_Z_NOMEM:
            raise MemoryError()
        if rc != WSF_Z_OK:
            raise ValueError((self.d.error or b"deflate failed").decode())
        result = PyBytes_FromStringAndSize(<char *>self.out.data, self.out.len)
        # Keep idle connections small: reusing the buffer saves a malloc a
        # message, which "keep" trades for up to 64 KiB held.
        if self.out.cap > 65536 or (self.lean and final):
            wsf_buf_free(&self.out)
        return result

    def release(self):
        """Free zlib state between messages; False if a message is open."""
        return wsf_deflater_release(&self.d) == WSF_Z_OK

    def park(self):
        """idle="adaptive", between messages: keep only the window (and
        no output buffer); False if a message is open."""
        if wsf_deflater_park(&self.d) != WSF_Z_OK:
            return False
        wsf_buf_free(&self.out)
        return True


cdef class Inflater:
    """Decompresses messages for one direction, never past ``max_size``.

    ``decompress(data, final=True, text=False)`` takes one message's payload
    (or, with ``final=False``, a piece of it as fragments arrive). It raises
    ProtocolError 1009 as soon as the message would inflate past
    ``max_size``, and 1007 for corrupt data or, with ``text``, invalid UTF-8.
    ``idle``: as for Deflater (``"window"`` keeps the last 2^window_bits
    bytes received, not zlib's state).
    """

    cdef wsf_inflater s
    cdef wsf_buf out
    cdef bint lean
    cdef wsf_utf8 utf8
    cdef bint in_text

    def __init__(self, window_bits=15, max_size=DEFAULT_MAX_MESSAGE_SIZE,
                 no_context_takeover=False, release=False, idle="keep"):
        cdef unsigned flags = _idle_flag(idle)
        self.lean = flags == WSF_Z_KEEP_WINDOW
        if no_context_takeover:
            flags |= WSF_Z_NO_CONTEXT
            if release:
                flags |= WSF_Z_RELEASE
        if wsf_inflater_init(&self.s, window_bits, max_size or 0, flags) != WSF_Z_OK:
            raise ValueError("invalid inflate settings")

    def __dealloc__(self):
        wsf_inflater_end(&self.s)
        wsf_buf_free(&self.out)

    @property
    def max_size(self):
        return self.s.max_size

    @property
    def memory(self):
        return wsf_inflater_mem(&self.s)

    def decompress(self, data, bint final=True, bint text=False):
        cdef Py_buffer v
        cdef int rc
        if not self.in_text and text:
            wsf_utf8_reset(&self.utf8)
        self.in_text = text and not final
        PyObject_GetBuffer(data, &v, PyBUF_SIMPLE)
        try:
            self.out.len = 0
            rc = wsf_inflate(&self.s, <const uint8_t *>v.buf, v.len, final,
                             &self.out, &self.utf8 if text else NULL)
        finally:
            PyBuffer_Release(&v)
        if rc == WSF_Z_NOMEM:
            raise MemoryError()
        if rc != WSF_Z_OK:
            raise ProtocolError(wsf_z_close_code(rc),
                                (self.s.error or b"inflate failed").decode())
        result = PyBytes_FromStringAndSize(<char *>self.out.data, self.out.len)
        if self.out.cap > 65536 or (self.lean and final):
            wsf_buf_free(&self.out)
        return result

    def release(self):
        return wsf_inflater_release(&self.s) == WSF_Z_OK

    def park(self):
        """As Deflater.park."""
        if wsf_inflater_park(&self.s) != WSF_Z_OK:
            return False
        wsf_buf_free(&self.out)
        return True
