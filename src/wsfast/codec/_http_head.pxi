# The handshake's request head: csrc/http_head.c's strict fast path and
# csrc/accept_key.c. Declines fall back to the general parser (httptools).
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_DecodeLatin1

# Header lines the fast path takes; a head with more goes the general way.
cdef enum:
    _FAST_HEAD_FIELDS = 128


def parse_request_head(data, Py_ssize_t max_head_size, Py_ssize_t max_headers, bint fields=True):
    """A whole request head at the start of ``data``, on the fast path.

    Returns ``(target, fields, head_len, upgrade, key)``: the target
    (str), the header lines as one flat tuple ``(name, value, name,
    value, ...)`` (str, values stripped: the compact form of
    ``http.Headers``), the head's length in bytes, the ``WSF_UPGRADE_*`` bits,
    and the Sec-WebSocket-Key (str) when every RFC 6455 4.2.1 check
    passed, else None. Returns None when the head is
    incomplete or outside the strict subset (see csrc/http_head.h).
    With ``fields`` false, target and fields are None: no str is made
    but the key (a server that reads them only when asked).
    """
    cdef Py_buffer d
    cdef wsf_head_field lines[_FAST_HEAD_FIELDS]
    cdef wsf_request_head head
    cdef const char *p
    cdef uint32_t i
    cdef int rc
    if max_head_size < 0 or max_headers < 0:
        return None
    PyObject_GetBuffer(data, &d, PyBUF_SIMPLE)
    try:
        p = <const char *>d.buf
        rc = wsf_parse_request_head(<const uint8_t *>p, d.len, max_head_size, lines,
                                    min(max_headers, _FAST_HEAD_FIELDS), &head)
        if rc != WSF_HEAD_DONE:
            return None
        wsf_check_upgrade(<const uint8_t *>p, lines, &head)
        if not fields:
            key = None
            if head.upgrade & WSF_UPGRADE_VALID:
                key = PyUnicode_DecodeLatin1(p + lines[head.key].value, lines[head.key].value_len, NULL)
            return None, None, <Py_ssize_t>head.head_len, head.upgrade, key
        items = PyTuple_New(2 * head.nfields)
        for i in range(head.nfields):
            name = PyUnicode_DecodeLatin1(p + lines[i].name, lines[i].name_len, NULL)
            value = PyUnicode_DecodeLatin1(p + lines[i].value, lines[i].value_len, NULL)
            Py_INCREF(name)
            PyTuple_SET_ITEM(items, 2 * i, name)
            Py_INCREF(value)
            PyTuple_SET_ITEM(items, 2 * i + 1, value)
        target = PyUnicode_DecodeLatin1(p + head.target, head.target_len, NULL)
        key = None
        if head.upgrade & WSF_UPGRADE_VALID:
            key = items[2 * head.key + 1]
        return target, items, <Py_ssize_t>head.head_len, head.upgrade, key
    finally:
        PyBuffer_Release(&d)


def websocket_accept(key):
    """Sec-WebSocket-Accept (bytes) for a Sec-WebSocket-Key (str, bytes)."""
    cdef uint8_t accept[WSF_ACCEPT_LEN]
    cdef Py_buffer d
    if isinstance(key, str):
        key = (<str>key).encode("ascii")
    PyObject_GetBuffer(key, &d, PyBUF_SIMPLE)
    try:
        if wsf_accept_key(<const uint8_t *>d.buf, d.len, accept) == 0:
            return PyBytes_FromStringAndSize(<const char *>accept, WSF_ACCEPT_LEN)
    finally:
        PyBuffer_Release(&d)
    return _accept_any_length(bytes(key))


def _accept_any_length(key):
    # Keys longer than the C buffer (never valid, but accept_key is public).
    import binascii, hashlib
    return binascii.b2a_base64(
        hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest(), newline=False)


UPGRADE_WEBSOCKET = WSF_UPGRADE_WEBSOCKET
UPGRADE_VALID = WSF_UPGRADE_VALID
UPGRADE_OFFERS = WSF_UPGRADE_OFFERS
