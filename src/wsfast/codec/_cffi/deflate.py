"""permessage-deflate streams over csrc/deflate.c. Output is built in a
reusable C buffer (``wsf_buf``), then copied once into the bytes handed
back; the C state is freed with the object."""

from ...constants import DEFAULT_MAX_MESSAGE_SIZE
from ...errors import ProtocolError
from ._buffers import to_bytes, view
from ._ffi import ffi, lib

_OK = lib.WSF_Z_OK
_NOMEM = lib.WSF_Z_NOMEM
# Above this a buffer is not kept for the next message: reusing it saves a
# malloc a message, which "keep" trades for up to 64 KiB held.
_KEEP_BUFFER_MAX = 65536


def _idle_flag(idle):
    if idle == "keep":
        return 0
    if idle == "window":
        return lib.WSF_Z_KEEP_WINDOW
    if idle == "adaptive":
        return lib.WSF_Z_KEEP_WINDOW | lib.WSF_Z_HOLD
    raise ValueError("idle must be 'keep', 'window' or 'adaptive', not %r" % (idle,))


def _error(cdata_error, default):
    return ffi.string(cdata_error).decode() if cdata_error != ffi.NULL else default


def _take(out, lean_final):
    """The output so far as bytes; the buffer freed if big or idle-lean."""
    result = to_bytes(out.data, out.len) if out.len else b""
    if out.cap > _KEEP_BUFFER_MAX or lean_final:
        lib.wsf_buf_free(out)
    return result


class Deflater:
    """Compresses messages for one direction (RFC 7692).

    ``compress(data, final=True)`` returns the payload of one message, or
    with ``final=False`` a flushed piece of a message sent in fragments.
    zlib memory is allocated on first use; ``release()`` frees it between
    messages. ``idle``: what context takeover keeps between messages,
    ``"keep"`` zlib's whole state, ``"window"`` only the last
    2^window_bits bytes sent, or ``"adaptive"`` zlib's state until
    ``park()``, then only the window.
    """

    __slots__ = ("_d", "_out", "_lean")

    def __init__(self, window_bits=12, mem_level=5, level=-1,
                 no_context_takeover=False, release=False, idle="keep"):
        flags = _idle_flag(idle)
        self._lean = flags == lib.WSF_Z_KEEP_WINDOW
        if no_context_takeover:
            flags |= lib.WSF_Z_NO_CONTEXT
        if release:
            flags |= lib.WSF_Z_RELEASE
        # The C state is freed when the Python object goes (ffi.gc).
        d = ffi.new("wsf_deflater *")
        out = ffi.new("wsf_buf *")
        if lib.wsf_deflater_init(d, window_bits, mem_level, level, flags) != _OK:
            raise ValueError("invalid deflate settings")
        self._d = ffi.gc(d, lib.wsf_deflater_end)
        self._out = ffi.gc(out, lib.wsf_buf_free)

    @property
    def window_bits(self):
        return self._d.window_bits

    @property
    def memory(self):
        """Bytes of zlib state held now (0 while idle)."""
        return lib.wsf_deflater_mem(self._d)

    def compress(self, data, final=True):
        v = view(data)
        out = self._out
        out.len = 0
        rc = lib.wsf_deflate(self._d, v, len(v),
                             lib.WSF_Z_FINAL if final else lib.WSF_Z_FLUSH, out)
        if rc == _NOMEM:
            raise MemoryError()
        if rc != _OK:
            raise ValueError(_error(self._d.error, "deflate failed"))
        return _take(out, self._lean and final)

    def release(self):
        """Free zlib state between messages; False if a message is open."""
        return lib.wsf_deflater_release(self._d) == _OK

    def park(self):
        """idle="adaptive", between messages: keep only the window (and
        no output buffer); False if a message is open."""
        if lib.wsf_deflater_park(self._d) != _OK:
            return False
        lib.wsf_buf_free(self._out)
        return True


class Inflater:
    """Decompresses messages for one direction, never past ``max_size``.

    ``decompress(data, final=True, text=False)`` takes one message's payload
    (or, with ``final=False``, a piece of it as fragments arrive). It raises
    ProtocolError 1009 as soon as the message would inflate past
    ``max_size``, and 1007 for corrupt data or, with ``text``, invalid UTF-8.
    """

    __slots__ = ("_s", "_out", "_lean", "_utf8", "_in_text")

    def __init__(self, window_bits=15, max_size=DEFAULT_MAX_MESSAGE_SIZE,
                 no_context_takeover=False, release=False, idle="keep"):
        flags = _idle_flag(idle)
        self._lean = flags == lib.WSF_Z_KEEP_WINDOW
        if no_context_takeover:
            flags |= lib.WSF_Z_NO_CONTEXT
            if release:
                flags |= lib.WSF_Z_RELEASE
        s = ffi.new("wsf_inflater *")
        out = ffi.new("wsf_buf *")
        if lib.wsf_inflater_init(s, window_bits, max_size or 0, flags) != _OK:
            raise ValueError("invalid inflate settings")
        self._s = ffi.gc(s, lib.wsf_inflater_end)
        self._out = ffi.gc(out, lib.wsf_buf_free)
        self._utf8 = ffi.new("wsf_utf8 *")
        self._in_text = False

    @property
    def max_size(self):
        return self._s.max_size

    @property
    def memory(self):
        return lib.wsf_inflater_mem(self._s)

    def decompress(self, data, final=True, text=False):
        final = bool(final)
        text = bool(text)
        if not self._in_text and text:
            lib.wsf_utf8_reset(self._utf8)
        self._in_text = text and not final
        v = view(data)
        out = self._out
        out.len = 0
        rc = lib.wsf_inflate(self._s, v, len(v), final, out,
                             self._utf8 if text else ffi.NULL)
        if rc == _NOMEM:
            raise MemoryError()
        if rc != _OK:
            raise ProtocolError(lib.wsf_z_close_code(rc),
                                _error(self._s.error, "inflate failed"))
        return _take(out, self._lean and final)

    def release(self):
        return lib.wsf_inflater_release(self._s) == _OK

    def park(self):
        """As Deflater.park."""
        if lib.wsf_inflater_park(self._s) != _OK:
            return False
        lib.wsf_buf_free(self._out)
        return True
