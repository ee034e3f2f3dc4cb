# UTF-8 validation: one-shot and incremental.


def validate_utf8(data):
    """True if ``data`` is complete, valid UTF-8."""
    cdef Py_buffer d
    PyObject_GetBuffer(data, &d, PyBUF_SIMPLE)
    try:
        return wsf_utf8_valid(<const uint8_t *>d.buf, d.len) == 1
    finally:
        PyBuffer_Release(&d)


cdef class Utf8Validator:
    """Validates UTF-8 fed in pieces; ``feed`` returns False once invalid."""

    cdef wsf_utf8 st
    cdef int last

    def __cinit__(self):
        wsf_utf8_reset(&self.st)
        self.last = WSF_UTF8_VALID

    def reset(self):
        wsf_utf8_reset(&self.st)
        self.last = WSF_UTF8_VALID

    @property
    def complete(self):
        """True when everything fed so far is valid and no sequence is open."""
        return self.last == WSF_UTF8_VALID

    @property
    def valid(self):
        """False once the bytes fed can no longer become valid UTF-8."""
        return self.last != WSF_UTF8_INVALID

    def feed(self, data):
        cdef Py_buffer d
        PyObject_GetBuffer(data, &d, PyBUF_SIMPLE)
        try:
            if self.last != WSF_UTF8_INVALID and d.len:
                self.last = wsf_utf8_feed(&self.st, <const uint8_t *>d.buf, d.len)
            return self.last != WSF_UTF8_INVALID
        finally:
            PyBuffer_Release(&d)
